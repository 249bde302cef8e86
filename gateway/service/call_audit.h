// Auditing one gRPC call: the record every call starts from, and finishing
// the call only once its record is durable. Shared by the Exchange, Audit and
// Admin services; the gRPC-free part (MarkRefused, AuditUnavailable,
// AuditThen) is audited_answer.h. Thread-safe, no state.
#ifndef PORTCULLIS_GATEWAY_SERVICE_CALL_AUDIT_H_
#define PORTCULLIS_GATEWAY_SERVICE_CALL_AUDIT_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "gateway/audit/audit_log.h"
#include "gateway/service/audited_answer.h"
#include "gateway/service/unary_call.h"

namespace portcullis {

// Action, time and the caller's network address.
AuditRecord CallRecord(const char* action, const grpc::CallbackServerContext& context);

// A refusal (`status` not OK) clears `response` and marks `record` refused
// (MarkRefused); OK leaves both as they are.
void ClearIfRefused(const absl::Status& status, google::protobuf::Message* response, AuditRecord* record);

// Appends `record`, then finishes the call with `status` once it is durable.
// If the record cannot be made durable the call fails with AuditUnavailable()
// instead, whatever it would have answered: nothing unaudited is disclosed.
void AuditThenFinish(AuditLog* audit, AuditRecord record, grpc::ServerUnaryReactor* reactor, absl::Status status);
// The same for a raw call; the record carries the call's request id. If the
// record cannot be made durable the call fails with `if_unaudited` (default
// AuditUnavailable(): nothing was done), and the record is written to the
// gateway's log (stderr) so operators can restore it (AuditThen).
void AuditThenFinish(AuditLog* audit, AuditRecord record, UnaryCall* call, absl::Status status,
                     absl::Status if_unaudited = AuditUnavailable());

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_CALL_AUDIT_H_
