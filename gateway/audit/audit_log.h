// The audit log's storage seam. The file-backed default is FileAuditLog
// (file_audit_log.h); a later server database implements the same interface.
//
// Contract: Append() never blocks on disk. `done` is called exactly once,
// after the record is durable (with its index) or with an error. While the
// log is failed (e.g. EIO, ENOSPC), every Append fails with UNAVAILABLE so the
// gateway refuses new work rather than accept it unaudited. Thread-safe.
//
// The read side serves auditors and inclusion proofs: records by index,
// signed checkpoints, and RFC 6962 proofs (docs/audit-format.md).
#ifndef PORTCULLIS_GATEWAY_AUDIT_AUDIT_LOG_H_
#define PORTCULLIS_GATEWAY_AUDIT_AUDIT_LOG_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/audit/audit_record.h"
#include "gateway/audit/checkpoint.h"

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

  // Durable records (the next record's index).
  virtual uint64_t size() const = 0;

  // Up to `max_count` record lines (as stored, without newline) from `begin`.
  virtual absl::StatusOr<std::vector<std::string>> ReadLines(uint64_t begin, uint64_t max_count) const = 0;

  // The latest signed checkpoint, if any.
  virtual std::optional<Checkpoint> LatestCheckpoint() const = 0;

  // Signs a checkpoint of everything durable now (if the log grew since the
  // last one) and returns the latest checkpoint.
  virtual absl::StatusOr<Checkpoint> CheckpointNow() = 0;

  // RFC 6962 proofs as lists of hex hashes. Sizes are tree sizes (record counts).
  virtual absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t index, uint64_t tree_size) const = 0;
  virtual absl::StatusOr<std::vector<std::string>> ConsistencyProof(uint64_t old_size, uint64_t new_size) const = 0;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_AUDIT_AUDIT_LOG_H_
