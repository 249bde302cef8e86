// PgMessageStore: the MessageStore on PostgreSQL (docs/storage.md). Same
// contract as SqliteMessageStore (its comments, and the shared tests, define
// it); what differs:
//
// - Writes are ops of a pg::GroupWriter shared with the audit log (group
//   commit, one writing connection). An op may run more than once (the
//   writer reruns a batch without an op that failed), so every op keeps its
//   results in state that a rerun overwrites, and an UpdateRecipient
//   `update` may be called more than once, each time on the row as the
//   current transaction reads it. Every op locks the head row before any
//   other row (no deadlock between two gateways' batches). Asynchronous
//   writes call back from the writer's `done` (its thread); blocking ones
//   wait for it.
// - Reads use a pg::Pool; one statement, or a REPEATABLE READ READ ONLY
//   transaction where several must agree (Get, ListCase). A read on a
//   connection the server dropped (a restart) is tried again on a fresh one.
// - Delivery seqs and message positions come from the head row under its
//   lock (tx.head()), never from a SEQUENCE: gap-free, in commit order.
// - Several gateways may share the database. Reservations in progress are
//   per process (in memory, sharded); the primary keys are the real guard: a
//   commit that finds the key taken by another gateway fails with
//   ALREADY_EXISTS, stores nothing, and the next Reserve answers from the
//   row (duplicate, conflict, or in progress).
// - Errors: database errors are UNAVAILABLE (unreachable), UNKNOWN (the
//   connection was lost during COMMIT), ABORTED or INTERNAL, with the SQL
//   text in the message for the gateway's log; refusals
//   (MESSAGE_NOT_FOUND, DELIVERY_NOT_FOUND, NOT_A_DEAD_LETTER, ...) are
//   SqliteMessageStore's.
#ifndef PORTCULLIS_GATEWAY_STORE_PG_MESSAGE_STORE_H_
#define PORTCULLIS_GATEWAY_STORE_PG_MESSAGE_STORE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/pg/pg_pool.h"
#include "gateway/pg/pg_writer.h"
#include "gateway/store/backlog_bound.h"
#include "gateway/store/message_store.h"

namespace portcullis {

struct PgStoreOptions {
  pg::GroupWriter* writer = nullptr;  // Owned by the caller (shared with the audit log); outlives the store.
  pg::Pool* pool = nullptr;           // Likewise.
  // Each delivery expires this long after its message's acceptance; 0 = never.
  int64_t delivery_max_age_micros = 0;
  // The backlog bound per destination (delivery.max_backlog_*), checked by
  // InsertAcceptedInTx against backlog_counts; unset = none.
  BacklogBound backlog_bound;
  // Test seam: called by ListCase after its snapshot was read and before it
  // decides which of its not-yet-paired messages to list (forces the
  // interleaving of a pairing that becomes durable in between).
  std::function<void()> after_case_snapshot;
};

class PgMessageStore final : public MessageStore {
 public:
  // The schema must have been prepared (pg::PrepareSchema) by the caller.
  // Checks that the pool can read the store's tables.
  static absl::StatusOr<std::unique_ptr<PgMessageStore>> Open(PgStoreOptions options);
  // Waits for the writes it queued (Flush); the writer and pool stay.
  ~PgMessageStore() override;
  PgMessageStore(const PgMessageStore&) = delete;
  PgMessageStore& operator=(const PgMessageStore&) = delete;

  // --- Acceptance and idempotency (pg_acceptance_store.cc).
  // As SqliteMessageStore's: a database error answers kInProgress (logged).
  ReserveResult Reserve(const std::string& sender, const std::string& message_id,
                        const std::string& envelope_sha256) override;
  void CommitAsync(std::shared_ptr<const v1::Envelope> envelope, const v1::Receipt& receipt,
                   uint64_t audit_size_at_commit, CommitDone done) override;
  // Blocking CommitAsync with audit size 0 (tests, tools).
  absl::StatusOr<std::shared_ptr<const MessageRecord>> Commit(const v1::Envelope& envelope, const v1::Receipt& receipt,
                                                              uint64_t audit_size_at_commit = 0);
  void MarkAuditedAsync(const std::string& sender, const std::string& message_id, uint64_t audit_index,
                        std::function<void(absl::Status)> done) override;
  void DiscardAsync(const std::string& sender, const std::string& message_id,
                    std::function<void(absl::Status)> done) override;
  absl::Status MarkAudited(const std::string& sender, const std::string& message_id, uint64_t audit_index) override;
  absl::StatusOr<std::vector<UnauditedMessage>> Unaudited() const override;
  void Abandon(const std::string& sender, const std::string& message_id) override;
  absl::StatusOr<std::shared_ptr<const MessageRecord>> Get(const std::string& sender,
                                                           const std::string& message_id) const override;

