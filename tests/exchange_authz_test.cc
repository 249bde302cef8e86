// Who may learn and decide what on the Exchange service (issue 11, items 3,
// 4, 5 and 7), end to end: a real gateway, real mTLS, the dev PKI.
// - Need to know: Track by a recipient shows its own entry only; a party that
//   neither sent nor received a message gets byte-identical refusals (code,
//   message, details) for it and for a message that does not exist, on every
//   RPC that names one, and the refusal's audit record says nothing of it.
// - Decisions are final: the same decision again is OK and audited
//   `duplicate`; any other is FAILED_PRECONDITION ALREADY_DECIDED, audited
//   refused; the log never names an officer for a decision that did not happen.
// - Replies belong to a thread: a correlation_id names exactly one message the
//   replying party sent or received.
// - Officer fields are format-checked on every RPC that takes one; blank
//   statements (justification, reason) are refused.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "gateway/audit/exchange_record.h"
#include "gateway/audit/log_format.h"
#include "gateway/common/digest.h"
#include "gateway/store/sqlite_message_store.h"
#include "portcullis/v1/admin.grpc.pb.h"
#include "tests/support/harness.h"
#include "tests/support/test_storage.h"

namespace portcullis::testing {
namespace {

constexpr char kBorderForce[] = "parties/uk-border-force";
constexpr char kEuropol[] = "parties/eu-europol";
constexpr char kNca[] = "parties/uk-nca";
constexpr char kFrDnpaf[] = "parties/eu-fr-dnpaf";

void MustSubmit(GatewayHarness& h, const std::string& stem, const v1::Envelope& e) {
  v1::Receipt r;
  grpc::Status s = Submit(*h.Client(stem), e, &r);
  ASSERT_TRUE(s.ok()) << e.message_id() << ": " << s.error_message() << " " << ReasonOf(s) << " " << FieldOf(s);
}

// Europol's answer to `correlation_id`, to `to`.
v1::Envelope Answer(const std::string& id, const std::string& correlation_id, const std::string& to) {
  v1::Envelope e = SampleReferral(id, {to});
  e.set_correlation_id(correlation_id);
  e.set_originating_officer("EUROPOL-LO-17");
  e.mutable_response()->set_answer("Known to Europol: two reports, AP Migrant Smuggling");
  return e;
}

// Everything a caller receives of a refusal.
std::string Whole(const grpc::Status& s) {
  return absl::StrCat(static_cast<int>(s.error_code()), "|", s.error_message(), "|", s.error_details());
}

grpc::Status Track(GatewayHarness& h, const std::string& stem, const std::string& sender, const std::string& id,
                   v1::TrackResponse* out, const std::string& officer = "", const std::string& why = "") {
  v1::TrackRequest req;
  req.set_sender(sender);
  req.set_message_id(id);
  req.set_officer(officer);
  req.set_justification(why);
  return h.Client(stem)->Track(CallContext(std::chrono::seconds(20)).get(), req, out);
}

grpc::Status Ack(GatewayHarness& h, const std::string& stem, const std::string& sender, const std::string& id,
                 v1::AckDecision decision, const std::string& officer, const std::string& reason = "",
                 v1::AcknowledgeResponse* out = nullptr) {
  v1::AcknowledgeRequest req;
  req.set_sender(sender);
  req.set_message_id(id);
  req.set_decision(decision);
  req.set_officer(officer);
  req.set_reason(reason);
  v1::AcknowledgeResponse ignored;
  return h.Client(stem)->Acknowledge(CallContext(std::chrono::seconds(20)).get(), req, out != nullptr ? out : &ignored);
}

grpc::Status ListCase(GatewayHarness& h, const std::string& stem, const std::string& case_reference,
                      v1::ListCaseResponse* out, const std::string& officer = "NCA-OIC-221",
                      const std::string& why = "Op KESTREL: what NCA holds") {
  v1::ListCaseRequest req;
  req.set_case_reference(case_reference);
  req.set_officer(officer);
  req.set_justification(why);
  return h.Client(stem)->ListCase(CallContext(std::chrono::seconds(20)).get(), req, out);
}

grpc::Status Confirm(GatewayHarness& h, const std::string& stem, const std::string& id) {
  v1::ConfirmRequest req;
  req.set_through_delivery_id(id);
  v1::ConfirmResponse resp;
  return h.Client(stem)->Confirm(CallContext(std::chrono::seconds(20)).get(), req, &resp);
}

// How a Receive stream resuming after `id` ends (it must end: refused).
grpc::Status ReceiveAfter(GatewayHarness& h, const std::string& stem, const std::string& id) {
  auto stub = h.Client(stem);
  auto ctx = CallContext(std::chrono::seconds(20));
  v1::ReceiveRequest req;
  req.set_resume_after_delivery_id(id);
  auto reader = stub->Receive(ctx.get(), req);
  v1::Delivery d;
  EXPECT_FALSE(reader->Read(&d)) << "a refused stream delivered " << d.delivery_id();
  return reader->Finish();
}

// The records of `action` by `party` about `message_id`.
std::vector<AuditRecord> RecordsOf(const GatewayHarness& h, const std::string& action, const std::string& party,
                                   const std::string& message_id) {
  std::vector<AuditRecord> out;
  for (const AuditRecord& r : h.AuditRecords(action)) {
    if (r.actor_party == party && r.message_id == message_id) out.push_back(r);
  }
  return out;
}

// What a record says beyond when, where from and which id was asked for.
std::string Substance(const AuditRecord& r) {
  std::string recipients;
  for (const std::string& p : r.recipients) absl::StrAppend(&recipients, p, ",");
  return absl::StrCat(r.action, "|", r.actor_party, "|", r.actor_officer, "|", r.case_reference, "|", r.sender, "|",
                      recipients, "|", r.classification, "|", r.handling, "|", r.justification, "|", r.outcome, "|",
                      r.reason, "|", r.detail, "|", r.payload_sha256, "|", r.correlation_id);
}

// ---------------------------------------------------------------------------
// Item 3: need to know.

TEST(NeedToKnow, TrackByARecipientShowsItsOwnEntryOnly) {
  GatewayHarness h("authz-track-own");
  MustSubmit(h, kBorderForce, SampleReferral("TK-1", {"eu/europol", "uk/nca"}));
  v1::TrackResponse sender_view;
  ASSERT_TRUE(Track(h, kBorderForce, "", "TK-1", &sender_view).ok());
  ASSERT_EQ(sender_view.recipients_size(), 2);
  for (const char* stem : {kEuropol, kNca}) {
    v1::TrackResponse view;
    grpc::Status s = Track(h, stem, "uk/border-force", "TK-1", &view);
    ASSERT_TRUE(s.ok()) << stem << ": " << s.error_message();
    ASSERT_EQ(view.recipients_size(), 1) << stem << " sees " << view.DebugString();
    EXPECT_EQ(view.recipients(0).party(), std::string(stem) == kEuropol ? "eu/europol" : "uk/nca");
  }
  // The recipient's consultation record names only itself as recipient.
  std::vector<AuditRecord> tracks = RecordsOf(h, "track", "eu/europol", "TK-1");
  ASSERT_EQ(tracks.size(), 1u);
  EXPECT_EQ(tracks[0].recipients, std::vector<std::string>{"eu/europol"});
}

// uk/nca neither sent nor received TK-1 (Border Force -> Europol): for every
// RPC that names the message, its delivery or its case, the answer is byte
// for byte the one for something that does not exist.
TEST(NeedToKnow, ANonParticipantGetsTheAnswerForSomethingThatDoesNotExist) {
  GatewayHarness h("authz-non-participant");
  v1::Envelope e = SampleReferral("TK-1", {"eu/europol"});
  e.set_case_reference("BF-2026-SECRET-CASE");
  MustSubmit(h, kBorderForce, e);
  const std::string existing_delivery = DeliveryIdFor("uk/border-force", "TK-1", "eu/europol");
  const std::string missing_delivery = DeliveryIdFor("uk/border-force", "TK-404", "eu/europol");

  v1::TrackResponse t;
  grpc::Status track_existing = Track(h, kNca, "uk/border-force", "TK-1", &t, "NCA-OIC-221", "curious");
  grpc::Status track_missing = Track(h, kNca, "uk/border-force", "TK-404", &t, "NCA-OIC-221", "curious");
  EXPECT_EQ(track_existing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(track_existing), "MESSAGE_NOT_FOUND");
  EXPECT_EQ(Whole(track_existing), Whole(track_missing));

  grpc::Status ack_existing = Ack(h, kNca, "uk/border-force", "TK-1", v1::ACCEPT, "NCA-OIC-221");
  grpc::Status ack_missing = Ack(h, kNca, "uk/border-force", "TK-404", v1::ACCEPT, "NCA-OIC-221");
  EXPECT_EQ(ack_existing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(ack_existing), "MESSAGE_NOT_FOUND");
  EXPECT_EQ(Whole(ack_existing), Whole(ack_missing));
  grpc::Status reject_existing = Ack(h, kNca, "uk/border-force", "TK-1", v1::REJECT, "NCA-OIC-221", "not ours");
  grpc::Status reject_missing = Ack(h, kNca, "uk/border-force", "TK-404", v1::REJECT, "NCA-OIC-221", "not ours");
  EXPECT_EQ(Whole(reject_existing), Whole(reject_missing));

  v1::ListCaseResponse case_existing, case_missing;
  grpc::Status list_existing = ListCase(h, kNca, "BF-2026-SECRET-CASE", &case_existing);
  grpc::Status list_missing = ListCase(h, kNca, "BF-2026-NO-SUCH-CASE", &case_missing);
  ASSERT_TRUE(list_existing.ok()) << list_existing.error_message();
  ASSERT_TRUE(list_missing.ok()) << list_missing.error_message();
  EXPECT_EQ(case_existing.messages_size(), 0);
  EXPECT_EQ(case_existing.next_page_token(), case_missing.next_page_token());
  EXPECT_EQ(case_missing.messages_size(), 0);

  grpc::Status confirm_existing = Confirm(h, kNca, existing_delivery);
  grpc::Status confirm_missing = Confirm(h, kNca, missing_delivery);
  EXPECT_EQ(confirm_existing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(confirm_existing), "DELIVERY_NOT_FOUND");
  // The answer does not repeat the id asked for, so the two are identical.
  EXPECT_EQ(Whole(confirm_existing), Whole(confirm_missing));

  grpc::Status receive_existing = ReceiveAfter(h, kNca, existing_delivery);
  grpc::Status receive_missing = ReceiveAfter(h, kNca, missing_delivery);
  EXPECT_EQ(receive_existing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(receive_existing), "DELIVERY_NOT_FOUND");
  EXPECT_EQ(Whole(receive_existing), Whole(receive_missing));

  // Europol's delivery was neither confirmed nor disturbed by any of it.
  EXPECT_EQ(StateOf(h, "TK-1"), v1::ACCEPTED);

  // The refusals' records say nothing of the message: each matches the one
  // for the message that does not exist.
  for (const char* action : {"track", "acknowledge"}) {
    std::vector<AuditRecord> existing = RecordsOf(h, action, "uk/nca", "TK-1");
    std::vector<AuditRecord> missing = RecordsOf(h, action, "uk/nca", "TK-404");
    ASSERT_EQ(existing.size(), missing.size()) << action;
    ASSERT_FALSE(existing.empty()) << action;
    for (size_t i = 0; i < existing.size(); ++i) {
      EXPECT_EQ(Substance(existing[i]), Substance(missing[i])) << action;
      EXPECT_EQ(existing[i].outcome, "refused");
      EXPECT_TRUE(existing[i].case_reference.empty()) << action << " record names the case";
      EXPECT_TRUE(existing[i].payload_sha256.empty()) << action << " record names the digest";
    }
  }
  // ListCase's records differ only in the case asked for (the caller's words).
  std::vector<AuditRecord> lists = h.AuditRecords("list_case");
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0].case_reference, "BF-2026-SECRET-CASE");
  lists[0].case_reference = lists[1].case_reference;
  EXPECT_EQ(Substance(lists[0]), Substance(lists[1]));
  // Nothing else uk/nca caused to be recorded names the case or the recipient.
  for (const std::string& line : h.AuditLines()) {
    if (line.find("\"actor_party\":\"uk/nca\"") == std::string::npos) continue;
    if (line.find("\"action\":\"list_case\"") != std::string::npos) continue;
    EXPECT_EQ(line.find("BF-2026-SECRET-CASE"), std::string::npos) << line;
    EXPECT_EQ(line.find("eu/europol"), std::string::npos) << line;
  }
}

