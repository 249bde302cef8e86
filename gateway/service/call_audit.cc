#include "gateway/service/call_audit.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
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

// Marks `record` as refused with `status`'s reason.
void MarkRefused(const absl::Status& status, AuditRecord* record) {
  // Only what the caller may see: a failure's own words (a path, an SQL
  // error) go to the gateway's log under the call's id, not into the record.
  v1::Refusal refusal = PublicRefusal(status);
  record->outcome = "refused";
  record->reason = refusal.reason();
  record->detail = refusal.field().empty() ? refusal.message() : absl::StrCat(refusal.field(), ": ", refusal.message());
}

absl::Status AuditUnavailable() {
  return Refuse(absl::StatusCode::kUnavailable, "AUDIT_UNAVAILABLE", "",
                "the gateway cannot write its audit log and refuses new work; nothing was done");
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
  std::string what = absl::StrCat(record.action, " by ", record.actor_party, " officer ", record.actor_officer,
                                  " on ", record.sender, "/", record.message_id, ": ", record.outcome);
  audit->Append(std::move(record), [call, status, if_unaudited, what = std::move(what)](absl::StatusOr<uint64_t> index) {
    if (!index.ok()) {
      std::fprintf(stderr, "portcullis: request %s: audit record not written (%s): %s\n", call->request_id().c_str(),
                   index.status().ToString().c_str(), what.c_str());
      call->Finish(if_unaudited);
      return;
    }
    call->Finish(status);
  });
}

}  // namespace portcullis
