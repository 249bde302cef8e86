// The acceptance steps that decide without waiting (acceptance.h).
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "gateway/audit/exchange_record.h"
#include "gateway/common/digest.h"
#include "gateway/common/log.h"
#include "gateway/common/refusal.h"
#include "gateway/policy/envelope_validator.h"
#include "gateway/policy/route_policy.h"
#include "gateway/service/acceptance.h"
#include "util/sha256.h"

namespace portcullis {
namespace {

// Directive 2023/977 deadlines for an RFI that names none, counted from its
// creation time (deterministic: a resubmission gets the same envelope).
void FillAnswerDeadline(v1::Envelope* envelope) {
  if (!envelope->has_request_for_information()) return;
  v1::RequestForInformation* rfi = envelope->mutable_request_for_information();
  if (rfi->has_answer_by()) return;
  const bool urgent = envelope->priority() == v1::URGENT || envelope->priority() == v1::IMMEDIATE;
  const int64_t hours = urgent ? (rfi->directly_accessible() ? 8 : 72) : 168;
  rfi->mutable_answer_by()->set_seconds(envelope->created_at().seconds() + hours * 3600);
  rfi->mutable_answer_by()->set_nanos(envelope->created_at().nanos());
}

}  // namespace

absl::Status CheckSubmission(const Config& config, const Party& caller, const v1::SubmitRequest& request,
                             int64_t now_micros, const std::optional<std::string>& verified_officer) {
  const v1::Envelope& in = request.envelope();
  if (!request.has_envelope()) {
    return Refuse(absl::StatusCode::kInvalidArgument, "FIELD_REQUIRED", "envelope", "is required");
  }
  if (!in.sender().empty() && in.sender() != caller.id) {
    return Refuse(absl::StatusCode::kPermissionDenied, "SENDER_MISMATCH", "envelope.sender",
                  absl::StrCat("claims '", in.sender(), "' but the certificate identifies '", caller.id, "'"));
  }
  ValidationContext vc{caller.id, now_micros, config.limits.max_clock_skew_seconds};
  PORTCULLIS_RETURN_IF_ERROR(ValidateEnvelope(in, vc));
  if (verified_officer.has_value() && in.originating_officer() != *verified_officer) {
    return Refuse(absl::StatusCode::kPermissionDenied, "OFFICER_MISMATCH", "envelope.originating_officer",
                  "is not the officer the caller's assertion vouches for");
  }
  return CheckRoutes(config, caller, in);
}

CompletedEnvelope CompleteEnvelope(const v1::Envelope& in, const Party& caller) {
  CompletedEnvelope out;
  out.envelope = std::make_shared<v1::Envelope>(in);
  out.envelope->set_sender(caller.id);
  FillAnswerDeadline(out.envelope.get());
  out.sha256 = Sha256Hex(DeterministicBytes(*out.envelope));
  out.bytes = out.envelope->ByteSizeLong();
  return out;
}

AuditRecord SubmissionRecord(const Submission& submission, const v1::Envelope& in, int64_t now_micros) {
  AuditRecord record = ExchangeAuditRecord("submit", in, "");
  record.time_micros = now_micros;
  record.actor_officer = in.originating_officer();
  record.peer = submission.peer;
  record.request_id = submission.request_id;  // Also on the acceptance record.
  record.officer_verified = submission.verified_officer.has_value() &&
                            *submission.verified_officer == in.originating_officer();
  const std::string party = submission.caller.ok() ? (*submission.caller)->id : submission.identified_party;
  if (!party.empty()) {
    record.actor_party = party;
    record.sender = party;
  }
  return record;
}

// A reply belongs to a thread: an envelope's correlation_id must name exactly
// one message the submitting party sent or received (docs/delivery.md,
// "Replies"). Both refusals are FAILED_PRECONDITION: the envelope is well
// formed, the exchange's state does not allow it. A message of other parties
// counts as no message at all, so the refusal discloses nothing.
absl::Status CheckThread(const CaseReads& store, const std::string& sender, const std::string& correlation_id) {
  if (correlation_id.empty()) return absl::OkStatus();
  auto senders = store.CorrelatedSenders(sender, correlation_id, 2);
  if (!senders.ok()) {
    LogLine("message store: correlation: %s\n", senders.status().ToString().c_str());
    return Refuse(absl::StatusCode::kUnavailable, "STORE_UNAVAILABLE", "",
                  "the gateway cannot read the message store now; nothing was accepted; retry later");
  }
  if (senders->empty()) {
    return Refuse(absl::StatusCode::kFailedPrecondition, "CORRELATION_UNKNOWN", "envelope.correlation_id",
                  "names no message you sent or received; a reply must answer one of those");
  }
  if (senders->size() > 1) {
    return Refuse(absl::StatusCode::kFailedPrecondition, "CORRELATION_AMBIGUOUS", "envelope.correlation_id",
                  absl::StrCat("names more than one message you sent or received (from '", (*senders)[0], "' and '",
                               (*senders)[1], "'); the reply cannot say which it answers"));
  }
  return absl::OkStatus();
}

absl::Status ReservationRefusal(ReserveOutcome outcome) {
  if (outcome == ReserveOutcome::kConflict) {
    return Refuse(absl::StatusCode::kAlreadyExists, "MESSAGE_ID_REUSED", "envelope.message_id",
                  "this message id was already used for different content");
  }
  return Refuse(absl::StatusCode::kAborted, "SUBMISSION_IN_PROGRESS", "envelope.message_id",
                "the same message id is being recorded right now; retry");
}

}  // namespace portcullis
