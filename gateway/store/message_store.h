// The storage seam for accepted messages and their per-recipient state
// (docs/delivery.md). SqliteMessageStore is the embedded default; a server
// database can implement the same interface. Implementations are thread-safe.
#ifndef PORTCULLIS_GATEWAY_STORE_MESSAGE_STORE_H_
#define PORTCULLIS_GATEWAY_STORE_MESSAGE_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis {

struct RecipientRecord {
  std::string party;
  v1::DeliveryState state = v1::ACCEPTED;
  int64_t updated_micros = 0;
  uint32_t attempts = 0;
  std::string reason;
  std::string officer;
  bool officer_verified = false;  // `officer` came from a verified assertion (docs/officer-identity.md).
  int64_t next_attempt_micros = 0;  // When the next push attempt is due; 0 = none scheduled.
  int64_t seq = 0;  // The delivery's place in its destination's order (read only: changes on a dead-letter retry).
};

struct MessageRecord {
  v1::Envelope envelope;  // As accepted, with `sender` set by the gateway.
  v1::Receipt receipt;
  std::vector<RecipientRecord> recipients;
};

enum class ReserveOutcome {
  kNew,         // Reserved: the caller must Commit() or Abandon().
  kDuplicate,   // Same sender, id and content already accepted: `receipt` is the original.
  kConflict,    // Same sender and id, different content.
  kInProgress,  // The same id is being recorded right now (stored, its acceptance not yet audited).
};

// One row of `deliveries`: one recipient of one accepted message.
struct DeliveryRow {
  std::string delivery_id;  // DeliveryIdFor(sender, message_id, recipient).
  int64_t seq = 0;          // Commit order across the whole store; never reused.
  std::string sender;
  std::string message_id;
  std::string recipient;
  std::string case_reference;
  v1::DeliveryState state = v1::ACCEPTED;
  uint32_t attempts = 0;
  int64_t next_attempt_micros = 0;  // Due time of the next attempt; set to the acceptance time at commit.
  std::string last_error;
  int64_t expires_micros = 0;  // When it expires if still ACCEPTED (acceptance + delivery.max_age_ms); 0 = never.
  int64_t updated_micros = 0;
  std::string officer;
  bool officer_verified = false;  // `officer` came from a verified assertion.
  std::string reason;
};

// The officer an operator's action is recorded with, and whether its agency
// vouched for it (docs/officer-identity.md) or it is only claimed.
struct OfficerOnRecord {
  OfficerOnRecord(std::string id, bool verified = false) : id(std::move(id)), verified(verified) {}  // NOLINT
  std::string id;
  bool verified = false;
};

// A committed message whose acceptance is not yet paired with its audit
// record (audit_index IS NULL): the start-up pairing scans the audit log from
// `audit_size_at_commit`.
struct UnauditedMessage {
  std::string sender;
  std::string message_id;
  uint64_t audit_size_at_commit = 0;
  int64_t accepted_micros = 0;
};

// A delivery one call moved out of ACCEPTED, with its envelope's size (what
// it held of its destination's backlog).
struct ChangedDelivery {
  DeliveryRow row;  // As it is now.
  uint64_t envelope_bytes = 0;
};

// What ConfirmPulled did: the seq it confirmed through and what it changed.
struct ConfirmResult {
  int64_t through_seq = 0;
  std::vector<ChangedDelivery> changed;
};

// What a destination's backlog holds: ACCEPTED deliveries and their bytes.
struct BacklogCount {
  uint64_t messages = 0;
  uint64_t bytes = 0;
};

// How many deliveries to one recipient are in one state (CountDeliveries).
struct DeliveryCount {
  std::string recipient;
  v1::DeliveryState state = v1::DELIVERY_STATE_UNSPECIFIED;
  uint64_t count = 0;
};

struct ReserveResult {
  ReserveOutcome outcome = ReserveOutcome::kNew;
  v1::Receipt receipt;
};