// The sender knows its message exists: it is told it cannot decide on it.
TEST(NeedToKnow, TheSenderCannotAcknowledgeItsOwnMessage) {
  GatewayHarness h("authz-sender-ack");
  MustSubmit(h, kBorderForce, SampleReferral("TK-1", {"eu/europol"}));
  grpc::Status s = Ack(h, kBorderForce, "uk/border-force", "TK-1", v1::ACCEPT, "BF-LO-4471");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(s), "NOT_A_RECIPIENT");
}

// ---------------------------------------------------------------------------
// Item 4: decisions are final.

TEST(Decisions, TheSameDecisionAgainIsADuplicateAndAnyOtherIsRefused) {
  GatewayHarness h("authz-decisions");
  MustSubmit(h, kBorderForce, SampleReferral("DC-1", {"eu/europol"}));
  MustSubmit(h, kBorderForce, SampleReferral("DC-2", {"eu/europol"}));
  v1::AcknowledgeResponse first, again;
  ASSERT_TRUE(Ack(h, kEuropol, "uk/border-force", "DC-1", v1::ACCEPT, "EUROPOL-LO-17", "", &first).ok());
  grpc::Status same = Ack(h, kEuropol, "uk/border-force", "DC-1", v1::ACCEPT, "EUROPOL-LO-17", "", &again);
  ASSERT_TRUE(same.ok()) << same.error_message();
  EXPECT_EQ(again.status().state(), v1::ACKNOWLEDGED);
  EXPECT_EQ(again.status().officer(), "EUROPOL-LO-17");
  EXPECT_EQ(again.status().updated_at().SerializeAsString(), first.status().updated_at().SerializeAsString())
      << "a repeated decision rewrote the record";

  struct Other {
    const char* what;
    v1::AckDecision decision;
    const char* officer;
    const char* reason;
  };
  for (const Other& o : {Other{"another officer", v1::ACCEPT, "EUROPOL-LO-99", ""},
                         Other{"the opposite decision", v1::REJECT, "EUROPOL-LO-17", "Not ours after all"},
                         Other{"another reason", v1::ACCEPT, "EUROPOL-LO-17", "Accepted for AP Migrant Smuggling"}}) {
    grpc::Status s = Ack(h, kEuropol, "uk/border-force", "DC-1", o.decision, o.officer, o.reason);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << o.what;
    EXPECT_EQ(ReasonOf(s), "ALREADY_DECIDED") << o.what;
  }
  // A rejection: the same again is a duplicate, an acceptance is refused.
  ASSERT_TRUE(Ack(h, kEuropol, "uk/border-force", "DC-2", v1::REJECT, "EUROPOL-LO-17", "Not a Europol holding").ok());
  EXPECT_TRUE(Ack(h, kEuropol, "uk/border-force", "DC-2", v1::REJECT, "EUROPOL-LO-17", "Not a Europol holding").ok());
  EXPECT_EQ(ReasonOf(Ack(h, kEuropol, "uk/border-force", "DC-2", v1::ACCEPT, "EUROPOL-LO-17")), "ALREADY_DECIDED");

  // The decision stands as first made.
  v1::TrackResponse t;
  ASSERT_TRUE(Track(h, kBorderForce, "", "DC-1", &t).ok());
  EXPECT_EQ(t.recipients(0).state(), v1::ACKNOWLEDGED);
  EXPECT_EQ(t.recipients(0).officer(), "EUROPOL-LO-17");
  EXPECT_TRUE(t.recipients(0).reason().empty());

  // The log: one decision per message, the repeat as duplicate, the others
  // refused; no record names EUROPOL-LO-99 as having decided anything.
  ASSERT_TRUE(h.WaitForAudit({"\"action\":\"acknowledge\"", "DC-2", "ALREADY_DECIDED"}));
  std::vector<std::string> outcomes;
  for (const AuditRecord& r : RecordsOf(h, "acknowledge", "eu/europol", "DC-1")) {
    outcomes.push_back(r.outcome);
    if (r.actor_officer == "EUROPOL-LO-99") {
      EXPECT_EQ(r.outcome, "refused");
      EXPECT_EQ(r.reason, "ALREADY_DECIDED");
    }
  }
  EXPECT_EQ(outcomes, (std::vector<std::string>{"acknowledged", "duplicate", "refused", "refused", "refused"}));
  outcomes.clear();
  for (const AuditRecord& r : RecordsOf(h, "acknowledge", "eu/europol", "DC-2")) outcomes.push_back(r.outcome);
  EXPECT_EQ(outcomes, (std::vector<std::string>{"rejected", "duplicate", "refused"}));
}

