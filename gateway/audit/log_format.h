// The audit log's line format (docs/audit-format.md): sealing a record into
// one line with its hash-chain fields, checking a line's shape and hash, and
// reading a line back into an AuditRecord. Pure functions; thread-safe.
#ifndef PORTCULLIS_GATEWAY_AUDIT_LOG_FORMAT_H_
#define PORTCULLIS_GATEWAY_AUDIT_LOG_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/audit/audit_record.h"

namespace portcullis {

// The record format SealLine writes (docs/audit-format.md): 2. Readers read
// 1 (no "v" key: logs written before v2) and 2, also mixed in one log.
inline constexpr int kRecordFormatVersion = 2;

// `prev` of record 0.
extern const char kGenesisHash[];

// Longest string field kept whole, and most recipients listed, in a record;
// longer ones are cut with a marker giving the full size.
inline constexpr size_t kMaxFieldBytes = 4096;
inline constexpr size_t kMaxRecipients = 64;

// The line for `record` (its index already set) chained to `prev_hash`
// (hex), without a newline. Sets *hash to the new line's `hash`.
std::string SealLine(const AuditRecord& record, absl::string_view prev_hash, std::string* hash);

// What every line carries for the chain, read without a full JSON parse.
struct LineHeader {
  uint64_t index = 0;
  std::string prev;
  std::string hash;
};

// Checks the line's shape ({"index":N,... ,"prev":"<hex>","hash":"<hex>"})
// and that `hash` matches its bytes. DATA_LOSS with words on failure.
absl::StatusOr<LineHeader> CheckLine(absl::string_view line);

// Full parse of a line written by SealLine, format v1 or v2 (the shape is
// checked, the hash is not: call CheckLine for that). `time_micros` is parsed
// from `time`; v2 fields of a v1 line stay empty / false / 0. *version (if
// given) is set to the line's format version. An unknown version, or a v2
// key in a line that does not say "v":2, is DATA_LOSS.
absl::StatusOr<AuditRecord> ParseLine(absl::string_view line, int* version = nullptr);

// RFC 3339 UTC with microseconds, as records write it, and back.
std::string FormatRecordTime(int64_t micros);
absl::StatusOr<int64_t> ParseRecordTime(absl::string_view text);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_AUDIT_LOG_FORMAT_H_
