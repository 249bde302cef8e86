#include "gateway/service/message_views.h"

#include <google/protobuf/util/time_util.h>

#include "gateway/common/refusal.h"

namespace portcullis {

using google::protobuf::util::TimeUtil;

bool IsRecipient(const MessageRecord& m, const std::string& party) {
  for (const auto& r : m.envelope.recipients()) {
    if (r == party) return true;
  }
  return false;
}

bool IsParticipant(const MessageRecord& m, const std::string& party) {
  return m.envelope.sender() == party || IsRecipient(m, party);
}

void FillStatus(const RecipientRecord& r, v1::RecipientStatus* out) {
  out->set_party(r.party);
  out->set_state(r.state);
  *out->mutable_updated_at() = TimeUtil::MicrosecondsToTimestamp(r.updated_micros);
  out->set_attempts(r.attempts);
  out->set_reason(r.reason);
  out->set_officer(r.officer);
  out->set_officer_verified(r.officer_verified);
  if (r.state == v1::ACCEPTED && r.attempts > 0 && r.next_attempt_micros > 0) {  // A push waiting for its retry.
    *out->mutable_next_attempt_at() = TimeUtil::MicrosecondsToTimestamp(r.next_attempt_micros);
  }
}

std::string Clip(const std::string& s, size_t max) { return s.size() <= max ? s : s.substr(0, max); }

absl::Status MessageNotFound() {
  return Refuse(absl::StatusCode::kNotFound, "MESSAGE_NOT_FOUND", "message_id",
                "no such message among those you sent or received");
}

absl::StatusOr<std::shared_ptr<const MessageRecord>> VisibleMessage(
    absl::StatusOr<std::shared_ptr<const MessageRecord>> message, const std::string& party) {
  if (message.status().code() == absl::StatusCode::kNotFound) return MessageNotFound();
  if (message.ok() && !IsParticipant(**message, party)) return MessageNotFound();
  return message;
}

}  // namespace portcullis
