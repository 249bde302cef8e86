// SqliteMessageStore: the durable MessageStore (docs/delivery.md, "Store").
// Accepted messages, their per-recipient delivery rows and the idempotency
// key (sender, message_id) with its envelope SHA-256 and original Receipt
// survive a crash and a restart.
//
// - One SQLite file in WAL mode with synchronous=FULL: a write that returned
//   OK is in the fsynced WAL.
// - Writes (Commit, UpdateRecipient, MarkAudited) go to one writer thread
//   that takes everything queued since its last transaction and commits it as
//   one BEGIN IMMEDIATE ... COMMIT (group commit, like FileAuditLog): callers
//   block until their batch is durable, and concurrent callers share an fsync.
//   Each write runs in a savepoint of its own, so one refused update does not
//   undo its neighbours in the batch.
// - Reads (Get, Reserve's duplicate check, the scheduler's queries) use a
//   small pool of read-only connections; WAL lets them run during a write.
// - Reservations in progress live in memory only (sharded): a reservation
//   is not a promise that survives a crash, an accepted message is.
//
// One process per database file: the reservation set is per process, and
// SQLite's constraints (not this class) are what stop a second process from
// accepting the same key twice.
#ifndef PORTCULLIS_GATEWAY_STORE_SQLITE_MESSAGE_STORE_H_
#define PORTCULLIS_GATEWAY_STORE_SQLITE_MESSAGE_STORE_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/store/message_store.h"

namespace portcullis {

struct SqliteStoreOptions {
  std::string path;  // The database file; created (mode 0600) if missing.
  // How long a connection waits for a lock held by someone else (another
  // process, or a checkpoint) before giving up with UNAVAILABLE.
  int busy_timeout_ms = 5000;
  // Most writes per transaction: bounds how long one batch holds the lock.
  size_t max_batch = 512;
  // Read connections opened on demand; a reader waits when all are in use.
  size_t max_readers = 8;
  // Each delivery expires this long after its message's acceptance (recorded
  // in its row at commit); 0 = never.
  int64_t delivery_max_age_micros = 0;
  // Tests only: ListCase calls this after reading its page's snapshot and
  // before deciding which of its not-yet-paired messages to list (forces the
  // interleaving of a pairing that becomes durable in between).
  std::function<void()> after_case_snapshot = nullptr;
};


class SqliteMessageStore final : public MessageStore {
 public:
  // The schema version this build writes (PRAGMA user_version). 2: the
  // case indexes ListCase reads (messages.case_reference, messages_by_case,
  // deliveries_by_case).
  static constexpr int kSchemaVersion = 3;

  // Opens (creating if missing) the store at options.path. Refuses a file
  // that is not a Portcullis message store, is corrupt, or has a newer schema
  // version; every error names the file and SQLite's message. A store of an
  // older version is migrated to this one in one transaction (all or nothing).
  static absl::StatusOr<std::unique_ptr<SqliteMessageStore>> Open(SqliteStoreOptions options);

  // Finishes the writes already queued, then closes the database.
  ~SqliteMessageStore() override;
  SqliteMessageStore(const SqliteMessageStore&) = delete;
  SqliteMessageStore& operator=(const SqliteMessageStore&) = delete;

  // MessageStore. Reserve cannot report a database error through its result:
  // if the duplicate check cannot read the database it answers kInProgress
  // (the client is told to retry) and logs the error to stderr.
  ReserveResult Reserve(const std::string& sender, const std::string& message_id,
                        const std::string& envelope_sha256) override;
  // Blocking CommitWithAuditSize(envelope, receipt, 0) (tests, tools).
  absl::StatusOr<std::shared_ptr<const MessageRecord>> Commit(const v1::Envelope& envelope,
                                                              const v1::Receipt& receipt);
  void CommitAsync(std::shared_ptr<const v1::Envelope> envelope, const v1::Receipt& receipt,
                   uint64_t audit_size_at_commit, CommitDone done) override;
  void MarkAuditedAsync(const std::string& sender, const std::string& message_id, uint64_t audit_index,
                        std::function<void(absl::Status)> done) override;
  void DiscardAsync(const std::string& sender, const std::string& message_id,
                    std::function<void(absl::Status)> done) override;
  void Abandon(const std::string& sender, const std::string& message_id) override;
  void Flush() override;
  absl::StatusOr<std::shared_ptr<const MessageRecord>> Get(const std::string& sender,
                                                           const std::string& message_id) const override;
  // Two statements per page on one read connection and one snapshot (the
  // page's messages over messages_by_case, then their deliveries over
  // deliveries_by_case), whatever the page size; the pairings in flight are
  // read before that snapshot (a message listed unpaired must be in them); envelopes are parsed one at
  // a time and only their summary is kept. Positions are the messages' rowids
  // (commit order; stable as long as the file is never VACUUMed).
  absl::StatusOr<CasePage> ListCase(const std::string& case_reference, const std::string& party,
                                    int64_t after_position, size_t limit) const override;
  // One statement: the party's own message by primary key, and those it
  // received over deliveries_by_message (message_id, recipient), an index
  // created at open when missing (no schema version: nothing else changes).
  absl::StatusOr<std::vector<std::string>> CorrelatedSenders(const std::string& party, const std::string& message_id,
                                                             size_t limit) const override;
  // `update` runs on the writer thread inside the batch's transaction (so no
  // concurrent update of the same row is lost); it must not call this store's
  // write methods. Returns once the change is durable.
  absl::StatusOr<RecipientRecord> UpdateRecipient(
      const std::string& sender, const std::string& message_id, const std::string& party,
      const std::function<absl::Status(RecipientRecord&)>& update) override;
  void UpdateRecipientAsync(const std::string& sender, const std::string& message_id, const std::string& party,
                            std::function<absl::Status(RecipientRecord&)> update, RecipientDone done) override;

