#include "gateway/service/decision.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/audit/exchange_record.h"
#include "gateway/common/refusal.h"
#include "gateway/policy/envelope_validator.h"
#include "gateway/service/audited_answer.h"
#include "gateway/service/message_views.h"

namespace portcullis {
namespace {

// The request's own words, before the message is looked at; `officer` is
// the acting officer (the request's, or the verified one it left empty).
absl::Status CheckRequest(const v1::AcknowledgeRequest& request, const std::string& officer, bool reject) {
  if (request.sender().empty()) {
    return Refuse(absl::StatusCode::kInvalidArgument, "FIELD_REQUIRED", "sender", "the message's sender is required");
  }
  if (request.message_id().empty()) {
    return Refuse(absl::StatusCode::kInvalidArgument, "FIELD_REQUIRED", "message_id", "is required");
  }
  if (request.decision() != v1::ACCEPT && !reject) {
    return Refuse(absl::StatusCode::kInvalidArgument, "FIELD_REQUIRED", "decision", "ACCEPT or REJECT is required");
  }
  if (officer.empty()) {
    return Refuse(absl::StatusCode::kInvalidArgument, "FIELD_REQUIRED", "officer", "the acting officer is required");
  }
  if (reject && request.reason().empty()) {
    return Refuse(absl::StatusCode::kInvalidArgument, "FIELD_REQUIRED", "reason", "a rejection needs a reason");
  }
  PORTCULLIS_RETURN_IF_ERROR(CheckOfficerId(officer, "officer", true));
  return CheckStatement(request.reason(), "reason", reject, 4096);
}

}  // namespace

Decision Decide(MessageStore& store, DeliveryHandoff& delivery, const absl::StatusOr<Caller>& caller,
                const v1::AcknowledgeRequest& request, AuditRecord record) {
  Decision d;
  d.if_unaudited = AuditUnavailable();
  record.message_id = request.message_id();
  record.sender = request.sender();
  record.actor_officer = Clip(request.officer(), kMaxOfficer);
  absl::Status status = caller.status();
  const bool reject = request.decision() == v1::REJECT;
  bool repeated = false;  // The same decision by the same officer for the same reason, again.
  bool unknown = false;   // The store could not tell whether the decision was written.
  std::string officer = request.officer();  // Who decides: the verified officer if the assertion names one.
  if (caller.ok()) {
    const std::string& party = caller->party->id;
    record.actor_party = party;
    absl::StatusOr<std::string> acting = ActingOfficer(*caller, request.officer(), "officer", &record);
    status = acting.status();
    if (acting.ok()) officer = *std::move(acting);
    if (status.ok()) status = CheckRequest(request, officer, reject);
    // A party that is not a participant gets the answer for no such
    // message; the sender, who knows it exists, is told it cannot decide.
    auto message = status.ok() ? VisibleMessage(store.Get(request.sender(), request.message_id()), party)
                               : absl::StatusOr<std::shared_ptr<const MessageRecord>>(status);
    if (status.ok()) status = message.status();
    if (message.ok() && !IsRecipient(**message, party)) {
      status = Refuse(absl::StatusCode::kPermissionDenied, "NOT_A_RECIPIENT", "sender",
                      "only a recipient of the message may acknowledge or reject it");
    } else if (message.ok()) {
      // Only now, with the caller a recipient, does the record carry the
      // message's details (a refused caller must not see them in its proofs).
      const MessageRecord& m = **message;
      AuditRecord r = ExchangeAuditRecord("acknowledge", m.envelope, m.receipt.envelope_sha256());
      r.actor_party = record.actor_party;
      r.actor_officer = record.actor_officer;
      r.officer_verified = record.officer_verified;
      r.peer = record.peer;
      r.recipients = {party};
      record = std::move(r);
      const v1::DeliveryState target = reject ? v1::REJECTED : v1::ACKNOWLEDGED;
      bool released = false;  // Decided before delivery was recorded (e.g. before a pull confirm).
      // A decision is final. The same one again (same decision, officer and
      // reason) is answered OK with the record as it stands, and not written
      // again; any other is refused.
      RecipientRecord decided;
      const absl::Status kRepeated = absl::AlreadyExistsError("repeated decision");  // Leaves the row as it is.
      auto updated = store.UpdateRecipient(
          request.sender(), request.message_id(), party, [&](RecipientRecord& rr) -> absl::Status {
            // Called again if the store's op reruns: only the last run counts.
            repeated = false;
            released = false;
            decided = RecipientRecord{};
            if (rr.state == v1::ACKNOWLEDGED || rr.state == v1::REJECTED) {
              if (rr.state == target && rr.officer == officer && rr.reason == request.reason()) {
                repeated = true;
                decided = rr;
                return kRepeated;
              }
              return Refuse(absl::StatusCode::kFailedPrecondition, "ALREADY_DECIDED", "decision",
                            absl::StrCat("the message was already ", rr.state == v1::REJECTED ? "rejected" : "accepted",
                                         " by officer ", rr.officer, "; a decision is final"));
            }
            released = rr.state == v1::ACCEPTED;
            rr.state = target;
            rr.next_attempt_micros = 0;
            rr.reason = request.reason();
            rr.officer = officer;
            rr.officer_verified = record.officer_verified;
            return absl::OkStatus();
          });
      status = repeated ? absl::OkStatus() : updated.status();
      if (status.code() == absl::StatusCode::kUnknown) {
        // The COMMIT's answer was lost: the decision may have taken effect.
        // Not "refused": resubmitted, it is a duplicate if it was recorded.
        unknown = true;
        status = Refuse(absl::StatusCode::kUnavailable, "OUTCOME_UNKNOWN", "",
                        "the gateway could not confirm whether the decision was recorded; resubmit it: the original "
                        "decision stands if it was recorded");
      }
      if (repeated) FillStatus(decided, &d.recipient);
      if (updated.ok()) FillStatus(*updated, &d.recipient);
      if (updated.ok() && released) delivery.ReleaseRoom(party, m.envelope.ByteSizeLong());
    }
  }
  if (status.ok() && repeated) {
    // Nothing took effect: the record says so, and names no new decision.
    record.outcome = "duplicate";
    record.detail = absl::StrCat("the same ", reject ? "rejection" : "acceptance",
                                 " again; the recorded decision stands unchanged");
  } else if (status.ok()) {
    record.outcome = reject ? "rejected" : "acknowledged";
    record.detail = request.reason();
    // The decision is durable already: if its record cannot be written the
    // caller is told so, never that nothing was done.
    d.if_unaudited = Refuse(absl::StatusCode::kUnavailable, "DECISION_NOT_AUDITED", "",
                            "the decision took effect, but the audit log could not record it; the gateway refuses "
                            "new work until its operators repair the log (do not decide again)");
  } else {
    MarkRefused(status, &record);
    if (unknown) {
      record.outcome = "outcome_unknown";  // Neither refused nor known to have taken effect.
      d.if_unaudited = status;             // Not "nothing was done" either.
    }
  }
  d.status = status;
  d.record = std::move(record);
  return d;
}

}  // namespace portcullis
