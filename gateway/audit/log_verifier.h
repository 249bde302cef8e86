// Offline verification of an audit log (docs/audit-format.md), for auditors'
// tools and tests: recomputes the hash chain and the Merkle roots from the
// files, checks every checkpoint's signature and every witness copy, and
// names the first bad record and the kind of tampering.
//
// Streams the log: memory is O(log n) plus one line of lookahead.
#ifndef PORTCULLIS_GATEWAY_AUDIT_LOG_VERIFIER_H_
#define PORTCULLIS_GATEWAY_AUDIT_LOG_VERIFIER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace portcullis {

enum class TamperKind {
  kModified,           // A record's bytes changed (or changed and re-hashed).
  kDeleted,            // Records are missing from the middle.
  kInserted,           // A record that does not belong was added.
  kReordered,          // Records are out of order.
  kTruncated,          // The log is shorter than a signed checkpoint says.
  kRewritten,          // Consistent chain, but not the log the checkpoints signed.
  kCheckpointInvalid,  // A checkpoint's signature, key or order is wrong.
  kWitnessMismatch,    // A witness holds a different checkpoint for the same size.
  kUnsigned,           // Records, a public key, but no checkpoint at all: nothing is proven.
  kUnsignedTail,       // Records after the last valid checkpoint: not proven (unless allowed).
};

// "modified", "deleted", ... (stable words for scripts).
const char* TamperKindName(TamperKind kind);

struct VerifyOptions {
  std::string log_path;
  std::string checkpoints_path;             // "" = log_path + ".checkpoints".
  std::string public_key_path;              // Ed25519 PEM. "" = signatures not checked (reported).
  std::vector<std::string> witness_paths;   // Witnesses' checkpoints.log files.
  // Records after the last valid checkpoint are a problem (kUnsignedTail)
  // unless this is set; then they are a warning.
  bool allow_unsigned_tail = false;
  // Called now and then with records read so far and bytes read / total.
  std::function<void(uint64_t records, uint64_t bytes, uint64_t total_bytes)> progress;
};

struct VerifyProblem {
  TamperKind kind;
  uint64_t index = 0;  // First bad record (for truncation: the log's length).
  std::string message;
};

// An `adopt_unsigned` record: the gateway found records [first, last] not
// covered by a signed checkpoint at start-up and adopted them.
struct AdoptedRange {
  uint64_t record_index = 0;  // The adopt_unsigned record itself.
  int64_t time_micros = 0;
  uint64_t first = 0, last = 0;
  std::string detail;
};

struct VerifyReport {
  uint64_t records = 0;              // Records read that fit the chain.
  uint64_t checkpoints = 0;          // Local checkpoints checked.
  uint64_t witness_checkpoints = 0;  // Witness checkpoints checked.
  uint64_t signed_size = 0;          // Records covered by the largest valid checkpoint.
  std::string signed_root;           // Its root.
  bool signatures_checked = false;
  std::optional<VerifyProblem> problem;  // The first problem found, if any.
  std::vector<std::string> warnings;     // Not tampering, but worth saying.
  std::vector<AdoptedRange> adopted;     // Every adopted unsigned range, in log order.
  uint64_t v1_records = 0, v2_records = 0;  // Records of each format version (v2: `{"index":N,"v":2,`).
};

// Errors only when a file cannot be read at all (NOT_FOUND / UNAVAILABLE)
// or the key is unusable; tampering is reported in VerifyReport::problem.
absl::StatusOr<VerifyReport> VerifyLog(const VerifyOptions& options);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_AUDIT_LOG_VERIFIER_H_
