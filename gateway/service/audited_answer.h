// Answering only what is audited, without gRPC: marking a record refused,
// the refusal for a log that cannot record, and appending a call's record
// before its answer is given. Used by the acceptance pipeline (acceptance.h)
// and, through call_audit.h, by every service's edge. Thread-safe, no state.
#ifndef PORTCULLIS_GATEWAY_SERVICE_AUDITED_ANSWER_H_
#define PORTCULLIS_GATEWAY_SERVICE_AUDITED_ANSWER_H_

#include <functional>

#include "absl/status/status.h"
#include "gateway/audit/audit_log.h"

namespace portcullis {

// Sets outcome "refused" and the refusal's reason and field/message as detail
// (only what the caller may see: PublicRefusal).
void MarkRefused(const absl::Status& status, AuditRecord* record);

// UNAVAILABLE with reason AUDIT_UNAVAILABLE: the audit log cannot record, so
// the gateway does nothing and answers nothing else.
absl::Status AuditUnavailable();

// UNAVAILABLE with reason OUTCOME_UNKNOWN: a submission may or may not have
// been accepted (the store or the database failed at the deciding moment);
// a resubmission of the same message id tells.
absl::Status OutcomeUnknown();

// Appends `record` (which carries the call's request id), then calls
// `answer(status)` once it is durable. If the record cannot be made durable,
// `answer(if_unaudited)` instead (default AuditUnavailable(): nothing was
// done), and the record's summary is written to the gateway's log (stderr)
// under the request id so operators can restore it. `answer` runs on the
// log's writer thread, exactly once.
void AuditThen(AuditLog* audit, AuditRecord record, absl::Status status, std::function<void(absl::Status)> answer,
               absl::Status if_unaudited = AuditUnavailable());

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_AUDITED_ANSWER_H_
