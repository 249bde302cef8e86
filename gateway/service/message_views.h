// What a party may see of a stored message (docs/delivery.md, "Need to
// know"), shared by the Exchange's consultations (Track, ListCase) and
// decisions (decision.h). No gRPC; no state.
#ifndef PORTCULLIS_GATEWAY_SERVICE_MESSAGE_VIEWS_H_
#define PORTCULLIS_GATEWAY_SERVICE_MESSAGE_VIEWS_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/store/message_store.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis {

// Limits of what a consultation or decision names (longer is refused; the
// record keeps the start, Clip).
inline constexpr size_t kMaxOfficer = 128;
inline constexpr size_t kMaxJustification = 4096;

bool IsRecipient(const MessageRecord& m, const std::string& party);
bool IsParticipant(const MessageRecord& m, const std::string& party);

// One recipient's state as the wire shows it (next_attempt_at only for a push
// waiting for its retry).
void FillStatus(const RecipientRecord& r, v1::RecipientStatus* out);

// At most `max` bytes of a caller's string for the audit record: a refused
// over-long field is recorded (its start), not copied whole into the log.
std::string Clip(const std::string& s, size_t max);

// The one answer for a message the caller may not see, whether it exists or
// not: a party that neither sent nor received it learns nothing, not even
// that it exists. Names neither the id nor the sender it was given (they are
// the caller's own words, and may not be printable).
absl::Status MessageNotFound();

// Get's answer as `party` may see it: MessageNotFound() for a message that
// does not exist and for one the party is not a participant of.
absl::StatusOr<std::shared_ptr<const MessageRecord>> VisibleMessage(
    absl::StatusOr<std::shared_ptr<const MessageRecord>> message, const std::string& party);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_MESSAGE_VIEWS_H_
