#include "gateway/service/call_audit.h"

#include <google/protobuf/message.h>

#include "gateway/common/refusal.h"

namespace portcullis {

// The record every call starts from: action, time and the caller's address.
AuditRecord CallRecord(const char* action, const grpc::CallbackServerContext& context) {
  AuditRecord record;
  record.time_micros = NowMicros();
  record.action = action;
  record.peer = context.peer();
  return record;
}

void ClearIfRefused(const absl::Status& status, google::protobuf::Message* response, AuditRecord* record) {
  if (status.ok()) return;
  response->Clear();
  MarkRefused(status, record);
}

// Appends `record`, then finishes the call with `status` once it is durable.
// If the record cannot be made durable the call fails with UNAVAILABLE,
// whatever it would otherwise have answered: nothing is disclosed, not even a
// refusal's reason, without its record.
void AuditThenFinish(AuditLog* audit, AuditRecord record, grpc::ServerUnaryReactor* reactor, absl::Status status) {
  // A generic refusal's incident id is the record's request id.
  if (record.request_id.empty()) record.request_id = NewRequestId();
  std::string id = record.request_id;
  audit->Append(std::move(record), [reactor, status, id = std::move(id)](absl::StatusOr<uint64_t> index) {
    if (!index.ok()) {
      reactor->Finish(ToGrpcStatus(AuditUnavailable()));
      return;
    }
    reactor->Finish(ToGrpcStatus(status, id));
  });
}

void AuditThenFinish(AuditLog* audit, AuditRecord record, UnaryCall* call, absl::Status status,
                     absl::Status if_unaudited) {
  record.request_id = call->request_id();
  AuditThen(audit, std::move(record), std::move(status), [call](const absl::Status& s) { call->Finish(s); },
            std::move(if_unaudited));
}

}  // namespace portcullis
