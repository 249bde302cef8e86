// The audit trail in PostgreSQL (docs/audit-format.md, "The PostgreSQL
// log"; docs/storage.md): the same records (format v2) in audit_records, the
// same signed checkpoints in audit_checkpoints, one chain for the whole
// database however many gateways write to it.
//
// Appends are GroupWriter ops: under the head-row lock, the record is sealed
// at index audit_size chained to audit_head, inserted with its leaf hash, and
// the head advanced, in the batch's transaction (group commit). Indexes are
// never taken from a SEQUENCE: a rolled-back transaction leaves no gap.
// `done` runs after COMMIT. While the writer is disconnected every Append
// fails at once with UNAVAILABLE, and Health() says so until it reconnects;
// a broken chain found by the log itself (DATA_LOSS) is sticky.
//
// The Merkle tree reads leaf hashes from audit_records (it caches one node
// per 256-leaf subtree, as FileAuditLog's) and learns new leaves by catching
// up from the database: records appended by another gateway on the same
// database are seen by size(), ReadLines, proofs and checkpoints too.
//
// Open() changes nothing: it loads the tree, checks that the head counts the
// rows, that the tree's root at the latest signed checkpoint is that
// checkpoint's root (and the witness's latest copy's), and the chain (each
// line's hash, prev linkage and leaf hash) from that checkpoint on; any
// mismatch is DATA_LOSS (refuse to start). Records after the last checkpoint
// need no adopting: they were committed with the head that counts them.
//
// The head this gateway last saw committed (size and last hash) is kept:
// a database found behind it (or with another record at that size: a
// failover to a lagging standby, a restore from a backup) by an append, a
// catch-up or the signer is sticky DATA_LOSS; nothing more is appended or
// signed.
//
// Checkpoints: a signer thread (every checkpoint_interval, or sooner after
// checkpoint_every_records) and CheckpointNow() sign under a session-level
// advisory lock (one signer at a time across gateways; the periodic signer
// skips a busy turn, CheckpointNow and the final checkpoint wait for it),
// only a tree larger than the latest checkpoint in the database (sizes never
// decrease), insert it, COMMIT, and, still holding the lock, append the
// latest checkpoint to <witness_dir>/checkpoints.log if the witness lacks it
// (so witness lines are in size order across gateways, and a checkpoint
// whose COMMIT answer or copy was lost is copied at the next run). The
// signer reads leaves through its own connection; readers need another, so
// the pool needs at least two connections (store.pool_size). Thread-safe.
#ifndef PORTCULLIS_GATEWAY_AUDIT_PG_AUDIT_LOG_H_
#define PORTCULLIS_GATEWAY_AUDIT_PG_AUDIT_LOG_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gateway/audit/audit_log.h"
#include "gateway/audit/merkle.h"
#include "gateway/pg/pg_pool.h"
#include "gateway/pg/pg_writer.h"

namespace portcullis {

struct PgAuditLogOptions {
  pg::GroupWriter* writer = nullptr;  // Appends (must outlive the log).
  pg::Pool* pool = nullptr;           // Reads, the tree's leaves, the signer (must outlive the log; >= 2).
  // Ed25519 private key (PEM) for checkpoints. "" = no checkpoints (tests).
  std::string signing_key;
  uint64_t checkpoint_every_records = 1000;
  std::chrono::milliseconds checkpoint_interval{10000};
  // Every checkpoint this gateway signs is appended to
  // <witness_dir>/checkpoints.log. "" = none.
  std::string witness_dir;
  // Stamped on every record appended (AuditRecord::replica_id).
  std::string replica_id;
  // Test seam: called at the start of each read of records or proofs
  // ("read": ReadLines, InclusionProof, ConsistencyProof); a non-OK result is
  // that call's error (the log stays healthy). Also before each witness
  // copy ("witness", holding the signer lock): non-OK is a failed copy.
  std::function<absl::Status(absl::string_view op)> fault_injector;
};

class PgAuditLog final : public AuditLog {
 public:
  // The schema must exist (pg::PrepareSchema). See above for the checks.
  static absl::StatusOr<std::unique_ptr<PgAuditLog>> Open(PgAuditLogOptions options);
  // Waits for this log's queued appends, signs a final checkpoint if it can,
  // and copies the latest to the witness if it lacks it.
  ~PgAuditLog() override;

