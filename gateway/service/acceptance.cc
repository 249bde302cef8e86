// The acceptance pipeline's flow (acceptance.h): the steps that decide at
// once, then Store -> Audit -> Pair + answer, each continuing in the callback
// of the one before.
#include "gateway/service/acceptance.h"

#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"
#include "gateway/service/audited_answer.h"

namespace portcullis {

// One submission from Store on: what its later steps need.
struct AcceptancePipeline::Accepting {
  CompletedEnvelope completed;
  AuditRecord record;  // Its acceptance record, outcome "accepted".
  Answer answer;
};

AcceptancePipeline::AcceptancePipeline(std::shared_ptr<const Config> config, MessageStore* store, AuditLog* audit,
                                       DeliveryHandoff* delivery, Clock clock)
    : config_(std::move(config)), store_(store), audit_(audit), delivery_(delivery), clock_(std::move(clock)) {}

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
  Store(std::make_shared<Accepting>(Accepting{std::move(completed), std::move(record), std::move(answer)}));
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

void AcceptancePipeline::ReleaseRoom(const Accepting& a) const {
  for (const std::string& r : a.completed.envelope->recipients()) delivery_->ReleaseRoom(r, a.completed.bytes);
}

// The message first (durable), then its acceptance record (durable), then the
// receipt: a crash between the two is repaired at start-up (docs/delivery.md),
// and no acceptance is audited for a message not kept.
void AcceptancePipeline::Store(std::shared_ptr<Accepting> a) const {
  const v1::Envelope& e = *a->completed.envelope;
  v1::Receipt receipt;
  receipt.set_message_id(e.message_id());
  receipt.set_sender(e.sender());
  *receipt.mutable_accepted_at() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(clock_());
  receipt.set_envelope_sha256(a->completed.sha256);
  receipt.set_originating_officer_verified(a->record.officer_verified);
  *receipt.mutable_recipients() = e.recipients();
  store_->CommitAsync(a->completed.envelope, receipt, audit_->size(),
                      [this, a](absl::StatusOr<std::shared_ptr<const MessageRecord>> committed) {
                        if (!committed.ok()) {
                          ReleaseRoom(*a);
                          std::fprintf(stderr, "portcullis: message store: %s\n",
                                       committed.status().ToString().c_str());
                          a->answer(Refuse(absl::StatusCode::kUnavailable, "STORE_UNAVAILABLE", "",
                                                       "the gateway cannot store the message; nothing was accepted"));
                          return;
                        }
                        Audit(a, *std::move(committed));
                      });
}

void AcceptancePipeline::Audit(std::shared_ptr<Accepting> a, std::shared_ptr<const MessageRecord> message) const {
  AuditRecord record = std::move(a->record);
  audit_->Append(std::move(record), [this, a, message](absl::StatusOr<uint64_t> index) {
    if (!index.ok()) {
      Withdraw(a, *message);
      return;
    }
    PairAndAnswer(a, message, *index);
  });
}

// Not audited, so not accepted: the stored message goes before the caller is
// told nothing was done.
void AcceptancePipeline::Withdraw(std::shared_ptr<Accepting> a, const MessageRecord& message) const {
  ReleaseRoom(*a);
  const v1::Envelope& e = message.envelope;
  store_->DiscardAsync(e.sender(), e.message_id(), [a, id = e.message_id()](absl::Status d) {
    if (d.ok()) {
      a->answer(AuditUnavailable());
      return;
    }
    std::fprintf(stderr, "portcullis: message store: cannot discard unaudited '%s': %s\n", id.c_str(),
                 d.ToString().c_str());
    a->answer(Refuse(
        absl::StatusCode::kUnavailable, "OUTCOME_UNKNOWN", "",
        "the audit log failed and the message could not be withdrawn; resubmit the same message id "
        "later: the original receipt comes back if it was accepted"));
  });
}

// Stored and audited: accepted. From the MarkAuditedAsync call on a
// resubmission gets this receipt back (the store keeps the index in memory
// until its write is durable; a crash before that is repaired by the start-up
// pairing). Delivery starts once the pairing is durable: destinations do not
// pass a message not yet paired.
void AcceptancePipeline::PairAndAnswer(std::shared_ptr<Accepting> a, std::shared_ptr<const MessageRecord> message,
                                       uint64_t audit_index) const {
  const v1::Envelope& e = message->envelope;
  store_->MarkAuditedAsync(e.sender(), e.message_id(), audit_index, [this, message, audit_index](absl::Status s) {
    if (!s.ok()) {
      // Audited and stored: written again by the dispatcher's sweeper (and
      // paired from the audit log at a restart).
      std::fprintf(stderr, "portcullis: message store: cannot record the audit index of '%s' (will retry): %s\n",
                   message->envelope.message_id().c_str(), s.ToString().c_str());
      delivery_->RetryPairing(message, audit_index);
      return;
    }
    delivery_->Dispatch(*message);  // The store is flushed before delivery goes (Gateway::Shutdown).
  });
  v1::Receipt receipt = message->receipt;
  receipt.set_audit_index(audit_index);
  a->answer(std::move(receipt));
}

}  // namespace portcullis