// ---------------------------------------------------------------------------
// Item 5: a reply belongs to a thread.

TEST(Replies, ACorrelationIdMustNameOneMessageThePartySentOrReceived) {
  GatewayHarness h("authz-replies");
  MustSubmit(h, kBorderForce, SampleReferral("RP-1", {"eu/europol"}));
  // A recipient answers what it received; the sender follows up its own.
  MustSubmit(h, kEuropol, Answer("RP-ANSWER-1", "RP-1", "uk/border-force"));
  v1::Envelope followup = SampleReferral("RP-2", {"eu/europol"});
  followup.set_correlation_id("RP-1");
  MustSubmit(h, kBorderForce, followup);
  // Border Force may follow up the answer it received too.
  v1::Envelope thanks = SampleReferral("RP-3", {"eu/europol"});
  thanks.set_correlation_id("RP-ANSWER-1");
  MustSubmit(h, kBorderForce, thanks);

  // Unknown, and another party's message: one answer, byte for byte.
  v1::Receipt r;
  v1::Envelope unknown = SampleReferral("RP-X1", {"eu/europol"});
  unknown.set_correlation_id("RP-404");
  grpc::Status s_unknown = Submit(*h.Client(kNca), unknown, &r);
  v1::Envelope not_theirs = SampleReferral("RP-X1", {"eu/europol"});
  not_theirs.set_correlation_id("RP-1");  // Border Force -> Europol: nothing to do with uk/nca.
  grpc::Status s_not_theirs = Submit(*h.Client(kNca), not_theirs, &r);
  EXPECT_EQ(s_unknown.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s_unknown), "CORRELATION_UNKNOWN");
  EXPECT_EQ(FieldOf(s_unknown), "envelope.correlation_id");
  // The envelopes differ only in the id they name, which the answer does not repeat.
  EXPECT_EQ(Whole(s_unknown), Whole(s_not_theirs));
  // France's police received nothing: it cannot answer RP-1 either.
  v1::Envelope france = Answer("RP-X2", "RP-1", "uk/border-force");
  france.set_classification(v1::OFFICIAL);  // Its clearance: refused for the correlation, not the route.
  grpc::Status s_france = Submit(*h.Client(kFrDnpaf), france, &r);
  EXPECT_EQ(ReasonOf(s_france), "CORRELATION_UNKNOWN");

  // Two senders used the same id for messages Europol received: ambiguous.
  MustSubmit(h, kBorderForce, SampleReferral("SAME-ID", {"eu/europol"}));
  MustSubmit(h, kNca, SampleReferral("SAME-ID", {"eu/europol"}));
  grpc::Status s_ambiguous = Submit(*h.Client(kEuropol), Answer("RP-X3", "SAME-ID", "uk/border-force"), &r);
  EXPECT_EQ(s_ambiguous.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s_ambiguous), "CORRELATION_AMBIGUOUS");
  // uk/nca sent one of them and received none: for it, SAME-ID is one message.
  v1::Envelope nca_followup = SampleReferral("RP-4", {"eu/europol"});
  nca_followup.set_correlation_id("SAME-ID");
  MustSubmit(h, kNca, nca_followup);

  // Refused replies are audited refused, with the correlation they claimed;
  // accepted ones carry theirs in the record (v2 field).
  ASSERT_TRUE(h.WaitForAudit({"\"action\":\"submit\"", "CORRELATION_AMBIGUOUS"}));
  // ListCase shows which message answers which.
  v1::ListCaseResponse listed;
  ASSERT_TRUE(ListCase(h, kBorderForce, SampleReferral("x").case_reference(), &listed, "BF-LO-4471", "review").ok());
  std::vector<std::string> threads;
  for (const v1::CaseMessage& m : listed.messages()) threads.push_back(m.message_id() + "<" + m.correlation_id());
  EXPECT_EQ(threads, (std::vector<std::string>{"RP-1<", "RP-ANSWER-1<RP-1", "RP-2<RP-1", "RP-3<RP-ANSWER-1",
                                               "SAME-ID<"}));
}

