#include "gateway/service/admin_service.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <functional>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"
#include "gateway/policy/envelope_validator.h"
#include "gateway/service/call_audit.h"
#include "gateway/service/authenticate.h"
#include "gateway/service/message_views.h"  // Clip, kMaxOfficer.

namespace portcullis {
namespace {

using google::protobuf::util::TimeUtil;

constexpr size_t kMaxReason = 1024;

absl::Status RequireText(const std::string& value, const char* field, size_t max, const char* why) {
  if (value.empty()) return Refuse(absl::StatusCode::kInvalidArgument, "FIELD_REQUIRED", field, why);
  if (value.size() > max) {
    return Refuse(absl::StatusCode::kInvalidArgument, "FIELD_TOO_LONG", field, absl::StrCat("at most ", max, " bytes"));
  }
  return absl::OkStatus();
}

void DescribeDelivery(const DeliveryRow& row, AuditRecord* record) {
  record->message_id = row.message_id;
  record->sender = row.sender;
  record->case_reference = row.case_reference;
  record->recipients = {row.recipient};
}

// Appends `record`; once it is durable runs `then` (if any) and finishes the
// call with `status`. Not durable: UNAVAILABLE (AUDIT_UNAVAILABLE), `then`
// not run.
void FinishOnceAudited(AuditLog* audit, AuditRecord record, grpc::ServerUnaryReactor* reactor, absl::Status status,
                       std::function<void()> then) {
  // AuditThen: a record that cannot be made durable is answered AUDIT_UNAVAILABLE and its summary logged.
  AuditThen(audit, std::move(record), status, [reactor, then = std::move(then)](absl::Status answer) {
    if (answer.ok() && then) then();  // `then` is set only for an OK status; it runs once the record is durable.
    reactor->Finish(ToGrpcStatus(answer));
  });
}

}  // namespace

void ToDeadLetter(const DeliveryRow& row, v1::DeadLetter* out) {
  out->set_delivery_id(row.delivery_id);
  out->set_seq(row.seq);
  out->set_sender(row.sender);
  out->set_message_id(row.message_id);
  out->set_recipient(row.recipient);
  out->set_case_reference(row.case_reference);
  out->set_state(row.state);
  out->set_attempts(row.attempts);
  // The dispatcher keeps the latest delivery error in `reason` (what Track
  // shows); a cancel replaces it with the operator's reason, after the store
  // has copied it to `last_error`.
  const bool cancelled = row.state == v1::CANCELLED;
  out->set_last_error(cancelled || row.reason.empty() ? row.last_error : row.reason);
  out->set_officer(row.officer);
  out->set_officer_verified(row.officer_verified);
  if (cancelled) out->set_reason(row.reason);
  if (row.updated_micros > 0) *out->mutable_updated_at() = TimeUtil::MicrosecondsToTimestamp(row.updated_micros);
  if (row.expires_micros > 0) *out->mutable_expires_at() = TimeUtil::MicrosecondsToTimestamp(row.expires_micros);
}

AdminService::AdminService(std::shared_ptr<const Config> config, MessageStore* store, AuditLog* audit,
                           Dispatcher* dispatcher, const OfficerIdentity* officers, const ClusterView* cluster)
    : config_(std::move(config)),
      store_(store),
      audit_(audit),
      dispatcher_(dispatcher),
      officers_(officers),
      no_cluster_(cluster == nullptr ? NoClusterView() : nullptr),
      cluster_(cluster == nullptr ? no_cluster_.get() : cluster) {}

grpc::ServerUnaryReactor* AdminService::ListDeadLetters(grpc::CallbackServerContext* context,
                                                        const v1::ListDeadLettersRequest* request,
                                                        v1::ListDeadLettersResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  AuditRecord record = CallRecord("dead_letter_list", *context);
  record.justification = request->reason();
  record.actor_officer = Clip(request->officer(), kMaxOfficer);
  if (!request->destination().empty()) record.recipients = {request->destination()};
  absl::StatusOr<Caller> caller = IdentifyCallerAs(*context, *config_, officers_, PartyKind::kOperator, &record);
  absl::Status status = caller.status();
  // Optional; the verified officer's if the caller's assertion vouches for one.
  if (status.ok()) status = ActingOfficer(*caller, request->officer(), "officer", &record).status();
  int64_t after_seq = 0;
  if (status.ok()) {
    status = RequireText(request->reason(), "reason", kMaxReason,
                         "state why you list dead letters; the reason is recorded with your identity");
  }
  // Optional; when given, the officer rules of every RPC (envelope_validator.h).
  if (status.ok()) status = CheckOfficerId(request->officer(), "officer", false);
  if (status.ok()) status = CheckStatement(request->reason(), "reason", true, kMaxReason);
  if (status.ok() && !request->page_token().empty() &&
      (!absl::SimpleAtoi(request->page_token(), &after_seq) || after_seq < 0)) {
    status = Refuse(absl::StatusCode::kInvalidArgument, "FIELD_INVALID", "page_token",
                    "not a token from a previous response");
  }
  if (status.ok() && !request->destination().empty() && config_->FindParty(request->destination()) == nullptr) {
    status = Refuse(absl::StatusCode::kInvalidArgument, "UNKNOWN_DESTINATION", "destination",
                    absl::StrCat("'", request->destination(), "' is not a party of this exchange"));
  }
  if (status.ok()) {
    const uint32_t page = request->page_size() == 0 ? kDefaultPage : std::min(request->page_size(), kMaxPage);
    auto rows = store_->DeadLetters(request->destination(), after_seq, page);
    if (!rows.ok()) {
      status = rows.status();
    } else {
      for (const DeliveryRow& row : *rows) ToDeadLetter(row, response->add_dead_letters());
      if (rows->size() == page) response->set_next_page_token(absl::StrCat(rows->back().seq));
      record.outcome = "ok";
      record.detail = absl::StrCat("destination=", request->destination().empty() ? "*" : request->destination(),
                                   "; ", rows->size(), " dead letter(s) after seq ", after_seq);
    }
  }
  ClearIfRefused(status, response, &record);
  FinishOnceAudited(audit_, std::move(record), reactor, status, nullptr);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::RetryDeadLetter(grpc::CallbackServerContext* context,
                                                        const v1::RetryDeadLetterRequest* request,
                                                        v1::DeadLetter* response) {
  return ActOnDeadLetter(context, "dead_letter_retry", request->delivery_id(), request->reason(), request->officer(),
                         response);
}

grpc::ServerUnaryReactor* AdminService::CancelDeadLetter(grpc::CallbackServerContext* context,
                                                         const v1::CancelDeadLetterRequest* request,
                                                         v1::DeadLetter* response) {
  return ActOnDeadLetter(context, "dead_letter_cancel", request->delivery_id(), request->reason(), request->officer(),
                         response);
}

grpc::ServerUnaryReactor* AdminService::ActOnDeadLetter(grpc::CallbackServerContext* context, const char* action,
                                                        const std::string& delivery_id, const std::string& reason,
                                                        const std::string& officer, v1::DeadLetter* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const bool retry = std::string(action) == "dead_letter_retry";
  AuditRecord record = CallRecord(action, *context);
  record.justification = reason;
  record.actor_officer = Clip(officer, kMaxOfficer);
  absl::StatusOr<Caller> caller = IdentifyCallerAs(*context, *config_, officers_, PartyKind::kOperator, &record);
  absl::Status status = caller.status();
  // Required: the verified officer's if the caller's assertion vouches for one.
  std::string acting = officer;
  if (status.ok()) {
    absl::StatusOr<std::string> a = ActingOfficer(*caller, officer, "officer", &record);
    status = a.status();
    if (a.ok()) acting = *std::move(a);
  }
  if (status.ok()) status = RequireText(delivery_id, "delivery_id", 64, "name the dead letter (its delivery_id)");
  if (status.ok()) {
    status = RequireText(reason, "reason", kMaxReason,
                         retry ? "state why the dead letter is sent again; the reason is recorded"
                               : "state why the dead letter is cancelled; the reason is recorded");
  }
  if (status.ok()) {
    status = RequireText(acting, "officer", kMaxOfficer, "name the officer who decided it; it is recorded");
  }
  // The officer rules of every RPC, and no blank reason (envelope_validator.h).
  if (status.ok()) status = CheckOfficerId(acting, "officer", true);
  if (status.ok()) status = CheckStatement(reason, "reason", true, kMaxReason);
  // What it was, for the record (also when the change is refused).
  std::string was;
  if (status.ok()) {
    if (auto before = store_->GetDelivery(delivery_id); before.ok()) {
      DescribeDelivery(*before, &record);
      was = v1::DeliveryState_Name(before->state);
    }
  }
  std::function<void()> then;
  if (status.ok()) {
    absl::StatusOr<DeliveryRow> after =
        retry ? store_->RetryDeadLetter(delivery_id, config_->delivery.max_age_ms * 1000,
                                        OfficerOnRecord(acting, record.officer_verified))
              : store_->CancelDeadLetter(delivery_id, OfficerOnRecord(acting, record.officer_verified), reason);
    if (!after.ok()) {
      status = after.status();
    } else {
      ToDeadLetter(*after, response);
      record.outcome = "ok";
      record.detail = absl::StrCat("delivery ", delivery_id, ": ", was, " -> ", v1::DeliveryState_Name(after->state),
                                   " after ", after->attempts, " attempt(s); last error: ", response->last_error());
      if (retry) {
        Dispatcher* dispatcher = dispatcher_;
        then = [dispatcher, row = *after] { dispatcher->Redeliver(row); };
      }
    }
  }
  ClearIfRefused(status, response, &record);
  FinishOnceAudited(audit_, std::move(record), reactor, status, std::move(then));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::GetDeliveryStats(grpc::CallbackServerContext* context,
                                                         const v1::GetDeliveryStatsRequest*,
                                                         v1::DeliveryStats* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  AuditRecord record = CallRecord("delivery_stats", *context);
  absl::Status status = IdentifyCallerAs(*context, *config_, officers_, PartyKind::kOperator, &record).status();
  if (status.ok()) {
    auto counts = store_->CountDeliveries({v1::FAILED, v1::EXPIRED, v1::CANCELLED});
    // On PostgreSQL the backlog is the database's (cluster-wide); on SQLite
    // this process counts it (gateway/delivery/backlog.h).
    const Backlog& backlog = *dispatcher_->backlog();
    absl::StatusOr<std::map<std::string, BacklogCount>> backlogs = std::map<std::string, BacklogCount>{};
    if (!backlog.counting()) backlogs = store_->BacklogCounts();
    auto holders = cluster_->LeaseHolders();
    auto replicas = cluster_->Replicas();
    if (!counts.ok() || !backlogs.ok() || !holders.ok() || !replicas.ok()) {
      status = !counts.ok() ? counts.status() : !backlogs.ok() ? backlogs.status()
               : !holders.ok() ? holders.status() : replicas.status();
    } else {
      std::map<std::pair<std::string, v1::DeliveryState>, uint64_t> in_store;
      for (const DeliveryCount& c : *counts) in_store[{c.recipient, c.state}] = c.count;
      const std::map<std::string, DestinationCounters> counters = dispatcher_->metrics()->Snapshot();
      *response->mutable_taken_at() = TimeUtil::MicrosecondsToTimestamp(NowMicros());
      for (const Party& p : config_->parties) {
        if (p.delivery.mode == DeliveryMode::kNone) continue;
        v1::DestinationStats* d = response->add_destinations();
        const bool push = p.delivery.mode == DeliveryMode::kPush;
        d->set_destination(p.id);
        d->set_mode(push ? "push" : "pull");
        if (backlog.counting()) {
          d->set_backlog_messages(backlog.messages(p.id));
          d->set_backlog_bytes(backlog.bytes(p.id));
        } else if (auto b = backlogs->find(p.id); b != backlogs->end()) {
          d->set_backlog_messages(b->second.messages);
          d->set_backlog_bytes(b->second.bytes);
        }
        if (push) {
          d->set_in_flight(static_cast<uint32_t>(dispatcher_->pushes_in_flight(p.id)));
          d->set_breaker(dispatcher_->breakers().StateOf(p.id));
          if (auto h = holders->find(p.id); h != holders->end()) d->set_lease_holder(h->second);
        }
        if (auto it = counters.find(p.id); it != counters.end()) {
          const DestinationCounters& c = it->second;
          d->set_attempts(c.attempts);
          d->set_failures(c.failures);
          d->set_retries_scheduled(c.retries_scheduled);
          d->set_delivered(c.delivered);
          d->set_dead_lettered(c.dead_lettered);
          d->set_expired(c.expired);
        }
        d->set_dead_letters_failed(in_store[{p.id, v1::FAILED}]);
        d->set_dead_letters_expired(in_store[{p.id, v1::EXPIRED}]);
        d->set_cancelled(in_store[{p.id, v1::CANCELLED}]);
      }
      response->set_replica_id(config_->cluster.replica_id);
      for (const ReplicaRow& r : *replicas) {
        v1::ReplicaStatus* out = response->add_replicas();
        out->set_replica_id(r.replica_id);
        out->set_seconds_since_heartbeat(static_cast<double>(r.heartbeat_age_millis) / 1000.0);
        out->set_info(r.info);
      }
      record.outcome = "ok";
      record.detail = absl::StrCat(response->destinations_size(), " destination(s)");
    }
  }
  ClearIfRefused(status, response, &record);
  FinishOnceAudited(audit_, std::move(record), reactor, status, nullptr);
  return reactor;
}

}  // namespace portcullis
