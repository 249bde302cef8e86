// The default AuditLog: an append-only file of hash-chained JSON lines, a
// Merkle tree over them, and Ed25519-signed checkpoints (docs/audit-format.md).
//
// Group commit: one writer thread takes every record queued since its last
// write, seals them into the chain, writes them with one write(2), makes them
// durable with one fdatasync(2), then calls their `done` callbacks. Concurrent
// requests share fsyncs instead of queueing behind one another.
//
// Open() recovers after a crash: the whole chain is checked; an incomplete
// last line (a torn write) is truncated; any complete record that does not
// fit the chain, or a log shorter than or different from its latest signed
// checkpoint, is refused (FAILED_PRECONDITION / DATA_LOSS), changing nothing.
// Records found after the latest signed checkpoint (a crash before the next
// one, or lines appended while the gateway was stopped) are adopted: before
// anything else is written or signed, an `adopt_unsigned` record names their
// range (range_first..range_last) and why, so the next checkpoint's signature
// never silently covers them. New files' directories are fsynced. The
// destructor drains the queue, signs a final checkpoint and stops the writer.
// Every record written is stamped with options.replica_id.
//
// Memory grows slowly with the log, about 0.16 bytes per record (25 MB at
// 100M records): the Merkle tree caches about two 32-byte nodes per 256-leaf
// subtree and reads leaf hashes from the .leaves file; one 8-byte offset is
// kept per 256 records. Checkpoints are copied to the witness folder by a
// thread of their own, so a slow witness never holds up an exchange.
#ifndef PORTCULLIS_GATEWAY_AUDIT_FILE_AUDIT_LOG_H_
#define PORTCULLIS_GATEWAY_AUDIT_FILE_AUDIT_LOG_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <deque>
#include <optional>
#include <vector>

#include "gateway/audit/audit_log.h"
#include "gateway/audit/leaf_file.h"
#include "gateway/audit/merkle.h"

namespace portcullis {

struct FileAuditLogOptions {
  std::string path;
  // Ed25519 private key (PEM) for checkpoints. "" = no checkpoints (tests).
  std::string signing_key;
  uint64_t checkpoint_every_records = 1000;
  std::chrono::milliseconds checkpoint_interval{10000};
  // Another machine's or party's folder: every checkpoint is appended to
  // <witness_dir>/checkpoints.log. "" = none.
  std::string witness_dir;
  // Stamped on every record written (AuditRecord::replica_id): which gateway
  // replica wrote it (config audit.replica_id). "" = none.
  std::string replica_id;
  // Test seam for disk faults: called before each write ("write") and
  // fdatasync ("sync") of the log, and at the start of each read of records
  // or proofs ("read": ReadLines, InclusionProof, ConsistencyProof); a non-OK
  // result is that call's error (a failed read leaves the log healthy).
  std::function<absl::Status(absl::string_view op)> fault_injector;
};

class FileAuditLog final : public AuditLog {
 public:
  static absl::StatusOr<std::unique_ptr<FileAuditLog>> Open(FileAuditLogOptions options);
  static absl::StatusOr<std::unique_ptr<FileAuditLog>> Open(const std::string& path);
  ~FileAuditLog() override;

  void Append(AuditRecord record, Done done) override;
  absl::Status Health() const override;
  uint64_t size() const override;
  absl::StatusOr<std::vector<std::string>> ReadLines(uint64_t begin, uint64_t max_count) const override;
  std::optional<Checkpoint> LatestCheckpoint() const override;
  absl::StatusOr<Checkpoint> CheckpointNow() override;
  absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t index, uint64_t tree_size) const override;
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(uint64_t old_size, uint64_t new_size) const override;

  // Batches written so far (each one fdatasync); for tests and benchmarks.
  uint64_t sync_count() const;
  // Checkpoints that could not be copied to the witness folder.
  uint64_t witness_failures() const;
  // The range adopted at Open (see above), if any: {first, last}.
  std::optional<std::pair<uint64_t, uint64_t>> adopted() const { return adopted_; }

 private:
  struct Recovered;
  FileAuditLog(FileAuditLogOptions options, std::unique_ptr<CheckpointSigner> signer, int fd, int checkpoint_fd,
               Recovered recovered);
  void WriterLoop();
  absl::Status WriteBatch(std::vector<std::pair<AuditRecord, Done>>* batch);
  // Writer thread only (or under write_mu_).
  absl::StatusOr<Checkpoint> SignCheckpointLocked();
  absl::Status Inject(absl::string_view op) const;
  void WitnessLoop();

  const FileAuditLogOptions options_;
  const int fd_;             // The record log, opened for append.
  const int checkpoint_fd_;  // -1 without a signing key.
  const std::unique_ptr<CheckpointSigner> signer_;  // Set before the writer thread starts.
  std::unique_ptr<LeafFile> leaves_;
  std::unique_ptr<merkle::MerkleTree> tree_;

  // Serializes writers of the files: the writer thread and CheckpointNow().
  std::mutex write_mu_;
  std::string last_hash_;     // Chain head (hex), under write_mu_.
  uint64_t file_end_ = 0;     // Byte size of the log, under write_mu_.

  mutable std::mutex mu_;  // Guards everything below.
  std::condition_variable cv_;
  std::vector<std::pair<AuditRecord, Done>> pending_;
  bool stopping_ = false;
  absl::Status failed_;
  uint64_t size_ = 0;                 // Durable records.
  std::vector<uint64_t> offsets_;     // Byte offset of record k * kOffsetStride.
  std::optional<Checkpoint> latest_;  // Latest signed checkpoint.
  std::chrono::steady_clock::time_point last_checkpoint_time_;
  uint64_t syncs_ = 0;
  uint64_t witness_failures_ = 0;
  std::thread writer_;

  // Checkpoint lines waiting to be copied to the witness folder.
  std::mutex witness_mu_;
  std::condition_variable witness_cv_;
  std::deque<std::string> witness_queue_;
  bool witness_stopping_ = false;
  std::thread witness_thread_;
  std::optional<std::pair<uint64_t, uint64_t>> adopted_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_AUDIT_FILE_AUDIT_LOG_H_