// One message of a case as ListCase shows it to one party: what the envelope
// says about it (no body, no attachment, no person) and the recipients that
// party may see.
struct CaseEntry {
  int64_t position = 0;  // Its place in the store's acceptance order; a page resumes after it.
  std::string sender;
  std::string message_id;
  std::string correlation_id;
  std::string body_type;  // The name of the envelope's body field, e.g. "case_referral"; "" if none.
  v1::Classification classification = v1::CLASSIFICATION_UNSPECIFIED;
  v1::Priority priority = v1::PRIORITY_UNSPECIFIED;
  std::string originating_officer;
  bool originating_officer_verified = false;  // The sender's assertion vouched for it (its receipt says).
  int64_t accepted_micros = 0;
  int64_t answer_by_seconds = 0;  // A request for information's deadline; 0 otherwise.
  // Every recipient, in the envelope's order, when the party is the sender;
  // only the party's own entry when it is a recipient (need to know).
  std::vector<RecipientRecord> recipients;
};

// One page of ListCase.
struct CasePage {
  std::vector<CaseEntry> messages;  // In acceptance order.
  // More may follow: the next page starts after `resume_after` (the last
  // entry's position, or the page's own start if it ended before its first).
  bool more = false;
  int64_t resume_after = 0;
};

class MessageStore {
 public:
  virtual ~MessageStore() = default;
  // Reserves (sender, message_id) for content with digest `envelope_sha256`.
  virtual ReserveResult Reserve(const std::string& sender, const std::string& message_id,
                                const std::string& envelope_sha256) = 0;
  using CommitDone = std::function<void(absl::StatusOr<std::shared_ptr<const MessageRecord>>)>;
  // Turns a reservation into an accepted message, every recipient ACCEPTED,
  // durably, then calls `done` (on the store's thread) with the stored record
  // (the caller dispatches it without a lookup). `audit_size_at_commit` is the
  // audit log's size now: where the start-up pairing looks for the message's
  // acceptance record if a crash comes between the two. A failed commit
  // stores nothing and releases the reservation.
  virtual void CommitAsync(std::shared_ptr<const v1::Envelope> envelope, const v1::Receipt& receipt,
                           uint64_t audit_size_at_commit, CommitDone done) = 0;
  // Pairs the message with its acceptance's audit record, then calls `done`
  // (on the store's thread) once that is durable. From the call on, a
  // resubmission of the id gets the receipt with this index; if the write is
  // lost in a crash, the start-up pairing finds the record again.
  virtual void MarkAuditedAsync(const std::string& sender, const std::string& message_id, uint64_t audit_index,
                                std::function<void(absl::Status)> done) = 0;
  // Removes a stored message whose acceptance could not be audited, then
  // calls `done` (on the store's thread) once that is durable.
  virtual void DiscardAsync(const std::string& sender, const std::string& message_id,
                            std::function<void(absl::Status)> done) = 0;
  // Pairs the message with its acceptance's audit record; durable on return
  // (start-up, before the gateway serves).
  virtual absl::Status MarkAudited(const std::string& sender, const std::string& message_id, uint64_t audit_index) = 0;
  // Messages whose acceptance is not yet paired with its audit record.
  virtual absl::StatusOr<std::vector<UnauditedMessage>> Unaudited() const = 0;
  // Up to `limit` deliveries to `recipient` still ACCEPTED, after `after_seq`,
  // in seq order, stopping before the first whose message's acceptance is not
  // yet audited (it is not deliverable yet, and a pager must not pass it).
  virtual absl::StatusOr<std::vector<DeliveryRow>> PendingDeliveries(const std::string& recipient, int64_t after_seq,
                                                                     size_t limit) const = 0;
  // ACCEPTED deliveries per recipient (start-up: the backlog's bounds).
  virtual absl::StatusOr<std::map<std::string, BacklogCount>> BacklogCounts() const = 0;
  // Pull mode: delivery `through_delivery_id` to `recipient` and every
  // earlier (lower seq) audited ACCEPTED delivery to it become DELIVERED,
  // durably, but never beyond what was read for sending (RecordPulled): a
  // stale id whose delivery was re-sequenced (a retried dead letter) cannot
  // confirm what was never sent. NOT_FOUND if `recipient` has no such delivery.
  virtual absl::StatusOr<ConfirmResult> ConfirmPulled(const std::string& recipient,
                                                      const std::string& through_delivery_id) = 0;
  // Pull mode: deliveries to `recipient` up to `seq` were read for sending
  // (kept as a high-water mark; written without waiting).
  virtual void RecordPulled(const std::string& recipient, int64_t seq) = 0;
  // Up to `limit` ACCEPTED deliveries whose expiry time has passed become
  // EXPIRED (dead letters), durably. Returns those changed.
  virtual absl::StatusOr<std::vector<ChangedDelivery>> ExpireDue(int64_t now_micros, size_t limit) = 0;
  // Returns once every write queued before the call is durable and its
  // callback has run (shutdown: nothing calls back into a destroyed object).
  virtual void Flush() = 0;
  // Drops a reservation whose acceptance could not be recorded.
  virtual void Abandon(const std::string& sender, const std::string& message_id) = 0;
  // Up to `limit` messages of `case_reference` that `party` sent or is a
  // recipient of, with position > `after_position` (0 = from the first), in
  // acceptance order. A page ends before the first message whose acceptance
  // is not yet audited (with `more` set, so a pager comes back for it and
  // never skips it). A party with nothing in the case gets an empty page:
  // whether others have messages in it is not disclosed.
  virtual absl::StatusOr<CasePage> ListCase(const std::string& case_reference, const std::string& party,
                                            int64_t after_position, size_t limit) const = 0;
  // The senders of the committed messages with id `message_id` that `party`
  // sent or is a recipient of (what a reply's correlation_id may name), at
  // most `limit`, in sender order. Messages of other parties never count.
  virtual absl::StatusOr<std::vector<std::string>> CorrelatedSenders(const std::string& party,
                                                                     const std::string& message_id,
                                                                     size_t limit) const = 0;
  // NOT_FOUND if no committed message has this key.
  virtual absl::StatusOr<std::shared_ptr<const MessageRecord>> Get(const std::string& sender,
                                                                   const std::string& message_id) const = 0;
  // UpdateRecipient without waiting: `done` runs on the store's thread once
  // the change is durable (or with the error), and must not block on the
  // store. `update` runs on the store's thread too.
  using RecipientDone = std::function<void(absl::StatusOr<RecipientRecord>)>;
  virtual void UpdateRecipientAsync(const std::string& sender, const std::string& message_id,
                                    const std::string& party, std::function<absl::Status(RecipientRecord&)> update,
                                    RecipientDone done) = 0;
  // Runs `update` on one recipient's record under the store's lock; the change
  // is kept only if `update` returns OK. Returns the record after the update.
  virtual absl::StatusOr<RecipientRecord> UpdateRecipient(
      const std::string& sender, const std::string& message_id, const std::string& party,
      const std::function<absl::Status(RecipientRecord&)>& update) = 0;

