// Exchange.ListCase end to end (real gateway, real mTLS, dev PKI): a party
// sees every message of a case it sent or received, in acceptance order,
// paged; a sender sees every recipient's state, a recipient only its own; a
// party with nothing in the case gets an empty list; other cases never show.
// Every call, listed or refused, is audited as a consultation (officer,
// justification, case, count) before the answer; Track records the officer
// and justification it is given.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/support/harness.h"
#include "tests/support/test_storage.h"

namespace portcullis::testing {
namespace {

constexpr char kCase[] = "BF-2026-LC-0001";
constexpr char kOtherCase[] = "BF-2026-LC-0002";
constexpr char kOfficer[] = "BF-LO-4471";
constexpr char kWhy[] = "Review of the Dungeness crossing before the joint briefing (op. KESTREL)";

// A referral of `case_reference` from the caller to `recipients`.
v1::Envelope Referral(const std::string& id, const std::string& case_reference,
                      const std::vector<std::string>& recipients, v1::Classification c = v1::OFFICIAL_SENSITIVE) {
  v1::Envelope e = SampleReferral(id, recipients);
  e.set_case_reference(case_reference);
  e.set_classification(c);
  return e;
}

// A partner's answer to `correlation_id` (eu -> uk routes carry responses).
v1::Envelope Answer(const std::string& id, const std::string& case_reference, const std::string& correlation_id,
                    const std::vector<std::string>& recipients) {
  v1::Envelope e = SampleReferral(id, recipients);
  e.set_case_reference(case_reference);
  e.set_correlation_id(correlation_id);
  e.set_originating_officer("EUROPOL-LO-17");
  e.set_priority(v1::ROUTINE);
  e.mutable_response()->set_answer("The boat was bought in Bremen; see the attached ledger");
  return e;
}

void MustSubmit(GatewayHarness& h, const std::string& stem, const v1::Envelope& e) {
  v1::Receipt r;
  grpc::Status s = Submit(*h.Client(stem), e, &r);
  ASSERT_TRUE(s.ok()) << e.message_id() << ": " << s.error_message() << " " << ReasonOf(s) << " " << FieldOf(s);
}

v1::ListCaseRequest Request(const std::string& case_reference, uint32_t page_size = 0,
                            const std::string& page_token = "") {
  v1::ListCaseRequest req;
  req.set_case_reference(case_reference);
  req.set_officer(kOfficer);
  req.set_justification(kWhy);
  req.set_page_size(page_size);
  req.set_page_token(page_token);
  return req;
}

grpc::Status List(v1::Exchange::Stub& stub, const v1::ListCaseRequest& req, v1::ListCaseResponse* resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  return stub.ListCase(&ctx, req, resp);
}

// Every page of `case_reference` as `stem` sees it, `page_size` at a time.
std::vector<v1::CaseMessage> ListAll(GatewayHarness& h, const std::string& stem, const std::string& case_reference,
                                     uint32_t page_size, int* pages = nullptr) {
  auto stub = h.Client(stem);
  std::vector<v1::CaseMessage> out;
  std::string token;
  int n = 0;
  do {
    v1::ListCaseResponse resp;
    grpc::Status s = List(*stub, Request(case_reference, page_size, token), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message() << " " << ReasonOf(s);
    if (!s.ok()) break;
    EXPECT_EQ(resp.case_reference(), case_reference);
    out.insert(out.end(), resp.messages().begin(), resp.messages().end());
    token = resp.next_page_token();
    ++n;
  } while (!token.empty() && n < 100);
  if (pages != nullptr) *pages = n;
  return out;
}

std::vector<std::string> IdsOf(const std::vector<v1::CaseMessage>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.message_id());
  return out;
}

std::vector<std::string> PartiesOf(const v1::CaseMessage& m) {
  std::vector<std::string> out;
  for (const auto& r : m.recipients()) out.push_back(r.party());
  return out;
}

// The audit lines of one action.
std::vector<std::string> AuditOf(const GatewayHarness& h, const std::string& action) {
  std::vector<std::string> out;
  for (const std::string& line : h.AuditLines()) {
    if (line.find(absl::StrCat("\"action\":\"", action, "\"")) != std::string::npos) out.push_back(line);
  }
  return out;
}

// Border Force: M1 -> Europol + NCA, M2 -> NCA, M3 -> Europol + French border
// police (OFFICIAL: their clearance); Europol answers M1 (R1 -> Border Force);
// X1 is Border Force's message in another case.
void SubmitTheCase(GatewayHarness& h) {
  MustSubmit(h, "parties/uk-border-force", Referral("M1", kCase, {"eu/europol", "uk/nca"}));
  MustSubmit(h, "parties/uk-border-force", Referral("M2", kCase, {"uk/nca"}));
  MustSubmit(h, "parties/uk-border-force", Referral("M3", kCase, {"eu/europol", "eu/fr-dnpaf"}, v1::OFFICIAL));
  MustSubmit(h, "parties/eu-europol", Answer("R1", kCase, "M1", {"uk/border-force"}));
  MustSubmit(h, "parties/uk-border-force", Referral("X1", kOtherCase, {"eu/europol", "uk/nca"}));
}

TEST(ListCase, TheSenderSeesEveryMessageOfTheCaseInOrderWithEveryRecipient) {
  GatewayHarness h("list-case-sender");
  SubmitTheCase(h);
  // Europol acknowledges M1: the sender sees that recipient's own state.
  {
    grpc::ClientContext ctx;
    v1::AcknowledgeRequest ack;
    ack.set_sender("uk/border-force");
    ack.set_message_id("M1");
    ack.set_decision(v1::ACCEPT);
    ack.set_officer("EUROPOL-LO-17");
    v1::AcknowledgeResponse resp;
    ASSERT_TRUE(h.Client("parties/eu-europol")->Acknowledge(&ctx, ack, &resp).ok());
  }

  v1::ListCaseResponse resp;
  ASSERT_TRUE(List(*h.Client("parties/uk-border-force"), Request(kCase), &resp).ok());
  EXPECT_EQ(resp.case_reference(), kCase);
  EXPECT_TRUE(resp.next_page_token().empty());
  std::vector<v1::CaseMessage> messages(resp.messages().begin(), resp.messages().end());
  ASSERT_EQ(IdsOf(messages), (std::vector<std::string>{"M1", "M2", "M3", "R1"}));

  const v1::CaseMessage& m1 = messages[0];
  EXPECT_EQ(m1.sender(), "uk/border-force");
  EXPECT_EQ(m1.body_type(), "case_referral");
  EXPECT_EQ(m1.classification(), v1::OFFICIAL_SENSITIVE);
  EXPECT_EQ(m1.priority(), v1::URGENT);
  EXPECT_EQ(m1.originating_officer(), "BF-LO-4471");
  EXPECT_GT(m1.accepted_at().seconds(), 0);
  ASSERT_EQ(PartiesOf(m1), (std::vector<std::string>{"eu/europol", "uk/nca"}));
  EXPECT_EQ(m1.recipients(0).state(), v1::ACKNOWLEDGED);
  EXPECT_EQ(m1.recipients(0).officer(), "EUROPOL-LO-17");
  EXPECT_EQ(m1.recipients(1).state(), v1::ACCEPTED);
  EXPECT_EQ(PartiesOf(messages[1]), (std::vector<std::string>{"uk/nca"}));
  EXPECT_EQ(PartiesOf(messages[2]), (std::vector<std::string>{"eu/europol", "eu/fr-dnpaf"}));
  EXPECT_EQ(messages[2].classification(), v1::OFFICIAL);
  for (size_t i = 1; i < messages.size(); ++i) {
    EXPECT_LE(google::protobuf::util::TimeUtil::TimestampToMicroseconds(messages[i - 1].accepted_at()),
              google::protobuf::util::TimeUtil::TimestampToMicroseconds(messages[i].accepted_at()))
        << "acceptance order";
  }

  // R1: Border Force received it, so it sees its own entry only.
  const v1::CaseMessage& r1 = messages[3];
  EXPECT_EQ(r1.sender(), "eu/europol");
  EXPECT_EQ(r1.body_type(), "response");
  EXPECT_EQ(r1.correlation_id(), "M1");
  EXPECT_EQ(r1.originating_officer(), "EUROPOL-LO-17");
  EXPECT_EQ(r1.priority(), v1::ROUTINE);
  EXPECT_EQ(PartiesOf(r1), (std::vector<std::string>{"uk/border-force"}));

  // No body, no person, no attachment: nothing of what the messages say.
  const std::string bytes = resp.SerializeAsString();
  for (const char* personal : {"Zoltan", "Testperson", "Examplename", "Dungeness", "Bremen", "ledger"}) {
    EXPECT_EQ(bytes.find(personal), std::string::npos) << personal;
  }
}

TEST(ListCase, ARecipientSeesOnlyWhatWasAddressedToItAndOnlyItsOwnEntry) {
  GatewayHarness h("list-case-recipient");
  SubmitTheCase(h);

  // Europol: M1 and M3 received (own entry only), R1 sent (every recipient).
  std::vector<v1::CaseMessage> europol = ListAll(h, "parties/eu-europol", kCase, 0);
  ASSERT_EQ(IdsOf(europol), (std::vector<std::string>{"M1", "M3", "R1"}));
  EXPECT_EQ(PartiesOf(europol[0]), (std::vector<std::string>{"eu/europol"}));
  EXPECT_EQ(PartiesOf(europol[1]), (std::vector<std::string>{"eu/europol"}));
  EXPECT_EQ(PartiesOf(europol[2]), (std::vector<std::string>{"uk/border-force"}));
  EXPECT_EQ(europol[0].sender(), "uk/border-force");

  // NCA: M1 and M2, its own entry only (not Europol's on M1).
  std::vector<v1::CaseMessage> nca = ListAll(h, "parties/uk-nca", kCase, 0);
  ASSERT_EQ(IdsOf(nca), (std::vector<std::string>{"M1", "M2"}));
  EXPECT_EQ(PartiesOf(nca[0]), (std::vector<std::string>{"uk/nca"}));
  EXPECT_EQ(PartiesOf(nca[1]), (std::vector<std::string>{"uk/nca"}));

  // French border police: M3 only.
  std::vector<v1::CaseMessage> fr = ListAll(h, "parties/eu-fr-dnpaf", kCase, 0);
  ASSERT_EQ(IdsOf(fr), (std::vector<std::string>{"M3"}));
  EXPECT_EQ(PartiesOf(fr[0]), (std::vector<std::string>{"eu/fr-dnpaf"}));
}

TEST(ListCase, AThirdPartyGetsAnEmptyListAndOtherCasesNeverShow) {
  GatewayHarness h("list-case-third");
  SubmitTheCase(h);

  // BSC is in neither case: an empty list, not an error (whether the case
  // exists is not disclosed), the same as for a case nobody has.
  for (const std::string& c : {std::string(kCase), std::string("BF-2026-NO-SUCH-CASE")}) {
    v1::ListCaseResponse resp;
    grpc::Status s = List(*h.Client("parties/uk-bsc"), Request(c), &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.messages_size(), 0) << c;
    EXPECT_TRUE(resp.next_page_token().empty()) << c;
  }

  // X1 (the other case) is in no list of kCase, and is the whole of its own.
  for (const char* stem : {"parties/uk-border-force", "parties/eu-europol", "parties/uk-nca"}) {
    for (const std::string& id : IdsOf(ListAll(h, stem, kCase, 0))) {
      EXPECT_NE(id, "X1") << stem;
    }
    EXPECT_EQ(IdsOf(ListAll(h, stem, kOtherCase, 0)), (std::vector<std::string>{"X1"})) << stem;
  }
  EXPECT_TRUE(ListAll(h, "parties/eu-fr-dnpaf", kOtherCase, 0).empty());
}

TEST(ListCase, PagingReturnsEveryMessageOnceInOrder) {
  GatewayHarness h("list-case-paging");
  constexpr int kMessages = 250;
  auto bf = h.Client("parties/uk-border-force");
  std::vector<std::string> want;
  for (int i = 0; i < kMessages; ++i) {
    // Interleaved with another case's messages, which a page must skip.
    const std::string id = absl::StrCat("P-", 1000 + i);
    v1::Receipt r;
    ASSERT_TRUE(Submit(*bf, Referral(id, kCase, {"eu/europol"}), &r).ok()) << id;
    want.push_back(id);
    if (i % 10 == 0) {
      ASSERT_TRUE(Submit(*bf, Referral(absl::StrCat("Q-", i), kOtherCase, {"eu/europol"}), &r).ok());
    }
  }

  int pages = 0;
  std::vector<v1::CaseMessage> got = ListAll(h, "parties/uk-border-force", kCase, 100, &pages);
  EXPECT_EQ(IdsOf(got), want);
  EXPECT_EQ(pages, 3);  // 100 + 100 + 50; the last carries no token.

  // The recipient pages the same way; page_size 0 means 100.
  {
    v1::ListCaseResponse first;
    ASSERT_TRUE(List(*h.Client("parties/eu-europol"), Request(kCase), &first).ok());
    EXPECT_EQ(first.messages_size(), 100);
    EXPECT_FALSE(first.next_page_token().empty());
  }
  EXPECT_EQ(IdsOf(ListAll(h, "parties/eu-europol", kCase, 7)), want);
  // Above the maximum is the maximum (1000): one page here.
  EXPECT_EQ(IdsOf(ListAll(h, "parties/eu-europol", kCase, 5000, &pages)), want);
  EXPECT_EQ(pages, 1);

  // Every page was audited with its count.
  int listed = 0;
  for (const std::string& line : AuditOf(h, "list_case")) {
    if (line.find("\"actor_party\":\"uk/border-force\"") == std::string::npos) continue;
    ++listed;
    EXPECT_NE(line.find("\"outcome\":\"ok\""), std::string::npos) << line;
  }
  EXPECT_EQ(listed, 3);
  EXPECT_TRUE(h.WaitForAudit({"\"action\":\"list_case\"", "\"actor_party\":\"uk/border-force\"",
                              "50 message(s) returned; end of case"}));
}

TEST(ListCase, AMalformedOrForeignPageTokenIsRefused) {
  GatewayHarness h("list-case-token");
  auto bf = h.Client("parties/uk-border-force");
  for (int i = 0; i < 3; ++i) {
    v1::Receipt r;
    ASSERT_TRUE(Submit(*bf, Referral(absl::StrCat("T-", i), kCase, {"eu/europol"}), &r).ok());
    ASSERT_TRUE(Submit(*bf, Referral(absl::StrCat("U-", i), kOtherCase, {"eu/europol"}), &r).ok());
  }
  v1::ListCaseResponse other;
  ASSERT_TRUE(List(*bf, Request(kOtherCase, 1), &other).ok());
  ASSERT_FALSE(other.next_page_token().empty());

  for (const std::string& token : {std::string("not a token!"), std::string("12"), std::string("bGMxOjE6eHg"),
                                   other.next_page_token(), std::string(300, 'A')}) {
    v1::ListCaseResponse resp;
    grpc::Status s = List(*bf, Request(kCase, 1, token), &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << token;
    EXPECT_EQ(ReasonOf(s), "BAD_PAGE_TOKEN") << token;
    EXPECT_EQ(FieldOf(s), "page_token") << token;
    EXPECT_EQ(resp.messages_size(), 0);
  }
  // The other case's token goes on in its own case.
  v1::ListCaseResponse next;
  ASSERT_TRUE(List(*bf, Request(kOtherCase, 1, other.next_page_token()), &next).ok());
  ASSERT_EQ(next.messages_size(), 1);
  EXPECT_EQ(next.messages(0).message_id(), "U-1");
  EXPECT_TRUE(h.WaitForAudit({"\"action\":\"list_case\"", "\"outcome\":\"refused\"", "\"reason\":\"BAD_PAGE_TOKEN\""}));
}

TEST(ListCase, MissingOrOverlongFieldsAreRefusedAndAudited) {
  GatewayHarness h("list-case-fields");
  auto bf = h.Client("parties/uk-border-force");
  struct Case {
    const char* field;
    std::function<void(v1::ListCaseRequest&)> change;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"case_reference", [](v1::ListCaseRequest& r) { r.clear_case_reference(); }, "FIELD_REQUIRED"},
      {"officer", [](v1::ListCaseRequest& r) { r.clear_officer(); }, "FIELD_REQUIRED"},
      {"justification", [](v1::ListCaseRequest& r) { r.clear_justification(); }, "FIELD_REQUIRED"},
      {"case_reference", [](v1::ListCaseRequest& r) { r.set_case_reference(std::string(129, 'C')); },
       "FIELD_TOO_LONG"},
      {"officer", [](v1::ListCaseRequest& r) { r.set_officer(std::string(129, 'O')); }, "FIELD_TOO_LONG"},
      {"justification", [](v1::ListCaseRequest& r) { r.set_justification(std::string(4097, 'J')); },
       "FIELD_TOO_LONG"},
  };
  for (const Case& c : cases) {
    v1::ListCaseRequest req = Request(kCase);
    c.change(req);
    v1::ListCaseResponse resp;
    grpc::Status s = List(*bf, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field << " " << c.reason;
    EXPECT_EQ(ReasonOf(s), c.reason) << c.field;
    EXPECT_EQ(FieldOf(s), c.field) << c.reason;
  }
  // Limits are inclusive.
  v1::ListCaseRequest longest = Request(std::string(128, 'C'));
  longest.set_officer(std::string(128, 'O'));
  longest.set_justification(std::string(4096, 'J'));
  v1::ListCaseResponse resp;
  EXPECT_TRUE(List(*bf, longest, &resp).ok());

  // Each refusal is in the log, with who asked; an over-long value is
  // recorded only up to its limit.
  std::vector<std::string> refused;
  for (const std::string& line : AuditOf(h, "list_case")) {
    if (line.find("\"outcome\":\"refused\"") != std::string::npos) refused.push_back(line);
  }
  ASSERT_EQ(refused.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_NE(refused[i].find(absl::StrCat("\"reason\":\"", cases[i].reason, "\"")), std::string::npos)
        << refused[i];
    EXPECT_NE(refused[i].find("\"actor_party\":\"uk/border-force\""), std::string::npos) << refused[i];
  }
  EXPECT_EQ(refused[4].find(std::string(129, 'O')), std::string::npos) << "the whole over-long officer was logged";
  EXPECT_NE(refused[4].find(std::string(128, 'O')), std::string::npos);
}

TEST(ListCase, EachCallIsAuditedAsAConsultationBeforeTheAnswer) {
  GatewayHarness h("list-case-audit");
  SubmitTheCase(h);
  v1::ListCaseResponse resp;
  ASSERT_TRUE(List(*h.Client("parties/eu-europol"), Request(kCase), &resp).ok());
  ASSERT_EQ(resp.messages_size(), 3);
  // AuditThenFinish: the record is durable before the answer, so it is in
  // the file now (no waiting).
  std::vector<std::string> lines = AuditOf(h, "list_case");
  ASSERT_EQ(lines.size(), 1u);
  const std::string& line = lines[0];
  for (const std::string& needle :
       {std::string("\"actor_party\":\"eu/europol\""), absl::StrCat("\"actor_officer\":\"", kOfficer, "\""),
        absl::StrCat("\"justification\":\"", kWhy, "\""), absl::StrCat("\"case_reference\":\"", kCase, "\""),
        std::string("\"outcome\":\"ok\""), std::string("3 message(s) returned; end of case")}) {
    EXPECT_NE(line.find(needle), std::string::npos) << needle << " in " << line;
  }
  for (const char* personal : {"Zoltan", "Testperson", "Examplename"}) {
    EXPECT_EQ(line.find(personal), std::string::npos) << personal;
  }

  // A refusal is recorded the same way, with its reason.
  v1::ListCaseRequest no_why = Request(kCase);
  no_why.clear_justification();
  grpc::Status s = List(*h.Client("parties/uk-nca"), no_why, &resp);
  ASSERT_EQ(ReasonOf(s), "FIELD_REQUIRED");
  lines = AuditOf(h, "list_case");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("\"actor_party\":\"uk/nca\""), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find(absl::StrCat("\"actor_officer\":\"", kOfficer, "\"")), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("\"outcome\":\"refused\""), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("\"reason\":\"FIELD_REQUIRED\""), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("justification: "), std::string::npos) << lines[1];
}

TEST(ListCase, AnAuditLogThatCannotRecordRefusesTheListing) {
  auto fail = std::make_shared<std::atomic<bool>>(false);
  HarnessOptions o;
  o.hooks.audit_fault_injector = [fail](absl::string_view op) {
    return *fail && op == "sync" ? absl::UnavailableError("injected fdatasync failure: EIO") : absl::OkStatus();
  };
  GatewayHarness h("list-case-audit-down", o);
  MustSubmit(h, "parties/uk-border-force", Referral("A1", kCase, {"eu/europol"}));
  *fail = true;
  if (TestsOnPostgres()) RefuseAuditWrites(h.store_dsn(), true);  // The database refuses the record.
  v1::ListCaseResponse resp;
  grpc::Status s = List(*h.Client("parties/uk-border-force"), Request(kCase), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ReasonOf(s), "AUDIT_UNAVAILABLE");
  EXPECT_EQ(resp.messages_size(), 0) << "nothing disclosed without its record";
  // Refused up front from now on, even with the disk (the database) back: the failure is sticky.
  *fail = false;
  if (TestsOnPostgres()) RefuseAuditWrites(h.store_dsn(), false);
  s = List(*h.Client("parties/uk-border-force"), Request(kCase), &resp);
  EXPECT_EQ(ReasonOf(s), "AUDIT_UNAVAILABLE");
}

TEST(Track, RecordsTheOfficerAndJustificationItIsGiven) {
  GatewayHarness h("track-officer");
  MustSubmit(h, "parties/uk-border-force", Referral("K1", kCase, {"eu/europol"}));
  auto track = [&](const std::string& officer, const std::string& why) {
    grpc::ClientContext ctx;
    v1::TrackRequest req;
    req.set_message_id("K1");
    req.set_officer(officer);
    req.set_justification(why);
    v1::TrackResponse resp;
    return h.Client("parties/uk-border-force")->Track(&ctx, req, &resp);
  };
  ASSERT_TRUE(track("BF-LO-9001", "Chasing Europol before the 8-hour deadline").ok());
  std::vector<std::string> lines = AuditOf(h, "track");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"actor_officer\":\"BF-LO-9001\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"justification\":\"Chasing Europol before the 8-hour deadline\""), std::string::npos)
      << lines[0];
  EXPECT_NE(lines[0].find("\"outcome\":\"ok\""), std::string::npos) << lines[0];