  // For the one-transaction acceptance (docs/storage.md, "Data flow"), inside
  // `tx` (an op of the shared writer): inserts the accepted message (position
  // from tx.head()) and its deliveries (seqs from tx.head()) with
  // `audit_index` already set; `receipt` already carries it. Sets *stored to
  // the record the caller will dispatch. The reservation must have been made
  // with Reserve() (FAILED_PRECONDITION otherwise); ALREADY_EXISTS if another
  // gateway stored the key first. May run again in a rerun of the op. With a
  // backlog bound: first (under the head row's lock, which every writer of
  // deliveries takes, so the counts are exact cluster-wide) the recipients'
  // backlog_counts; a full one refuses RESOURCE_EXHAUSTED BACKLOG_FULL as
  // Backlog::Reserve does, nothing written (the op's SAVEPOINT rolls back).
  absl::Status InsertAcceptedInTx(pg::Tx& tx, const v1::Envelope& envelope, const v1::Receipt& receipt,
                                  uint64_t audit_index, std::shared_ptr<const MessageRecord>* stored);
  // After that op's transaction: committed (the key now answers Reserve from
  // the database) or not (the reservation is released).
  void FinishAccepted(const std::string& sender, const std::string& message_id, bool committed);

  // --- Delivery queue (pg_delivery_queue.cc).
  absl::StatusOr<std::vector<DeliveryRow>> PendingDeliveries(const std::string& recipient, int64_t after_seq,
                                                             size_t limit) const override;
  // From backlog_counts (the trigger's, cluster-wide), recipients with any.
  absl::StatusOr<std::map<std::string, BacklogCount>> BacklogCounts() const override;
  absl::StatusOr<ConfirmResult> ConfirmPulled(const std::string& recipient,
                                              const std::string& through_delivery_id) override;
  void RecordPulled(const std::string& recipient, int64_t seq) override;
  absl::StatusOr<std::vector<ChangedDelivery>> ExpireDue(int64_t now_micros, size_t limit) override;
  void Flush() override;
  void UpdateRecipientAsync(const std::string& sender, const std::string& message_id, const std::string& party,
                            std::function<absl::Status(RecipientRecord&)> update, RecipientDone done) override;
  absl::StatusOr<RecipientRecord> UpdateRecipient(const std::string& sender, const std::string& message_id,
                                                  const std::string& party,
                                                  const std::function<absl::Status(RecipientRecord&)>& update) override;
  absl::StatusOr<std::vector<DeliveryCount>> CountDeliveries(
      const std::vector<v1::DeliveryState>& states) const override;

  // --- Case reads (pg_case_reads.cc).
  absl::StatusOr<CasePage> ListCase(const std::string& case_reference, const std::string& party, int64_t after_position,
                                    size_t limit) const override;
  absl::StatusOr<std::vector<std::string>> CorrelatedSenders(const std::string& party, const std::string& message_id,
                                                             size_t limit) const override;

  // --- Dead letters (pg_dead_letters.cc).
  absl::StatusOr<std::vector<DeliveryRow>> DeadLetters(const std::string& recipient, int64_t after_seq,
                                                       size_t limit) const override;
  absl::StatusOr<DeliveryRow> GetDelivery(const std::string& delivery_id) const override;
  absl::StatusOr<DeliveryRow> RetryDeadLetter(const std::string& delivery_id, int64_t max_age_micros,
                                              const OfficerOnRecord& officer) override;
  absl::StatusOr<DeliveryRow> CancelDeadLetter(const std::string& delivery_id, const OfficerOnRecord& officer,
                                               const std::string& reason) override;

  // Messages this store committed (CommitAsync and InsertAcceptedInTx).
  uint64_t commits() const { return commits_.load(); }

 private:
  struct Reservation {
    std::string sha256;       // As reserved: what the row will record.
    bool committing = false;  // Being written: Abandon must not drop it.
    bool checking = false;    // A placeholder while Reserve reads the row (not yet kNew).
  };
  struct Shard {
    std::mutex mu;  // Never held across I/O (the writer's thread takes it).
    std::unordered_map<std::string, Reservation> reserved;  // Keys being recorded by this process.
    // Audit indexes given to MarkAuditedAsync whose write is not yet durable.
    std::unordered_map<std::string, uint64_t> audited;
  };

  explicit PgMessageStore(PgStoreOptions options) : options_(options) {}
  Shard& ShardFor(const std::string& key) const;
  // Runs `read` on a pooled connection; once more on a fresh one if the
  // connection it got had been dropped by the server (a restart).
  absl::Status Read(const std::function<absl::Status(pg::Connection&)>& read) const;
  // An op of the shared writer, which first locks the head row: every
  // transaction with a store write takes that lock before any row lock, so
  // two gateways' batches never deadlock on each other's rows (one waits at
  // the head row instead). `done` runs on the writer thread.
  void Submit(pg::GroupWriter::Op op, pg::GroupWriter::Done done);
  // The same, blocking: returns the op's outcome once committed.
  absl::Status Write(pg::GroupWriter::Op op);
  // The keys whose pairing MarkAuditedAsync is writing, with their indexes
  // (ListCase reads this before its snapshot).
  std::unordered_map<std::string, uint64_t> PairingsInProgress() const;
  absl::StatusOr<DeliveryRow> ReviveOrCancel(const std::string& delivery_id, v1::DeliveryState state,
                                             int64_t max_age_micros, const OfficerOnRecord& officer,
                                             const std::string& reason);

  const PgStoreOptions options_;
  mutable std::array<Shard, 64> shards_;
  std::atomic<uint64_t> commits_{0};
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_PG_MESSAGE_STORE_H_
