#include "gateway/service/audit_service.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/audit/log_format.h"
#include "gateway/audit/record_filter.h"
#include "gateway/common/log.h"
#include "gateway/common/refusal.h"
#include "gateway/policy/envelope_validator.h"
#include "gateway/service/call_audit.h"
#include "gateway/service/authenticate.h"

namespace portcullis {
namespace {

using google::protobuf::util::TimeUtil;

constexpr uint32_t kDefaultPage = 100;
constexpr uint32_t kMaxPage = 1000;

// A record line that exists but is not a record: the log is damaged. The
// parse error goes to the gateway's log; the auditor is told which record.
absl::Status Unreadable(uint64_t index, const absl::Status& parse_error) {
  LogLine("audit record %llu is unreadable: %s\n", static_cast<unsigned long long>(index),
               std::string(parse_error.message()).c_str());
  return Refuse(absl::StatusCode::kDataLoss, "RECORD_UNREADABLE", "index",
                absl::StrCat("record ", index, " of the log cannot be read as a record: the log is damaged; "
                             "the operators must check it (portcullis-audit verify)"));
}

// A failure reading the log: the caller gets a generic refusal with an
// incident id (ToGrpcStatus), the gateway's log gets this text.
absl::Status ReadFailure(const absl::Status& read) {
  return absl::Status(read.code(), absl::StrCat("audit log read: ", read.message()));
}

RecordFilter FromProto(const v1::AuditFilter& f) {
  RecordFilter out;
  out.message_id = f.message_id();
  out.case_reference = f.case_reference();
  out.party = f.party();
  out.officer = f.officer();
  out.action = f.action();
  out.outcome = f.outcome();
  if (f.has_from()) out.from_micros = TimeUtil::TimestampToMicroseconds(f.from());
  if (f.has_to()) out.to_micros = TimeUtil::TimestampToMicroseconds(f.to());
  return out;
}

void ToEntry(const AuditRecord& r, int version, const std::string& line, v1::AuditEntry* e) {
  e->set_index(r.index);
  *e->mutable_time() = TimeUtil::MicrosecondsToTimestamp(r.time_micros);
  e->set_action(r.action);
  e->set_actor_party(r.actor_party);
  e->set_actor_officer(r.actor_officer);
  e->set_message_id(r.message_id);
  e->set_case_reference(r.case_reference);
  e->set_sender(r.sender);
  for (const auto& p : r.recipients) e->add_recipients(p);
  e->set_classification(r.classification);
  e->set_handling(r.handling);
  e->set_justification(r.justification);
  e->set_outcome(r.outcome);
  e->set_reason(r.reason);
  e->set_detail(r.detail);
  e->set_payload_sha256(r.payload_sha256);
  e->set_peer(r.peer);
  e->set_line(line);
  e->set_format_version(static_cast<uint32_t>(version));
  e->set_correlation_id(r.correlation_id);
  e->set_officer_verified(r.officer_verified);
  e->set_request_id(r.request_id);
  e->set_replica_id(r.replica_id);
  e->set_count(r.count);
  e->set_range_first(r.range_first);
  e->set_range_last(r.range_last);
}

}  // namespace

void ToProto(const Checkpoint& c, v1::SignedCheckpoint* out) {
  out->set_tree_size(c.size);
  out->set_root_hash(c.root);
  *out->mutable_time() = TimeUtil::MicrosecondsToTimestamp(c.time_micros);
  out->set_key_id(c.key_id);
  out->set_signature(c.signature);
  out->set_signed_text(CheckpointSignedText(c));
}

AuditService::AuditService(std::shared_ptr<const Config> config, AuditLog* audit, const OfficerIdentity* officers)
    : config_(std::move(config)), audit_(audit), officers_(officers) {}

grpc::ServerUnaryReactor* AuditService::Query(grpc::CallbackServerContext* context,
                                              const v1::AuditQueryRequest* request,
                                              v1::AuditQueryResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  AuditRecord record = CallRecord("audit_query", *context);
  record.justification = request->reason();
  record.message_id = request->filter().message_id();
  record.case_reference = request->filter().case_reference();
  absl::Status status = IdentifyCallerAs(*context, *config_, officers_, PartyKind::kAuditor, &record).status();
  uint64_t begin = 0;
  if (status.ok() && request->reason().empty()) {
    status = Refuse(absl::StatusCode::kInvalidArgument, "FIELD_REQUIRED", "reason",
                    "state why you query the log; the reason is recorded with your identity");
  } else if (absl::Status reason = CheckStatement(request->reason(), "reason", true, 1024);
             status.ok() && !reason.ok()) {
    status = reason;  // Blank, too long, or a control character (the rules of every stated reason).
  } else if (absl::Status officer = CheckOfficerId(request->filter().officer(), "filter.officer", false);
             status.ok() && !officer.ok()) {
    status = officer;
  } else if (status.ok() && !request->page_token().empty() && !absl::SimpleAtoi(request->page_token(), &begin)) {
    status = Refuse(absl::StatusCode::kInvalidArgument, "FIELD_INVALID", "page_token",
                    "not a token from a previous response");
  }
  if (status.ok()) {
    const uint32_t page = request->page_size() == 0 ? kDefaultPage : std::min(request->page_size(), kMaxPage);
    const uint64_t size = audit_->size();
    const uint64_t scan_end = std::min(size, begin + kMaxScan);
    const RecordFilter filter = FromProto(request->filter());
    const std::string needle = filter.Prefilter();
    response->set_log_size(size);
    uint64_t next = begin;
    while (next < scan_end && static_cast<uint32_t>(response->entries_size()) < page && status.ok()) {
      auto lines = audit_->ReadLines(next, std::min<uint64_t>(4096, scan_end - next));
      if (!lines.ok()) {
        status = ReadFailure(lines.status());
        break;
      }
      for (const std::string& line : *lines) {
        const uint64_t index = next++;
        if (!needle.empty() && line.find(needle) == std::string::npos) continue;
        int version = 0;
        auto r = ParseLine(line, &version);
        if (!r.ok()) {
          status = Unreadable(index, r.status());
          break;
        }
        if (!filter.Matches(*r)) continue;
        ToEntry(*r, version, line, response->add_entries());
        if (static_cast<uint32_t>(response->entries_size()) >= page) break;
      }
    }
    if (next < size) response->set_next_page_token(absl::StrCat(next));
    record.outcome = "ok";
    record.detail = absl::StrCat(filter.Summary(), "; ", response->entries_size(),
                                 " record(s) returned from [", begin, ", ", next, ")");
  }
  ClearIfRefused(status, response, &record);
  AuditThenFinish(audit_, std::move(record), reactor, status);
  return reactor;
}

grpc::ServerUnaryReactor* AuditService::GetCheckpoint(grpc::CallbackServerContext* context,
                                                      const v1::GetCheckpointRequest*,
                                                      v1::SignedCheckpoint* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  AuditRecord record = CallRecord("audit_checkpoint", *context);
  absl::Status status = IdentifyCallerAs(*context, *config_, officers_, PartyKind::kAuditor, &record).status();
  if (status.ok()) {
    // The latest signed checkpoint, signed afresh (at most once a second) if
    // the log has grown since.
    std::optional<Checkpoint> c = CoveringCheckpoint(audit_->size());
    if (!c) {
      status = Refuse(absl::StatusCode::kUnavailable, "NOT_YET_CHECKPOINTED", "",
                      "no checkpoint has been signed yet; retry in a second");
    } else {
      ToProto(*c, response);
      record.outcome = "ok";
      record.detail = absl::StrCat("tree_size=", c->size);
    }
  }
  if (!status.ok()) MarkRefused(status, &record);
  AuditThenFinish(audit_, std::move(record), reactor, status);
  return reactor;
}

// A record a party other than an auditor may prove: one of its own exchange's
// records (submission, delivery, acknowledgement), never one that shows it
// something it was not sent.
//  - submit: the sender, its own submissions (accepted or refused; the record's
//    sender is the caller its certificate identified); a recipient, only an
//    accepted (or duplicate) submission. A refused one was built from the
//    envelope as written, unvalidated: the recipients it names were never sent
//    anything (e.g. a SECRET referral refused RECIPIENT_NOT_CLEARED).
//  - deliver: the message's sender, or the recipient it names as its only one.
//  - acknowledge: a decision that took effect (or a duplicate), for the
//    message's sender or the deciding recipient (the only one named); a
//    refused one only for the recipient that made it on a message it received
//    (an early refusal names no recipient, and its sender is what the caller wrote).
// Consultation records (which carry other parties' addresses) and others'
// refused calls are for auditors.
static bool MayProve(const Party& party, const AuditRecord& r) {
  if (party.kind == PartyKind::kAuditor) return true;
  const std::string& me = party.id;
  const bool only_recipient = r.recipients.size() == 1 && r.recipients[0] == me;
  if (r.action == "submit") {
    if (r.actor_party == me && r.sender == me) return true;
    if (r.outcome != "accepted" && r.outcome != "duplicate") return false;
    return std::find(r.recipients.begin(), r.recipients.end(), me) != r.recipients.end();
  }
  if (r.action == "deliver") return r.sender == me || only_recipient;
  if (r.action == "acknowledge") {
    if (r.outcome == "refused") return r.actor_party == me && only_recipient;
    return r.sender == me || only_recipient;
  }
  return false;
}

std::optional<Checkpoint> AuditService::CoveringCheckpoint(uint64_t min_size) {
  std::optional<Checkpoint> latest = audit_->LatestCheckpoint();
  if (latest && latest->size >= min_size) return latest;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_fresh_checkpoint_ < kFreshCheckpointInterval) return latest;
    last_fresh_checkpoint_ = now;
  }
  absl::StatusOr<Checkpoint> fresh = audit_->CheckpointNow();
  if (fresh.ok()) return *fresh;
  return latest;
}

