// The acceptance pipeline's flow (acceptance.h): the steps that decide at
// once, then the recorder's Store -> Audit -> Pair (acceptance_recorder.h)
// and the answer.
#include "gateway/service/acceptance.h"

#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"
#include "gateway/service/audited_answer.h"
#include "gateway/service/paired_acceptance.h"

namespace portcullis {

AcceptancePipeline::AcceptancePipeline(std::shared_ptr<const Config> config, MessageStore* store, AuditLog* audit,
                                       DeliveryHandoff* delivery, Clock clock, AcceptanceRecorder* recorder)
    : config_(std::move(config)), store_(store), audit_(audit), delivery_(delivery), clock_(std::move(clock)) {
  if (recorder == nullptr) {
    owned_recorder_ = std::make_unique<PairedAcceptance>(store, audit, delivery);
    recorder = owned_recorder_.get();
  }
  recorder_ = recorder;
}

void AcceptancePipeline::Submit(const Submission& submission, const v1::SubmitRequest& request,
                                Answer answer) const {
  if (!audit_->Health().ok()) {  // Nothing can be recorded: nothing is done, nothing recorded.
    answer(AuditUnavailable());
    return;
  }
  AuditRecord record = SubmissionRecord(submission, request.envelope(), clock_());
  absl::Status checked = submission.caller.status();
  if (checked.ok()) {
    checked = CheckSubmission(*config_, **submission.caller, request, clock_(), submission.verified_officer);
  }
  if (!checked.ok()) return AnswerRefusal(std::move(record), checked, std::move(answer));

  CompletedEnvelope completed = CompleteEnvelope(request.envelope(), **submission.caller);
  const v1::Envelope& envelope = *completed.envelope;
  record.payload_sha256 = completed.sha256;
  ReserveResult reserved = store_->Reserve(envelope.sender(), envelope.message_id(), completed.sha256);
  if (reserved.outcome == ReserveOutcome::kDuplicate) {
    return AnswerDuplicate(std::move(record), reserved, std::move(answer));
  }
  if (reserved.outcome != ReserveOutcome::kNew) {
    return AnswerRefusal(std::move(record), ReservationRefusal(reserved.outcome), std::move(answer));
  }
  // Checked only for a new message: the thread a reply names depends on the
  // store's state, and a resubmission of an accepted reply gets its receipt
  // back (above) even if that state changed since. Then room in every
  // recipient's backlog, before anything is stored.
  absl::Status admitted = CheckThread(*store_, envelope.sender(), envelope.correlation_id());
  if (admitted.ok()) admitted = delivery_->ReserveRoom(envelope.recipients(), completed.bytes);
  if (!admitted.ok()) {
    store_->Abandon(envelope.sender(), envelope.message_id());
    return AnswerRefusal(std::move(record), admitted, std::move(answer));
  }
  record.outcome = "accepted";
  Accept(std::move(completed), std::move(record), std::move(answer));
}

void AcceptancePipeline::AnswerRefusal(AuditRecord record, absl::Status refusal, Answer answer) const {
  MarkRefused(refusal, &record);
  AuditThen(audit_, std::move(record), refusal, [answer = std::move(answer)](absl::Status s) { answer(s); });
}

void AcceptancePipeline::AnswerDuplicate(AuditRecord record, const ReserveResult& reserved, Answer answer) const {
  record.outcome = "duplicate";
  record.detail = absl::StrCat("resubmission; original audit index ", reserved.receipt.audit_index());
  v1::Receipt receipt = reserved.receipt;
  receipt.set_duplicate(true);
  AuditThen(audit_, std::move(record), absl::OkStatus(),
            [answer = std::move(answer), receipt = std::move(receipt)](absl::Status s) {
              if (s.ok()) {
                answer(receipt);
              } else {
                answer(s);
              }
            });
}

// Stored and audited by the recorder (acceptance_recorder.h), then answered;
// what a refusal took of the backlogs goes back first.
void AcceptancePipeline::Accept(CompletedEnvelope completed, AuditRecord record, Answer answer) const {
  const v1::Envelope& e = *completed.envelope;
  v1::Receipt receipt;
  receipt.set_message_id(e.message_id());
  receipt.set_sender(e.sender());
  *receipt.mutable_accepted_at() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(clock_());
  receipt.set_envelope_sha256(completed.sha256);
  receipt.set_originating_officer_verified(record.officer_verified);
  *receipt.mutable_recipients() = e.recipients();
  std::shared_ptr<const v1::Envelope> envelope = completed.envelope;
  recorder_->Record(std::move(envelope), std::move(receipt), std::move(record),
                    [this, envelope = completed.envelope, bytes = completed.bytes,
                     answer = std::move(answer)](absl::StatusOr<v1::Receipt> outcome) {
                      // OUTCOME_UNKNOWN: the message may have been stored (a COMMIT whose
                      // answer was lost), so its room stays taken: if it was, the dispatcher
                      // finds it on its next rescan and releases the room when it is
                      // delivered; if not, the count is one too high until the next start
                      // recounts the backlog from the store (docs/delivery.md).
                      if (!outcome.ok() && RefusalOf(outcome.status()).reason() != "OUTCOME_UNKNOWN") {
                        for (const std::string& r : envelope->recipients()) delivery_->ReleaseRoom(r, bytes);
                      }
                      answer(std::move(outcome));
                    });
}

}  // namespace portcullis
