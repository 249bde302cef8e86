#include "gateway/store/dead_letter_rules.h"

#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"

namespace portcullis {

absl::Status ApplyDeadLetterDecision(DeliveryRow* d, v1::DeliveryState state, const OfficerOnRecord& officer,
                                     const std::string& reason, int64_t now, int64_t max_age_micros,
                                     const std::function<absl::StatusOr<int64_t>()>& next_seq) {
  if (!IsDeadLetter(d->state)) {
    return Refuse(absl::StatusCode::kFailedPrecondition, "NOT_A_DEAD_LETTER", "delivery_id",
                  absl::StrCat("delivery '", d->delivery_id, "' is ", v1::DeliveryState_Name(d->state),
                               "; only FAILED or EXPIRED deliveries can be retried or cancelled"));
  }
  if (!d->reason.empty()) d->last_error = d->reason;
  d->state = state;
  d->officer = officer.id;
  d->officer_verified = officer.verified;
  if (state == v1::CANCELLED) d->reason = reason;
  d->updated_micros = now;
  if (state != v1::ACCEPTED) {
    d->next_attempt_micros = 0;
    return absl::OkStatus();
  }
  absl::StatusOr<int64_t> seq = next_seq();
  if (!seq.ok()) return seq.status();
  d->seq = *seq;
  d->attempts = 0;
  d->next_attempt_micros = now;
  d->expires_micros = max_age_micros > 0 ? now + max_age_micros : 0;
  return absl::OkStatus();
}

}  // namespace portcullis