  // --- Dead letters (docs/delivery.md): deliveries in state FAILED or
  // EXPIRED, for operators. The writes are durable on return and change the
  // same row that Get() shows as the recipient's RecipientRecord.

  // Up to `limit` dead letters with seq > after_seq, in seq order; only those
  // to `recipient` unless it is empty.
  virtual absl::StatusOr<std::vector<DeliveryRow>> DeadLetters(const std::string& recipient, int64_t after_seq,
                                                               size_t limit) const = 0;
  // One delivery by its id. NOT_FOUND (DELIVERY_NOT_FOUND) if there is none.
  virtual absl::StatusOr<DeliveryRow> GetDelivery(const std::string& delivery_id) const = 0;
  // A dead letter becomes ACCEPTED again: due now, expiring at now +
  // `max_age_micros` (0 = no expiry recorded), attempts kept, the last error
  // kept (in `reason`, as the dispatcher wrote it, and copied to
  // `last_error`); `officer` records who sent it again (the reason belongs
  // in the caller's audit record). Returns the row after the change. NOT_FOUND (DELIVERY_NOT_FOUND) for
  // an unknown id, FAILED_PRECONDITION (NOT_A_DEAD_LETTER) if it is not
  // FAILED or EXPIRED.
  virtual absl::StatusOr<DeliveryRow> RetryDeadLetter(const std::string& delivery_id, int64_t max_age_micros,
                                                      const OfficerOnRecord& officer) = 0;
  // A dead letter becomes CANCELLED with `officer` and `reason` (never
  // delivered); the last error is copied to `last_error`. Same refusals as
  // RetryDeadLetter.
  virtual absl::StatusOr<DeliveryRow> CancelDeadLetter(const std::string& delivery_id, const OfficerOnRecord& officer,
                                                       const std::string& reason) = 0;
  // Deliveries per recipient and state, for the states in `states` (reads
  // the recipient/state index: cost grows with the number of rows).
  virtual absl::StatusOr<std::vector<DeliveryCount>> CountDeliveries(
      const std::vector<v1::DeliveryState>& states) const = 0;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_MESSAGE_STORE_H_
