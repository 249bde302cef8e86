// The delivery queue (docs/delivery.md): per-recipient delivery rows in seq
// order, their state changes, expiry, counts. Implementations are thread-safe.
#ifndef PORTCULLIS_GATEWAY_STORE_DELIVERY_QUEUE_H_
#define PORTCULLIS_GATEWAY_STORE_DELIVERY_QUEUE_H_

#include <map>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/store/store_types.h"

namespace portcullis {

class DeliveryQueue {
 public:
  virtual ~DeliveryQueue() = default;
  // Up to `limit` deliveries to `recipient` still ACCEPTED, after `after_seq`,
  // in seq order, stopping before the first whose message's acceptance is not
  // yet audited (it is not deliverable yet, and a pager must not pass it).
  virtual absl::StatusOr<std::vector<DeliveryRow>> PendingDeliveries(const std::string& recipient, int64_t after_seq,
                                                                     size_t limit) const = 0;
  // ACCEPTED deliveries per recipient (start-up: the backlog's bounds).
  virtual absl::StatusOr<std::map<std::string, BacklogCount>> BacklogCounts() const = 0;
  // Up to `limit` ACCEPTED deliveries whose expiry time has passed become
  // EXPIRED (dead letters), durably. Returns those changed.
  virtual absl::StatusOr<std::vector<ChangedDelivery>> ExpireDue(int64_t now_micros, size_t limit) = 0;
  // Returns once every write queued before the call is durable and its
  // callback has run (shutdown: nothing calls back into a destroyed object).
  virtual void Flush() = 0;
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
  // Deliveries per recipient and state, for the states in `states` (reads
  // the recipient/state index: cost grows with the number of rows).
  virtual absl::StatusOr<std::vector<DeliveryCount>> CountDeliveries(
      const std::vector<v1::DeliveryState>& states) const = 0;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_DELIVERY_QUEUE_H_
