// Acceptance and idempotency (docs/storage.md, "Module boundaries"): a
// submission's key reserved, its message stored, paired with its acceptance's
// audit record (or discarded), read back. Implementations are thread-safe.
#ifndef PORTCULLIS_GATEWAY_STORE_ACCEPTANCE_STORE_H_
#define PORTCULLIS_GATEWAY_STORE_ACCEPTANCE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/store/store_types.h"

namespace portcullis {

class AcceptanceStore {
 public:
  virtual ~AcceptanceStore() = default;
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
  // Drops a reservation whose acceptance could not be recorded.
  virtual void Abandon(const std::string& sender, const std::string& message_id) = 0;
  // NOT_FOUND if no committed message has this key.
  virtual absl::StatusOr<std::shared_ptr<const MessageRecord>> Get(const std::string& sender,
                                                                   const std::string& message_id) const = 0;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_ACCEPTANCE_STORE_H_