  // Commit, recording the audit log's size at commit time (where the start-up
  // pairing starts looking for this message's acceptance record). Returns once
  // the message and its deliveries are durable. A failed commit stores nothing
  // and releases the reservation (a later Abandon is a no-op).
  absl::StatusOr<std::shared_ptr<const MessageRecord>> CommitWithAuditSize(const v1::Envelope& envelope,
                                                                           const v1::Receipt& receipt,
                                                                           uint64_t audit_size_at_commit);

  // Records the audit index of the message's acceptance. NOT_FOUND if there
  // is no such message; FAILED_PRECONDITION if it is already paired with a
  // different index (the same index again is OK). Durable on return.
  absl::Status MarkAudited(const std::string& sender, const std::string& message_id, uint64_t audit_index) override;
  // Messages with audit_index NULL, in commit order.
  absl::StatusOr<std::vector<UnauditedMessage>> Unaudited() const override;
  // Up to `limit` deliveries to `recipient` still ACCEPTED (not yet delivered,
  // acknowledged, rejected or failed) with seq > after_seq, in seq order.
  absl::StatusOr<std::vector<DeliveryRow>> PendingDeliveries(const std::string& recipient, int64_t after_seq,
                                                             size_t limit) const override;
  absl::StatusOr<std::map<std::string, BacklogCount>> BacklogCounts() const override;
  absl::StatusOr<ConfirmResult> ConfirmPulled(const std::string& recipient,
                                              const std::string& through_delivery_id) override;
  void RecordPulled(const std::string& recipient, int64_t seq) override;
  absl::StatusOr<std::vector<ChangedDelivery>> ExpireDue(int64_t now_micros, size_t limit) override;

  // Dead letters (MessageStore). Reads use a read connection; Retry and
  // Cancel go through the writer thread like UpdateRecipient. The statements
  // are prepared per call (operator actions are rare).
  absl::StatusOr<std::vector<DeliveryRow>> DeadLetters(const std::string& recipient, int64_t after_seq,
                                                       size_t limit) const override;
  absl::StatusOr<DeliveryRow> GetDelivery(const std::string& delivery_id) const override;
  absl::StatusOr<DeliveryRow> RetryDeadLetter(const std::string& delivery_id, int64_t max_age_micros,
                                              const OfficerOnRecord& officer) override;
  absl::StatusOr<DeliveryRow> CancelDeadLetter(const std::string& delivery_id, const OfficerOnRecord& officer,
                                               const std::string& reason) override;
  absl::StatusOr<std::vector<DeliveryCount>> CountDeliveries(
      const std::vector<v1::DeliveryState>& states) const override;

  // For tests and metrics: transactions committed by the writer, and
  // messages committed (commit_batches() < commits() means grouping works).
  uint64_t commit_batches() const { return commit_batches_.load(); }
  uint64_t commits() const { return commits_.load(); }

 private:
  class Writer;      // The writer thread's connection and statements.
  class ReaderPool;  // Read connections.
  struct WriteOp;
  struct Reservation {
    std::string sha256;       // As reserved: what the row will record.
    bool committing = false;  // Commit() is writing it: Abandon must not drop it.
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Reservation> reserved;  // Only keys being recorded: bounded by concurrency.
    // Audit indexes given to MarkAuditedAsync whose write is not yet durable.
    std::unordered_map<std::string, uint64_t> audited;
  };

  SqliteMessageStore(SqliteStoreOptions options, std::unique_ptr<Writer> writer,
                     std::unique_ptr<ReaderPool> readers);
  Shard& ShardFor(const std::string& key) const;
  // The keys of every shard's `audited` (pairings not yet durable).
  std::unordered_set<std::string> PairingsInFlight() const;
  // Queues `apply` for the writer thread, which runs it inside its next
  // batch's transaction; returns once that transaction has committed (or
  // with the error that stopped it).
  absl::Status Write(std::function<absl::Status(Writer&)> apply, bool is_commit);
  // The same without waiting: `on_done` runs on the writer thread (or at once
  // if the store is closing) and must not call this store's blocking writes.
  void WriteAsync(std::function<absl::Status(Writer&)> apply, bool is_commit, std::function<void(absl::Status)> on_done);
  void WriterLoop();
  void RunBatch(const std::vector<WriteOp*>& batch);
  // The dead letter `delivery_id` moved to `state` by the writer thread.
  absl::StatusOr<DeliveryRow> ReviveOrCancel(const std::string& delivery_id, v1::DeliveryState state,
                                             int64_t expires_micros, const OfficerOnRecord& officer,
                                             const std::string& reason);

  const SqliteStoreOptions options_;
  const std::unique_ptr<Writer> writer_;
  const std::unique_ptr<ReaderPool> readers_;
  mutable std::array<Shard, 64> shards_;  // Mutable: const readers consult `audited` too (ListCase).

  std::mutex mu_;  // Guards the queue below.
  std::condition_variable cv_;
  std::deque<WriteOp*> pending_;  // Owned by the waiting callers.
  bool stopping_ = false;
  std::atomic<uint64_t> commit_batches_{0};
  std::atomic<uint64_t> commits_{0};
  std::thread writer_thread_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_SQLITE_MESSAGE_STORE_H_