  // Without them (a system's call) Track works as before: the envelope's justification.
  ASSERT_TRUE(track("", "").ok());
  lines = AuditOf(h, "track");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("\"actor_officer\":\"\""), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("DPA 2018 s.35"), std::string::npos) << lines[1];

  // Bounded like everywhere else, and the refusal recorded.
  grpc::Status s = track(std::string(129, 'O'), "why");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(s), "FIELD_TOO_LONG");
  EXPECT_EQ(FieldOf(s), "officer");
  s = track("BF-LO-9001", std::string(4097, 'J'));
  EXPECT_EQ(ReasonOf(s), "FIELD_TOO_LONG");
  EXPECT_EQ(FieldOf(s), "justification");
  lines = AuditOf(h, "track");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[3].find("\"reason\":\"FIELD_TOO_LONG\""), std::string::npos) << lines[3];
}

// An RFI that names no deadline gets the Directive 2023/977 one, counted from
// its creation time; Track and ListCase show it; resubmitting is idempotent.
TEST(AnswerDeadline, FilledFromPriorityAndShownByTrackAndListCase) {
  GatewayHarness h("answer-deadline");
  auto rfi = [](const std::string& id, v1::Priority priority, bool direct) {
    v1::Envelope e = SampleReferral(id);
    e.clear_case_referral();
    e.set_case_reference("CASE-RFI-1");
    e.set_priority(priority);
    e.mutable_request_for_information()->set_question("Which numbers are linked to the suspect?");
    e.mutable_request_for_information()->set_directly_accessible(direct);
    return e;
  };
  const v1::Envelope urgent_direct = rfi("RFI-1", v1::URGENT, true);
  const v1::Envelope urgent = rfi("RFI-2", v1::URGENT, false);
  const v1::Envelope routine = rfi("RFI-3", v1::ROUTINE, false);
  v1::Envelope fixed = rfi("RFI-4", v1::ROUTINE, false);
  fixed.mutable_request_for_information()->mutable_answer_by()->set_seconds(fixed.created_at().seconds() + 60);
  auto client = h.Client("parties/uk-border-force");
  for (const v1::Envelope* e : std::vector<const v1::Envelope*>{&urgent_direct, &urgent, &routine, &fixed}) {
    v1::Receipt receipt;
    ASSERT_TRUE(Submit(*client, *e, &receipt).ok()) << e->message_id();
  }
  v1::Receipt again;
  ASSERT_TRUE(Submit(*client, urgent_direct, &again).ok());
  EXPECT_TRUE(again.duplicate());  // The filled deadline is deterministic.
  const int64_t created = urgent_direct.created_at().seconds();
  const std::pair<const char*, int64_t> want[] = {
      {"RFI-1", created + 8 * 3600}, {"RFI-2", created + 72 * 3600}, {"RFI-3", created + 168 * 3600},
      {"RFI-4", created + 60}};
  for (const auto& [id, due] : want) {
    grpc::ClientContext context;
    v1::TrackRequest track;
    track.set_message_id(id);
    v1::TrackResponse response;
    ASSERT_TRUE(client->Track(&context, track, &response).ok());
    EXPECT_EQ(response.answer_by().seconds(), due) << id;
  }
  grpc::ClientContext context;
  v1::ListCaseResponse page;
  ASSERT_TRUE(client->ListCase(&context, Request("CASE-RFI-1"), &page).ok());
  ASSERT_EQ(page.messages_size(), 4);
  EXPECT_EQ(page.messages(0).answer_by().seconds(), created + 8 * 3600);
  EXPECT_EQ(page.messages(3).answer_by().seconds(), created + 60);
}

}  // namespace
}  // namespace portcullis::testing