// A reply accepted while its thread was clear stays accepted: its
// resubmission (a lost answer, an OUTCOME_UNKNOWN) gets the original receipt
// back even if the id it names has since become ambiguous.
TEST(Replies, AResubmittedReplyGetsItsReceiptEvenIfItsThreadChangedSince) {
  GatewayHarness h("authz-reply-resubmit");
  MustSubmit(h, kBorderForce, SampleReferral("LATER-SAME", {"eu/europol"}));
  const v1::Envelope reply = Answer("RS-1", "LATER-SAME", "uk/border-force");
  v1::Receipt first;
  ASSERT_TRUE(Submit(*h.Client(kEuropol), reply, &first).ok());
  MustSubmit(h, kNca, SampleReferral("LATER-SAME", {"eu/europol"}));  // Now two messages of that id.
  v1::Receipt again;
  grpc::Status s = Submit(*h.Client(kEuropol), reply, &again);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.audit_index(), first.audit_index());
  // A new reply naming it now is ambiguous.
  EXPECT_EQ(ReasonOf(Submit(*h.Client(kEuropol), Answer("RS-2", "LATER-SAME", "uk/border-force"), &again)),
            "CORRELATION_AMBIGUOUS");
}

TEST(Replies, TheSubmitRecordCarriesTheCorrelation) {
  v1::Envelope e = Answer("RP-ANSWER-1", "RP-1", "uk/border-force");
  e.set_sender("eu/europol");
  EXPECT_EQ(ExchangeAuditRecord("submit", e, "").correlation_id, "RP-1");
  EXPECT_EQ(ExchangeAuditRecord("submit", SampleReferral("RP-1"), "").correlation_id, "");
}