grpc::ServerUnaryReactor* AuditService::GetInclusionProof(grpc::CallbackServerContext* context,
                                                          const v1::InclusionProofRequest* request,
                                                          v1::InclusionProof* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  AuditRecord record = CallRecord("audit_proof", *context);
  absl::StatusOr<Caller> caller = IdentifyCaller(*context, *config_, officers_, &record);
  absl::Status status = caller.status();
  std::string line;
  if (status.ok()) {
    const Party* party = caller->party;
    const bool auditor = party->kind == PartyKind::kAuditor;
    // One answer to a non-auditor whether the index is beyond the log or not
    // its record: it learns nothing about other parties' records.
    const absl::Status not_yours = Refuse(absl::StatusCode::kPermissionDenied, "NOT_A_PARTICIPANT", "index",
                                          "inclusion proofs are given to auditors, and to the sender and "
                                          "recipients for their message's submission, delivery and "
                                          "acknowledgement records");
    // Read whether or not the index is in the log (beyond it, no line comes
    // back): a failing read then fails alike for any index.
    absl::StatusOr<std::vector<std::string>> lines = audit_->ReadLines(request->index(), 1);
    if (!lines.ok()) {
      status = ReadFailure(lines.status());
    } else if (lines->empty()) {
      status = auditor ? Refuse(absl::StatusCode::kOutOfRange, "INDEX_OUT_OF_RANGE", "index",
                                absl::StrCat("the log holds ", audit_->size(), " records"))
                       : not_yours;
    } else {
      line = (*lines)[0];
      absl::StatusOr<AuditRecord> r = ParseLine(line);
      if (!r.ok()) {
        // Damage is the auditors' business; anyone else learns nothing from it.
        status = auditor ? Unreadable(request->index(), r.status()) : not_yours;
      } else if (!MayProve(*party, *r)) {
        status = not_yours;
      } else {
        record.message_id = r->message_id;
        record.case_reference = r->case_reference;
      }
    }
  }
  uint64_t tree_size = request->tree_size();
  std::optional<Checkpoint> checkpoint;
  if (status.ok() && tree_size == 0) {
    // A fresh receipt is covered by a checkpoint signed on the spot (at most
    // one a second), rather than after the next periodic one.
    checkpoint = CoveringCheckpoint(request->index() + 1);
    tree_size = checkpoint ? checkpoint->size : 0;
    if (tree_size <= request->index()) {
      status = Refuse(absl::StatusCode::kUnavailable, "NOT_YET_CHECKPOINTED", "index",
                      absl::StrCat("record ", request->index(), " is not covered by a signed checkpoint yet; "
                                   "retry in a second"));
    }
  } else if (status.ok() && (tree_size <= request->index() || tree_size > audit_->size())) {
    status = Refuse(absl::StatusCode::kOutOfRange, "FIELD_INVALID", "tree_size",
                    absl::StrCat("must be above index ", request->index(), " and at most the log's ", audit_->size(),
                                 " records"));
  }
  if (status.ok()) {
    auto proof = audit_->InclusionProof(request->index(), tree_size);
    status = proof.ok() ? absl::OkStatus() : ReadFailure(proof.status());
    if (proof.ok()) {
      response->set_index(request->index());
      response->set_tree_size(tree_size);
      response->set_leaf_line(line);
      for (auto& h : *proof) response->add_path(std::move(h));
      if (checkpoint && checkpoint->size == tree_size) ToProto(*checkpoint, response->mutable_checkpoint());
      record.outcome = "ok";
      record.detail = absl::StrCat("index=", request->index(), " tree_size=", tree_size);
    }
  }
  ClearIfRefused(status, response, &record);
  AuditThenFinish(audit_, std::move(record), reactor, status);
  return reactor;
}

