// What RetryDeadLetter and CancelDeadLetter do to a dead letter's row, the
// same on every backend (dead_letter_store.h); the backend only supplies the
// new seq of a retried delivery and writes the row.
#ifndef PORTCULLIS_GATEWAY_STORE_DEAD_LETTER_RULES_H_
#define PORTCULLIS_GATEWAY_STORE_DEAD_LETTER_RULES_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/store/store_types.h"

namespace portcullis {

inline bool IsDeadLetter(v1::DeliveryState state) { return state == v1::FAILED || state == v1::EXPIRED; }

// `d` (as read, locked) moved to `state` (ACCEPTED: retried; CANCELLED) by
// `officer` at `now`. NOT_A_DEAD_LETTER unless it is FAILED or EXPIRED. The
// dispatcher writes the latest delivery error to `reason` (what Track
// shows): a copy is kept in `last_error`; a retried delivery keeps it in
// `reason` too (the retry's reason is in the audit log), a cancelled one shows
// the operator's `reason` instead. A retried delivery gets `next_seq()` (it
// goes behind everything now waiting: destinations and pull streams page by
// seq and have passed its old one), a fresh attempt budget, and expires
// `max_age_micros` from now (0: never).
absl::Status ApplyDeadLetterDecision(DeliveryRow* d, v1::DeliveryState state, const OfficerOnRecord& officer,
                                     const std::string& reason, int64_t now, int64_t max_age_micros,
                                     const std::function<absl::StatusOr<int64_t>()>& next_seq);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_DEAD_LETTER_RULES_H_
