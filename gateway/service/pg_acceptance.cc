#include "gateway/service/pg_acceptance.h"

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/common/log.h"
#include "gateway/common/refusal.h"
#include "gateway/service/audited_answer.h"

namespace portcullis {
namespace {

// What the one transaction produced, for its callback.
struct Outcome {
  std::shared_ptr<const MessageRecord> stored;
  v1::Receipt receipt;
  uint64_t index = 0;
};

}  // namespace

void PgAcceptance::Record(std::shared_ptr<const v1::Envelope> envelope, v1::Receipt receipt, AuditRecord record,
                          Answered answered) {
  auto outcome = std::make_shared<Outcome>();
  // The op may run more than once (pg_writer.h): it derives everything from
  // its arguments and the head row, and overwrites `outcome` each time.
  // The record goes into the op; a copy stays for a BACKLOG_FULL refusal,
  // audited as the pipeline audits any refusal (acceptance.cc AnswerRefusal).
  auto refused_record = std::make_shared<AuditRecord>(record);
  auto op = [this, envelope, receipt = std::move(receipt), record = std::move(record),
             outcome](pg::Tx& tx) -> absl::Status {
    auto head = tx.head();
    if (!head.ok()) return head.status();
    const uint64_t index = (*head)->audit_size;
    v1::Receipt r = receipt;
    r.set_audit_index(index);
    std::shared_ptr<const MessageRecord> stored;
    if (absl::Status s = store_->InsertAcceptedInTx(tx, *envelope, r, index, &stored); !s.ok()) return s;
    auto appended = audit_->AppendInTx(tx, record);
    if (!appended.ok() && appended.status().code() == absl::StatusCode::kAlreadyExists) {
      // An audit index already used (a corrupt head row), not another
      // gateway's message: only InsertAcceptedInTx's ALREADY_EXISTS means that.
      return absl::InternalError(absl::StrCat("acceptance record: ", appended.status().message()));
    }
    if (!appended.ok()) return appended.status();
    if (*appended != index) {
      return absl::InternalError(absl::StrCat("acceptance record took index ", *appended, ", expected ", index));
    }
    outcome->stored = std::move(stored);
    outcome->receipt = std::move(r);
    outcome->index = index;
    return absl::OkStatus();
  };
  auto done = [this, envelope, outcome, refused_record, answered = std::move(answered)](absl::Status s) {
    store_->FinishAccepted(envelope->sender(), envelope->message_id(), s.ok());
    if (s.ok()) {
      audit_->NoteDurable(outcome->index);
      answered(outcome->receipt);
      delivery_->Dispatch(*outcome->stored);
      return;
    }
    if (s.code() == absl::StatusCode::kResourceExhausted && RefusalOf(s).reason() == "BACKLOG_FULL") {
      // A recipient's backlog is full cluster-wide (InsertAcceptedInTx):
      // nothing was stored and no audit index spent; the refusal is audited
      // in a transaction of its own, then answered.
      MarkRefused(s, refused_record.get());
      AuditThen(audit_, std::move(*refused_record), s, [answered](absl::Status a) { answered(a); });
      return;
    }
    LogLine("storage: accepting '%s' from %s: %s\n", envelope->message_id().c_str(),
                 envelope->sender().c_str(), s.ToString().c_str());
    if (s.code() == absl::StatusCode::kUnknown) {
      answered(OutcomeUnknown());  // The COMMIT's answer was lost: a resubmission tells.
    } else if (s.code() == absl::StatusCode::kAlreadyExists) {
      // Another gateway on the same database recorded this id meanwhile (the
      // messages primary key; any other unique violation is INTERNAL): the
      // retry gets its receipt (or MESSAGE_ID_REUSED).
      answered(ReservationRefusal(ReserveOutcome::kInProgress));
    } else {
      answered(Refuse(absl::StatusCode::kUnavailable, "STORE_UNAVAILABLE", "",
                      "the gateway cannot store the message; nothing was accepted"));
    }
  };
  writer_->Submit(std::move(op), std::move(done));
}

}  // namespace portcullis