grpc::ServerUnaryReactor* AuditService::GetConsistencyProof(grpc::CallbackServerContext* context,
                                                            const v1::ConsistencyProofRequest* request,
                                                            v1::ConsistencyProof* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  AuditRecord record = CallRecord("audit_proof", *context);
  absl::Status status = IdentifyCallerAs(*context, *config_, officers_, PartyKind::kAuditor, &record).status();
  std::optional<Checkpoint> latest = audit_->LatestCheckpoint();
  const uint64_t new_size = request->new_size() != 0 ? request->new_size() : (latest ? latest->size : 0);
  if (status.ok()) {
    if (request->old_size() == 0 || request->old_size() > new_size) {
      status = Refuse(absl::StatusCode::kInvalidArgument, "FIELD_INVALID", "old_size",
                      absl::StrCat("must be between 1 and new_size (", new_size, ")"));
    } else if (new_size > audit_->size()) {
      status = Refuse(absl::StatusCode::kOutOfRange, "FIELD_INVALID", "new_size",
                      absl::StrCat("must be at most the log's ", audit_->size(), " records"));
    } else {
      auto proof = audit_->ConsistencyProof(request->old_size(), new_size);
      status = proof.ok() ? absl::OkStatus() : ReadFailure(proof.status());
      if (proof.ok()) {
        response->set_old_size(request->old_size());
        response->set_new_size(new_size);
        for (auto& h : *proof) response->add_path(std::move(h));
        if (latest && latest->size == new_size) ToProto(*latest, response->mutable_checkpoint());
        record.outcome = "ok";
        record.detail = absl::StrCat("consistency ", request->old_size(), " -> ", new_size);
      }
    }
  }
  ClearIfRefused(status, response, &record);
  AuditThenFinish(audit_, std::move(record), reactor, status);
  return reactor;
}

}  // namespace portcullis
