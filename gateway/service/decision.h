// A recipient's decision on a message (Exchange.Acknowledge: ACCEPT or
// REJECT), without gRPC (docs/delivery.md, "Decisions"). The service edge
// authenticates, calls Decide and audits its record before answering.
//
// Rules: only a recipient decides (the sender is refused NOT_A_RECIPIENT, any
// other party gets MESSAGE_NOT_FOUND, as if the message did not exist); a
// decision is final: the same decision again (same officer and reason) is a
// `duplicate` that changes nothing, any other ALREADY_DECIDED. A decision that
// took effect cannot be undone, so if its record cannot be written the answer
// is DECISION_NOT_AUDITED, never "nothing was done". Thread-safe.
#ifndef PORTCULLIS_GATEWAY_SERVICE_DECISION_H_
#define PORTCULLIS_GATEWAY_SERVICE_DECISION_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/audit/audit_record.h"
#include "gateway/config/config.h"
#include "gateway/service/acceptance.h"
#include "gateway/service/caller.h"
#include "gateway/store/message_store.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis {

struct Decision {
  absl::Status status;            // OK (decided, or the same decision again), or the refusal.
  AuditRecord record;             // The call's record, its outcome set.
  v1::RecipientStatus recipient;  // The caller's delivery state after the call, when OK.
  // The answer if `record` cannot be made durable: DECISION_NOT_AUDITED once
  // the decision took effect, AUDIT_UNAVAILABLE (nothing done) otherwise.
  absl::Status if_unaudited;
};

// Decides `request` for `caller` (or records the caller's refusal). `record`
// is the call's record so far (action, time, peer). A decision taken before
// the delivery left ACCEPTED gives back its backlog room through `delivery`.
Decision Decide(MessageStore& store, DeliveryHandoff& delivery, const absl::StatusOr<Caller>& caller,
                const v1::AcknowledgeRequest& request, AuditRecord record);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_DECISION_H_
