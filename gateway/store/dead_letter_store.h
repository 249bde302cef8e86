// Dead letters (docs/delivery.md): deliveries in state FAILED or EXPIRED,
// for operators. The writes are durable on return and change the same row
// that AcceptanceStore::Get() shows as the recipient's RecipientRecord.
// Implementations are thread-safe.
#ifndef PORTCULLIS_GATEWAY_STORE_DEAD_LETTER_STORE_H_
#define PORTCULLIS_GATEWAY_STORE_DEAD_LETTER_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/store/store_types.h"

namespace portcullis {

class DeadLetterStore {
 public:
  virtual ~DeadLetterStore() = default;
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
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_DEAD_LETTER_STORE_H_
