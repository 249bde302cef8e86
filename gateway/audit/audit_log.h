// The audit log's storage seam. The file-backed default is FileAuditLog
// (file_audit_log.h); a later server database implements the same interface.
//
// Contract: Append() never blocks on disk. `done` is called exactly once,
// after the record is durable (with its index) or with an error. While the
// log is failed (e.g. EIO, ENOSPC), every Append fails with UNAVAILABLE so the
// gateway refuses new work rather than accept it unaudited. Thread-safe.
#ifndef PORTCULLIS_GATEWAY_AUDIT_AUDIT_LOG_H_
#define PORTCULLIS_GATEWAY_AUDIT_AUDIT_LOG_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/audit/audit_record.h"

namespace portcullis {

class AuditLog {
 public:
  using Done = std::function<void(absl::StatusOr<uint64_t> index)>;
  virtual ~AuditLog() = default;

  // `done` runs on the log's writer thread: keep it short, never block in it.
  virtual void Append(AuditRecord record, Done done) = 0;

  // OK, or the sticky error that makes every Append fail.
  virtual absl::Status Health() const = 0;

  // Blocks until the record is durable. For tests, tools and shutdown paths.
  absl::StatusOr<uint64_t> AppendAndWait(AuditRecord record);
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_AUDIT_AUDIT_LOG_H_