// A decision durable in the store whose audit record cannot be written is
// never answered "nothing was done".
TEST(Decisions, ADecisionWhoseRecordFailsIsNotReportedAsNothingDone) {
  auto fail = std::make_shared<std::atomic<bool>>(false);
  HarnessOptions o;
  o.hooks.audit_fault_injector = [fail](absl::string_view op) {
    return *fail && op == "sync" ? absl::UnavailableError("injected: EIO") : absl::OkStatus();
  };
  GatewayHarness h("authz-decision-unaudited", o);
  MustSubmit(h, kBorderForce, SampleReferral("DN-1", {"eu/europol"}));
  *fail = true;
  if (TestsOnPostgres()) RefuseAuditWrites(h.store_dsn(), true);  // The store's write succeeds, the record's not.
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::AcknowledgeRequest req;
  req.set_sender("uk/border-force");
  req.set_message_id("DN-1");
  req.set_decision(v1::ACCEPT);
  req.set_officer("EUROPOL-LO-17");
  v1::AcknowledgeResponse resp;
  grpc::Status s = h.Client(kEuropol)->Acknowledge(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ReasonOf(s), "DECISION_NOT_AUDITED") << s.error_message();
}

// ---------------------------------------------------------------------------
// Item 7: officer fields and statements.

TEST(OfficerFields, AreFormatCheckedOnEveryRpcThatTakesOne) {
  GatewayHarness h("authz-officers");
  MustSubmit(h, kBorderForce, SampleReferral("OF-1", {"eu/europol"}));
  const std::string forged = "EUROPOL-LO-17\x1b[2K\rAUDITOR-OK";
  struct Bad {
    std::string officer, reason;
  };
  for (const Bad& b : {Bad{forged, "FIELD_FORMAT"}, Bad{"BF LO", "FIELD_FORMAT"}, Bad{"   ", "FIELD_FORMAT"},
                       Bad{std::string(129, 'O'), "FIELD_TOO_LONG"}}) {
    v1::TrackResponse t;
    grpc::Status track = Track(h, kBorderForce, "", "OF-1", &t, b.officer, "review");
    EXPECT_EQ(track.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << b.officer;
    EXPECT_EQ(ReasonOf(track), b.reason) << b.officer;
    EXPECT_EQ(FieldOf(track), "officer");
    grpc::Status ack = Ack(h, kEuropol, "uk/border-force", "OF-1", v1::ACCEPT, b.officer);
    EXPECT_EQ(ReasonOf(ack), b.reason) << b.officer;
    EXPECT_EQ(FieldOf(ack), "officer");
    v1::ListCaseResponse l;
    grpc::Status list = ListCase(h, kBorderForce, "BF-2026-004512", &l, b.officer, "review");
    EXPECT_EQ(ReasonOf(list), b.reason) << b.officer;
    EXPECT_EQ(FieldOf(list), "officer");
  }
  // Nothing was decided by the forged officer.
  EXPECT_EQ(StateOf(h, "OF-1"), v1::ACCEPTED);

  // Blank statements are no statements.
  v1::TrackResponse t;
  grpc::Status blank_why = Track(h, kBorderForce, "", "OF-1", &t, "BF-LO-4471", " \t\n ");
  EXPECT_EQ(ReasonOf(blank_why), "FIELD_BLANK");
  EXPECT_EQ(FieldOf(blank_why), "justification");
  v1::ListCaseResponse l;
  grpc::Status blank_case_why = ListCase(h, kBorderForce, "BF-2026-004512", &l, "BF-LO-4471", "   ");
  EXPECT_EQ(ReasonOf(blank_case_why), "FIELD_REQUIRED");  // Required: blank is missing.
  EXPECT_EQ(FieldOf(blank_case_why), "justification");
  grpc::Status blank_reason = Ack(h, kEuropol, "uk/border-force", "OF-1", v1::REJECT, "EUROPOL-LO-17", "  ");
  EXPECT_EQ(ReasonOf(blank_reason), "FIELD_REQUIRED");
  EXPECT_EQ(FieldOf(blank_reason), "reason");
  grpc::Status blank_accept_reason = Ack(h, kEuropol, "uk/border-force", "OF-1", v1::ACCEPT, "EUROPOL-LO-17", "\t ");
  EXPECT_EQ(ReasonOf(blank_accept_reason), "FIELD_BLANK");  // Optional on an acceptance: empty or words.
  EXPECT_EQ(FieldOf(blank_accept_reason), "reason");
  grpc::Status escape_reason = Ack(h, kEuropol, "uk/border-force", "OF-1", v1::REJECT, "EUROPOL-LO-17", "no\x1b[31m");
  EXPECT_EQ(ReasonOf(escape_reason), "FIELD_FORMAT");
  EXPECT_EQ(StateOf(h, "OF-1"), v1::ACCEPTED);
  // A valid officer still works.
  EXPECT_TRUE(Track(h, kBorderForce, "", "OF-1", &t, "BF-LO-4471", "review").ok());
}

TEST(OfficerFields, TheAdminServiceAppliesTheSameRule) {
  GatewayHarness h("authz-admin-officers");
  auto admin = v1::Admin::NewStub(h.Channel("parties/ops-operator"));
  v1::RetryDeadLetterRequest retry;
  retry.set_delivery_id("0123456789abcdef0123456789abcdef");
  retry.set_reason("INC-42: partner back");
  retry.set_officer("OPS 7");
  v1::DeadLetter out;
  grpc::Status s = admin->RetryDeadLetter(CallContext(std::chrono::seconds(20)).get(), retry, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(s), "FIELD_FORMAT");
  EXPECT_EQ(FieldOf(s), "officer");
  retry.set_officer("OPS-7");
  retry.set_reason("   ");
  s = admin->RetryDeadLetter(CallContext(std::chrono::seconds(20)).get(), retry, &out);
  EXPECT_EQ(ReasonOf(s), "FIELD_REQUIRED");
  EXPECT_EQ(FieldOf(s), "reason");
}

}  // namespace
}  // namespace portcullis::testing