  void Append(AuditRecord record, Done done) override;
  absl::Status Health() const override;
  uint64_t size() const override;
  absl::StatusOr<std::vector<std::string>> ReadLines(uint64_t begin, uint64_t max_count) const override;
  std::optional<Checkpoint> LatestCheckpoint() const override;
  absl::StatusOr<Checkpoint> CheckpointNow() override;
  absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t index, uint64_t tree_size) const override;
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(uint64_t old_size, uint64_t new_size) const override;

  // Inside `tx` (a GroupWriter op): seals and inserts `record` at the next
  // index, advances the head; returns the index. (record.replica_id is
  // stamped here.) May run again in a later transaction (pg_writer.h).
  absl::StatusOr<uint64_t> AppendInTx(pg::Tx& tx, AuditRecord record);
  // After that op's transaction committed: records up to `index` are durable
  // (size() and the tree catch up). Call in commit order (the writer's `done`).
  void NoteDurable(uint64_t index);

  // Learns every record committed so far (by any gateway); the new size.
  absl::StatusOr<uint64_t> CatchUp() const;
  // Checkpoints that could not be copied to the witness folder.
  uint64_t witness_failures() const;
  // Checkpoints this instance signed and inserted.
  uint64_t checkpoints_signed() const;

 private:
  class Leaves;
  PgAuditLog(PgAuditLogOptions options, std::unique_ptr<CheckpointSigner> signer, std::unique_ptr<Leaves> leaves,
             std::unique_ptr<merkle::MerkleTree> tree, std::optional<Checkpoint> latest, uint64_t head_size,
             std::string head_hash);
  absl::Status Inject(absl::string_view op) const;
  // Appends leaves [tree size, end) read from the database. Caller holds tree_mu_.
  absl::Status CatchUpLocked(uint64_t end) const;
  // The head this gateway has seen committed.
  struct SeenHead {
    uint64_t size = 0;
    std::string hash;  // "" = not known.
  };
  SeenHead Seen() const;
  // DATA_LOSS (sticky) if the committed head (size, last hash) read from the
  // database is behind, or differs from, `before` (what this gateway had seen
  // committed before that read began); otherwise remembers it if further on.
  absl::Status CheckHead(uint64_t size, const std::string& hash, const SeenHead& before) const;
  // A head this gateway committed itself ("" hash: not known).
  void NoteSeen(uint64_t size, const std::string& hash) const;
  // `wait`: for another gateway's signer to finish (else skip a busy turn).
  absl::StatusOr<Checkpoint> SignCheckpoint(bool wait);
  absl::Status SignHoldingLock(pg::Connection& conn, std::optional<Checkpoint>* latest, bool* signed_now);
  void CopyToWitness(const Checkpoint& latest);
  void SignerLoop();
  void SetFailed(absl::Status status) const;

  const PgAuditLogOptions options_;
  const std::unique_ptr<CheckpointSigner> signer_;
  const std::unique_ptr<Leaves> leaves_;
  const std::unique_ptr<merkle::MerkleTree> tree_;

  // Serialises appends to the tree (NoteDurable, CatchUp); readers use the
  // tree's own lock.
  mutable std::mutex tree_mu_;
  // Leaves sealed by AppendInTx, by index, with the audit_size their
  // transaction started from: at NoteDurable(i) the entries in [start, i] are
  // the committed transaction's own (it assigned every index in that range),
  // older ones may be from a rolled-back run and are read from the database.
  struct Sealed {
    merkle::Hash leaf;
    uint64_t tx_start;
    std::string hash;  // The record's chain hash (the head after it).
  };
  std::mutex sealed_mu_;  // After tree_mu_ when both are held.
  std::map<uint64_t, Sealed> sealed_;  // Under sealed_mu_.

  mutable std::mutex mu_;  // Guards everything below.
  mutable absl::Status failed_;  // Sticky DATA_LOSS found by the log itself.
  mutable std::optional<Checkpoint> latest_;
  mutable uint64_t seen_size_ = 0;  // The head last seen committed; >= the tree's size.
  mutable std::string seen_hash_;   // Its last hash ("" = not known).
  uint64_t signed_by_me_ = 0;
  uint64_t witness_failures_ = 0;

  std::mutex sign_mu_;  // One CheckpointNow / signer run (and witness copy) at a time in this process.

  std::mutex signer_mu_;
  std::condition_variable signer_cv_;
  bool signer_stopping_ = false;
  uint64_t since_checkpoint_ = 0;  // Records this log appended since its signer last ran.
  std::thread signer_thread_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_AUDIT_PG_AUDIT_LOG_H_
