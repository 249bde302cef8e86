// Audit records about one exchange, filled from its envelope: the common
// fields (message, case, sender, recipients, classification, handling codes,
// justification, payload digest). Never copies personal data.
#ifndef PORTCULLIS_GATEWAY_AUDIT_EXCHANGE_RECORD_H_
#define PORTCULLIS_GATEWAY_AUDIT_EXCHANGE_RECORD_H_

#include <string>

#include "gateway/audit/audit_record.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis {

AuditRecord ExchangeAuditRecord(std::string action, const v1::Envelope& envelope,
                                const std::string& envelope_sha256);

// "uk=1/A/P eu=B/2/H0,H3" style summary of the handling codes.
std::string HandlingSummary(const v1::Envelope& envelope);

// "legal basis | purpose".
std::string JustificationSummary(const v1::Justification& justification);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_AUDIT_EXCHANGE_RECORD_H_
