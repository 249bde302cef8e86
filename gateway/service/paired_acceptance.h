// The AcceptanceRecorder for a message store and an audit log that commit
// separately (SQLite + file log; acceptance_recorder.h): the message first
// (durable), then its acceptance record (durable), then the receipt, and the
// pairing of the two written after. A crash between them is repaired at
// start-up (recovery.h), and no acceptance is audited for a message not kept.
#ifndef PORTCULLIS_GATEWAY_SERVICE_PAIRED_ACCEPTANCE_H_
#define PORTCULLIS_GATEWAY_SERVICE_PAIRED_ACCEPTANCE_H_

#include <memory>

#include "gateway/audit/audit_log.h"
#include "gateway/service/acceptance.h"
#include "gateway/service/acceptance_recorder.h"
#include "gateway/store/message_store.h"

namespace portcullis {

class PairedAcceptance final : public AcceptanceRecorder {
 public:
  // Pointers must outlive this and every recording in flight.
  PairedAcceptance(MessageStore* store, AuditLog* audit, DeliveryHandoff* delivery)
      : store_(store), audit_(audit), delivery_(delivery) {}
  void Record(std::shared_ptr<const v1::Envelope> envelope, v1::Receipt receipt, AuditRecord record,
              Answered answered) override;

 private:
  struct Recording;
  void Audit(std::shared_ptr<Recording> r, std::shared_ptr<const MessageRecord> message) const;
  void Withdraw(std::shared_ptr<Recording> r, const MessageRecord& message) const;
  void PairAndAnswer(std::shared_ptr<Recording> r, std::shared_ptr<const MessageRecord> message,
                     uint64_t audit_index) const;

  MessageStore* store_;
  AuditLog* audit_;
  DeliveryHandoff* delivery_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_PAIRED_ACCEPTANCE_H_
