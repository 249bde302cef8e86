#include "gateway/service/exchange_service.h"

#include <google/protobuf/util/time_util.h>

#include <cstdio>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gateway/audit/exchange_record.h"
#include "gateway/common/digest.h"
#include "gateway/common/log.h"
#include "gateway/common/refusal.h"
#include "gateway/policy/envelope_validator.h"
#include "gateway/policy/route_policy.h"
#include "gateway/service/call_audit.h"
#include "gateway/service/decision.h"
#include "gateway/service/message_views.h"
#include "gateway/service/peer_trust.h"

namespace portcullis {
namespace {

using google::protobuf::util::TimeUtil;

// Limits of what a consultation (Track, ListCase) names (and kMaxOfficer,
// kMaxJustification: message_views.h).
constexpr size_t kMaxCaseReference = 128;
// ListCase page sizes.
constexpr uint32_t kDefaultCasePage = 100;
constexpr uint32_t kMaxCasePage = 1000;

absl::Status TooLong(const char* field, size_t size, size_t max) {
  return Refuse(absl::StatusCode::kInvalidArgument, "FIELD_TOO_LONG", field,
                absl::StrCat("is ", size, " bytes; at most ", max));
}

// ListCase page tokens: web-safe base64 of "lc1:<position>:<case digest>".
// Opaque to clients; the digest (of the case reference) makes a token of
// another case a refusal rather than a silent jump.
std::string CaseDigest(const std::string& case_reference) { return Sha256Hex(case_reference).substr(0, 16); }

std::string CasePageToken(const std::string& case_reference, int64_t position) {
  return absl::WebSafeBase64Escape(absl::StrCat("lc1:", position, ":", CaseDigest(case_reference)));
}

absl::StatusOr<int64_t> ParseCasePageToken(const std::string& case_reference, const std::string& token) {
  if (token.empty()) return 0;
  const absl::Status bad = Refuse(absl::StatusCode::kInvalidArgument, "BAD_PAGE_TOKEN", "page_token",
                                  "not a next_page_token of a previous ListCase of this case");
  std::string decoded;
  if (token.size() > 256 || !absl::WebSafeBase64Unescape(token, &decoded)) return bad;
  std::vector<absl::string_view> parts = absl::StrSplit(decoded, ':');
  int64_t position = 0;
  if (parts.size() != 3 || parts[0] != "lc1" || !absl::SimpleAtoi(parts[1], &position) || position < 0 ||
      parts[2] != CaseDigest(case_reference)) {
    return bad;
  }
  return position;
}

class RefusedStream final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

ExchangeService::ExchangeService(std::shared_ptr<const Config> config, MessageStore* store, AuditLog* audit,
                                 Dispatcher* dispatcher, const OfficerIdentity* officers,
                                 AcceptanceRecorder* recorder)
    : config_(std::move(config)), store_(store), audit_(audit), dispatcher_(dispatcher), handoff_(dispatcher),
      acceptance_(config_, store, audit, &handoff_, NowMicros, recorder), officers_(officers) {}

// The wire side of Submit: who calls (the peer certificate), then the
// acceptance pipeline (acceptance.h), whose answer ends the call.
void ExchangeService::HandleSubmit(grpc::CallbackServerContext* context, const v1::SubmitRequest* request,
                                   v1::Receipt* receipt, UnaryCall* call) {
  if (!audit_->Health().ok()) {  // As every handler: nothing is done (no certificate re-check) when nothing can be recorded.
    call->Finish(AuditUnavailable());
    return;
  }
  AuditRecord who;  // Only who calls; the pipeline makes the call's record.
  absl::StatusOr<Caller> caller = IdentifyCaller(*context, *config_, officers_, &who);
  Submission submission{caller.ok() ? absl::StatusOr<const Party*>(caller->party)
                                    : absl::StatusOr<const Party*>(caller.status()),
                        context->peer(), call->request_id(), std::nullopt, who.actor_party};
  if (caller.ok() && caller->officer.has_value()) submission.verified_officer = caller->officer->officer;
  acceptance_.Submit(submission, *request, [call, receipt](absl::StatusOr<v1::Receipt> answer) {
    if (answer.ok()) *receipt = *std::move(answer);
    call->Finish(answer.status());
  });
}

void ExchangeService::HandleTrack(grpc::CallbackServerContext* context, const v1::TrackRequest* request,
                                  v1::TrackResponse* response, UnaryCall* reactor) {
  if (!audit_->Health().ok()) {
    reactor->Finish(AuditUnavailable());
    return;
  }
  AuditRecord record = CallRecord("track", *context);
  record.message_id = request->message_id();
  absl::StatusOr<Caller> caller = IdentifyCaller(*context, *config_, officers_, &record);
  absl::Status status = caller.status();
  // Optional (the verified officer's if the assertion vouches for one), but
  // checked when given (same rules as everywhere else).
  if (status.ok()) status = ActingOfficer(*caller, request->officer(), "officer", &record).status();
  if (status.ok()) status = CheckOfficerId(request->officer(), "officer", false);
  if (status.ok()) status = CheckStatement(request->justification(), "justification", false, kMaxJustification);
  const std::string acting_officer = record.actor_officer;  // Who consults, as recorded (also if refused).
  const bool officer_verified = record.officer_verified;
  if (status.ok()) {
    const std::string sender = request->sender().empty() ? caller->party->id : request->sender();
    record.sender = sender;
    // Not a participant: the same answer, and the same record (what the
    // caller asked, nothing of the message), as for no such message.
    auto message = VisibleMessage(store_->Get(sender, request->message_id()), caller->party->id);
    status = message.status();
    if (message.ok()) {
      const MessageRecord& m = **message;
      const bool is_sender = m.envelope.sender() == caller->party->id;
      record = [&] {
        AuditRecord r = ExchangeAuditRecord("track", m.envelope, m.receipt.envelope_sha256());
        r.actor_party = caller->party->id;
        r.peer = context->peer();
        if (!is_sender) r.recipients = {caller->party->id};  // A recipient's record names only itself.
        return r;
      }();
      {
        response->set_message_id(m.envelope.message_id());
        response->set_sender(m.envelope.sender());
        response->set_case_reference(m.envelope.case_reference());
        response->set_originating_officer(m.envelope.originating_officer());
        response->set_originating_officer_verified(m.receipt.originating_officer_verified());
        if (m.envelope.has_request_for_information()) {
          *response->mutable_answer_by() = m.envelope.request_for_information().answer_by();
        }
        *response->mutable_accepted_at() = m.receipt.accepted_at();
        // The sender sees every recipient; a recipient only its own entry
        // (as ListCase shows it).
        for (const RecipientRecord& r : m.recipients) {
          if (is_sender || r.party == caller->party->id) FillStatus(r, response->add_recipients());
        }
      }
    }
  }
  // The consultation's who and why (DPA 2018 s.62), when the caller gives
  // them: they replace the envelope's justification in this record.
  record.actor_officer = acting_officer;
  record.officer_verified = officer_verified;
  if (!request->justification().empty()) record.justification = Clip(request->justification(), kMaxJustification);
  if (status.ok()) {
    record.outcome = "ok";
  } else {
    MarkRefused(status, &record);
  }
  AuditThenFinish(audit_, std::move(record), reactor, status);
}

// The decision is decision.h's; the edge authenticates and audits it.
void ExchangeService::HandleAcknowledge(grpc::CallbackServerContext* context,
                                        const v1::AcknowledgeRequest* request, v1::AcknowledgeResponse* response,
                                        UnaryCall* reactor) {
  if (!audit_->Health().ok()) {
    reactor->Finish(AuditUnavailable());
    return;
  }
  AuditRecord record = CallRecord("acknowledge", *context);
  absl::StatusOr<Caller> caller = IdentifyCaller(*context, *config_, officers_, &record);
  Decision decision = Decide(*store_, handoff_, caller, *request, std::move(record));
  if (decision.status.ok()) *response->mutable_status() = decision.recipient;
  AuditThenFinish(audit_, std::move(decision.record), reactor, decision.status, decision.if_unaudited);
}

// A pull-mode caller, or the refusal for any other.
absl::StatusOr<const Party*> ExchangeService::PullParty(grpc::CallbackServerContext& context, AuditRecord* record) {
  absl::StatusOr<const Party*> party = AuthenticatePeer(context, *config_);
  if (!party.ok()) return party.status();
  record->actor_party = (*party)->id;
  if ((*party)->delivery.mode != DeliveryMode::kPull) {
    return Refuse(absl::StatusCode::kFailedPrecondition, "NOT_PULL_MODE", "",
                  absl::StrCat("'", (*party)->id, "' receives by push, not by a Receive stream"));
  }
  return *party;
}

// Pull mode: delivery `id` and every earlier one the party was sent are
// confirmed; a refusal names `field`.
absl::StatusOr<size_t> ExchangeService::ConfirmThrough(const Party& party, const std::string& id,
                                                       const char* field) {
  if (id.size() > 128) return Refuse(absl::StatusCode::kInvalidArgument, "FIELD_TOO_LONG", field, "is too long");
  auto confirmed = dispatcher_->ConfirmPulled(party.id, id);
  if (confirmed.status().code() == absl::StatusCode::kNotFound) {
    // Another party's delivery id gets exactly this answer too: its
    // existence is not disclosed.
    return Refuse(absl::StatusCode::kNotFound, "DELIVERY_NOT_FOUND", field,
                  "no such delivery among those sent to you");
  }
  return confirmed;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* ExchangeService::HandleReceive(grpc::CallbackServerContext* context,
                                                                            const v1::ReceiveRequest* request) {
  if (!audit_->Health().ok()) return new RefusedStream(ToGrpcStatus(AuditUnavailable()));
  AuditRecord record = CallRecord("receive", *context);
  record.request_id = NewRequestId();
  const std::string record_request_id = record.request_id;
  context->AddInitialMetadata(kRequestIdMetadata, record_request_id);
  absl::StatusOr<const Party*> party = PullParty(*context, &record);
  absl::Status status = party.status();
  if (status.ok() && request->max_unconfirmed() > PullStreams::kMaxMaxUnconfirmed) {
    status = Refuse(absl::StatusCode::kInvalidArgument, "FIELD_OUT_OF_RANGE", "max_unconfirmed",
                    absl::StrCat("must be at most ", PullStreams::kMaxMaxUnconfirmed));
  }
  size_t confirmed = 0;
  if (status.ok() && !request->resume_after_delivery_id().empty()) {
    auto c = ConfirmThrough(**party, request->resume_after_delivery_id(), "resume_after_delivery_id");
    status = c.status();
    if (c.ok()) confirmed = *c;
  }
  if (!status.ok()) {
    MarkRefused(status, &record);
    audit_->Append(std::move(record), [](absl::StatusOr<uint64_t>) {});
    return new RefusedStream(ToGrpcStatus(status, record_request_id));
  }
  record.outcome = "stream_opened";
  if (!request->resume_after_delivery_id().empty()) {
    record.detail = absl::StrCat("resumed after ", request->resume_after_delivery_id(), " (", confirmed,
                                 " newly confirmed)");
  }
  audit_->Append(std::move(record), [](absl::StatusOr<uint64_t>) {});
  // The stream keeps its certificates: it is ended if they are revoked (Gateway).
  return dispatcher_->pull_streams()->OpenStream((*party)->id, request->max_unconfirmed(), PeerCertificates(*context));
}

void ExchangeService::HandleConfirm(grpc::CallbackServerContext* context, const v1::ConfirmRequest* request,
                                    v1::ConfirmResponse* response, UnaryCall* reactor) {
  if (!audit_->Health().ok()) {
    reactor->Finish(AuditUnavailable());
    return;
  }
  AuditRecord record = CallRecord("confirm", *context);
  absl::StatusOr<const Party*> party = PullParty(*context, &record);
  absl::Status status = party.status();
  if (status.ok() && request->through_delivery_id().empty()) {
    status = Refuse(absl::StatusCode::kInvalidArgument, "FIELD_REQUIRED", "through_delivery_id", "is required");
  }
  if (status.ok()) {
    auto confirmed = ConfirmThrough(**party, request->through_delivery_id(), "through_delivery_id");
    status = confirmed.status();
    if (confirmed.ok()) response->set_confirmed(static_cast<uint32_t>(*confirmed));
  }
  if (status.ok()) {
    // Each newly confirmed delivery has its own "deliver" record already.
    record.outcome = "confirmed";
    record.detail = absl::StrCat("through ", request->through_delivery_id(), ": ", response->confirmed(),
                                 " newly confirmed");
  } else {
    MarkRefused(status, &record);
  }
  AuditThenFinish(audit_, std::move(record), reactor, status);
}

void ExchangeService::HandleListCase(grpc::CallbackServerContext* context, const v1::ListCaseRequest* request,
                                     v1::ListCaseResponse* response, UnaryCall* reactor) {
  if (!audit_->Health().ok()) {
    reactor->Finish(AuditUnavailable());
    return;
  }
  // A consultation: who (party and officer), why, which case, when, and what
  // it returned; never what the messages say.
  AuditRecord record = CallRecord("list_case", *context);
  record.case_reference = Clip(request->case_reference(), kMaxCaseReference);
  record.actor_officer = Clip(request->officer(), kMaxOfficer);
  record.justification = Clip(request->justification(), kMaxJustification);
  absl::StatusOr<Caller> caller = IdentifyCaller(*context, *config_, officers_, &record);
  absl::Status status = caller.status();
  // Required: the verified officer's if the caller's assertion vouches for one.
  std::string officer = request->officer();
  if (status.ok()) {
    absl::StatusOr<std::string> acting = ActingOfficer(*caller, request->officer(), "officer", &record);
    status = acting.status();
    if (acting.ok()) officer = *std::move(acting);
  }
  if (status.ok()) {
    if (request->case_reference().empty()) {
      status = Refuse(absl::StatusCode::kInvalidArgument, "FIELD_REQUIRED", "case_reference", "is required");
    } else if (officer.empty()) {
      status = Refuse(absl::StatusCode::kInvalidArgument, "FIELD_REQUIRED", "officer",
                      "the officer consulting the case is required");
    } else if (request->justification().empty()) {
      status = Refuse(absl::StatusCode::kInvalidArgument, "FIELD_REQUIRED", "justification",
                      "state why the case is consulted; it is recorded with your identity");
    } else if (request->case_reference().size() > kMaxCaseReference) {
      status = TooLong("case_reference", request->case_reference().size(), kMaxCaseReference);
    } else if (absl::Status checked = CheckOfficerId(officer, "officer", true); !checked.ok()) {
      status = checked;
    } else if (absl::Status why = CheckStatement(request->justification(), "justification", true, kMaxJustification);
               !why.ok()) {
      status = why;
    }
  }
  absl::StatusOr<int64_t> after = status.ok() ? ParseCasePageToken(request->case_reference(), request->page_token())
                                              : absl::StatusOr<int64_t>(0);
  if (status.ok()) status = after.status();
  if (status.ok()) {
    const uint32_t limit =
        request->page_size() == 0 ? kDefaultCasePage : std::min(request->page_size(), kMaxCasePage);
    auto page = store_->ListCase(request->case_reference(), caller->party->id, *after, limit);
    status = page.status();
    if (page.ok()) {
      response->set_case_reference(request->case_reference());
      for (const CaseEntry& c : page->messages) {
        v1::CaseMessage* m = response->add_messages();
        m->set_message_id(c.message_id);
        m->set_sender(c.sender);
        m->set_correlation_id(c.correlation_id);
        m->set_body_type(c.body_type);
        if (c.answer_by_seconds != 0) m->mutable_answer_by()->set_seconds(c.answer_by_seconds);
        m->set_classification(c.classification);
        m->set_priority(c.priority);
        m->set_originating_officer(c.originating_officer);
        m->set_originating_officer_verified(c.originating_officer_verified);
        *m->mutable_accepted_at() = TimeUtil::MicrosecondsToTimestamp(c.accepted_micros);
        for (const RecipientRecord& r : c.recipients) FillStatus(r, m->add_recipients());
      }
      if (page->more) response->set_next_page_token(CasePageToken(request->case_reference(), page->resume_after));
      record.outcome = "ok";
      record.detail = absl::StrCat(page->messages.size(), " message(s) returned",
                                   page->more ? "; more follow" : "; end of case", " (page after position ", *after,
                                   ")");
    } else {
      // The store's words (file names) stay in the gateway's log.
      LogLine("message store: ListCase: %s\n", page.status().ToString().c_str());
      const bool lasting = page.status().code() == absl::StatusCode::kDataLoss ||
                           page.status().code() == absl::StatusCode::kInternal;
      status = lasting ? Refuse(absl::StatusCode::kInternal, "STORE_DAMAGED", "",
                                "a stored message of this case cannot be read; tell the exchange's operators")
                       : Refuse(absl::StatusCode::kUnavailable, "STORE_UNAVAILABLE", "",
                                "the gateway cannot read the message store now; retry later");
    }
  }
  ClearIfRefused(status, response, &record);
  AuditThenFinish(audit_, std::move(record), reactor, status);
}

// The raw entry points: parse once, then the typed handler.

template <class Request, class Response>
grpc::ServerUnaryReactor* ExchangeService::ServeUnary(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* in, grpc::ByteBuffer* out, const char* action,
    void (ExchangeService::*handler)(grpc::CallbackServerContext*, const Request*, Response*, UnaryCall*)) {
  auto* call = new TypedUnaryCall<Request, Response>(context, out);
  grpc::ServerUnaryReactor* reactor = call->reactor();  // `call` is gone once finished.
  if (absl::Status parsed = ParseByteBuffer(*in, &call->request); !parsed.ok()) {
    RefuseUnparsed(context, action, parsed, call);
  } else {
    (this->*handler)(context, &call->request, &call->response, call);
  }
  return reactor;
}

AuditRecord ExchangeService::UnparsedRecord(grpc::CallbackServerContext* context, const char* action,
                                            const absl::Status& refusal, absl::Status* status) {
  AuditRecord record = CallRecord(action, *context);
  // A call that acts for an officer answers for its assertion first, as a
  // parsed one does (ASSERTION_REQUIRED before MALFORMED_REQUEST), and its
  // record names the verified officer; the pull calls take none.
  const std::string name = action;
  const bool acts_for_officer = name != "receive" && name != "confirm";
  absl::Status who;
  if (acts_for_officer) {
    who = IdentifyCaller(*context, *config_, officers_, &record).status();
  } else {
    absl::StatusOr<const Party*> party = AuthenticatePeer(*context, *config_);
    who = party.status();
    if (party.ok()) record.actor_party = (*party)->id;
  }
  *status = who.ok() ? refusal : who;
  MarkRefused(*status, &record);
  return record;
}

void ExchangeService::RefuseUnparsed(grpc::CallbackServerContext* context, const char* action,
                                     const absl::Status& refusal, UnaryCall* call) {
  if (!audit_->Health().ok()) {
    call->Finish(AuditUnavailable());
    return;
  }
  absl::Status status;
  AuditRecord record = UnparsedRecord(context, action, refusal, &status);
  AuditThenFinish(audit_, std::move(record), call, status);
}

grpc::ServerUnaryReactor* ExchangeService::Submit(grpc::CallbackServerContext* context, const grpc::ByteBuffer* in,
                                                  grpc::ByteBuffer* out) {
  return ServeUnary(context, in, out, "submit", &ExchangeService::HandleSubmit);
}

grpc::ServerUnaryReactor* ExchangeService::Track(grpc::CallbackServerContext* context, const grpc::ByteBuffer* in,
                                                 grpc::ByteBuffer* out) {
  return ServeUnary(context, in, out, "track", &ExchangeService::HandleTrack);
}

grpc::ServerUnaryReactor* ExchangeService::Acknowledge(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer* in, grpc::ByteBuffer* out) {
  return ServeUnary(context, in, out, "acknowledge", &ExchangeService::HandleAcknowledge);
}

grpc::ServerUnaryReactor* ExchangeService::Confirm(grpc::CallbackServerContext* context, const grpc::ByteBuffer* in,
                                                   grpc::ByteBuffer* out) {
  return ServeUnary(context, in, out, "confirm", &ExchangeService::HandleConfirm);
}

grpc::ServerUnaryReactor* ExchangeService::ListCase(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* in, grpc::ByteBuffer* out) {
  return ServeUnary(context, in, out, "list_case", &ExchangeService::HandleListCase);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* ExchangeService::Receive(grpc::CallbackServerContext* context,
                                                                     const grpc::ByteBuffer* in) {
  v1::ReceiveRequest request;
  absl::Status parsed = ParseByteBuffer(*in, &request);
  if (parsed.ok()) return HandleReceive(context, &request);
  if (!audit_->Health().ok()) return new RefusedStream(ToGrpcStatus(AuditUnavailable()));
  absl::Status status;
  AuditRecord record = UnparsedRecord(context, "receive", parsed, &status);
  const std::string request_id = NewRequestId();
  record.request_id = request_id;
  context->AddInitialMetadata(kRequestIdMetadata, request_id);
  audit_->Append(std::move(record), [](absl::StatusOr<uint64_t>) {});
  return new RefusedStream(ToGrpcStatus(status, request_id));
}

}  // namespace portcullis
