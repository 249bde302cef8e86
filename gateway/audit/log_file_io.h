// File primitives of the audit log's files (the record log, its
// checkpoints, the witness copy): errors that name the file, durable appends
// and repairs of a torn last line. Internal to gateway/audit (FileAuditLog's
// writing and recovery halves). Not thread-safe per file descriptor.
#ifndef PORTCULLIS_GATEWAY_AUDIT_LOG_FILE_IO_H_
#define PORTCULLIS_GATEWAY_AUDIT_LOG_FILE_IO_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace portcullis::audit_file {

// One byte offset of the log is kept per this many records (ReadLines seeks).
inline constexpr uint64_t kOffsetStride = 256;
// Leaf hashes read or written at once when recovering the .leaves file.
inline constexpr size_t kLeafChunk = 4096;

// UNAVAILABLE "audit log <what> <path>: <strerror(err)>".
absl::Status ErrnoStatus(absl::string_view what, const std::string& path, int err);

// Opens `path` for appending (mode 0600); fsyncs its directory if the file is
// new. The caller owns the descriptor.
absl::StatusOr<int> OpenForAppend(const std::string& path);

// Writes all of `data` (retrying short writes and EINTR); no sync.
absl::Status WriteAll(int fd, absl::string_view data, const std::string& path);

// Cuts an incomplete last line (a checkpoint write that a crash interrupted)
// so that the next append starts on a line of its own; OK if none.
absl::Status TruncateTornLine(const std::string& path);

// Appends `line` to the file open on `fd` and syncs it; on failure cuts the
// file back so that no partial line stays behind.
absl::Status AppendLineDurably(int fd, const std::string& line, const std::string& path);

}  // namespace portcullis::audit_file

#endif  // PORTCULLIS_GATEWAY_AUDIT_LOG_FILE_IO_H_
