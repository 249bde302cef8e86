#include "gateway/service/paired_acceptance.h"

#include <cstdio>
#include <utility>

#include "gateway/common/log.h"
#include "gateway/common/refusal.h"
#include "gateway/service/audited_answer.h"

namespace portcullis {

struct PairedAcceptance::Recording {
  AuditRecord record;
  Answered answered;
};

void PairedAcceptance::Record(std::shared_ptr<const v1::Envelope> envelope, v1::Receipt receipt, AuditRecord record,
                              Answered answered) {
  auto r = std::make_shared<Recording>(Recording{std::move(record), std::move(answered)});
  store_->CommitAsync(std::move(envelope), receipt, audit_->size(),
                      [this, r](absl::StatusOr<std::shared_ptr<const MessageRecord>> committed) {
                        if (!committed.ok()) {
                          LogLine("message store: %s\n",
                                       committed.status().ToString().c_str());
                          r->answered(Refuse(absl::StatusCode::kUnavailable, "STORE_UNAVAILABLE", "",
                                             "the gateway cannot store the message; nothing was accepted"));
                          return;
                        }
                        Audit(r, *std::move(committed));
                      });
}

void PairedAcceptance::Audit(std::shared_ptr<Recording> r, std::shared_ptr<const MessageRecord> message) const {
  AuditRecord record = std::move(r->record);
  audit_->Append(std::move(record), [this, r, message](absl::StatusOr<uint64_t> index) {
    if (!index.ok()) {
      Withdraw(r, *message);
      return;
    }
    PairAndAnswer(r, message, *index);
  });
}

// Not audited, so not accepted: the stored message goes before the caller is
// told nothing was done.
void PairedAcceptance::Withdraw(std::shared_ptr<Recording> r, const MessageRecord& message) const {
  const v1::Envelope& e = message.envelope;
  store_->DiscardAsync(e.sender(), e.message_id(), [r, id = e.message_id()](absl::Status d) {
    if (d.ok()) {
      r->answered(AuditUnavailable());
      return;
    }
    LogLine("message store: cannot discard unaudited '%s': %s\n", id.c_str(),
                 d.ToString().c_str());
    r->answered(OutcomeUnknown());
  });
}

// Stored and audited: accepted. From the MarkAuditedAsync call on a
// resubmission gets this receipt back (the store keeps the index in memory
// until its write is durable; a crash before that is repaired by the start-up
// pairing). Delivery starts once the pairing is durable: destinations do not
// pass a message not yet paired.
void PairedAcceptance::PairAndAnswer(std::shared_ptr<Recording> r, std::shared_ptr<const MessageRecord> message,
                                     uint64_t audit_index) const {
  const v1::Envelope& e = message->envelope;
  store_->MarkAuditedAsync(e.sender(), e.message_id(), audit_index, [this, message, audit_index](absl::Status s) {
    if (!s.ok()) {
      // Audited and stored: written again by the dispatcher's sweeper (and
      // paired from the audit log at a restart).
      LogLine("message store: cannot record the audit index of '%s' (will retry): %s\n",
                   message->envelope.message_id().c_str(), s.ToString().c_str());
      delivery_->RetryPairing(message, audit_index);
      return;
    }
    delivery_->Dispatch(*message);  // The store is flushed before delivery goes (Gateway::Shutdown).
  });
  v1::Receipt receipt = message->receipt;
  receipt.set_audit_index(audit_index);
  r->answered(std::move(receipt));
}

}  // namespace portcullis
