// The operators' Admin service end to end, with a real gateway, real mTLS and
// a real Europol endpoint: a push partner that is down turns deliveries into
// FAILED dead letters; the operator lists them, retries one once the partner
// is up (delivered exactly once) and cancels another (never delivered);
// statistics count it all per destination; anyone who is not an operator is
// refused NOT_AN_OPERATOR; every call is in the audit log with its officer
// and reason.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/common/partner_endpoint.h"
#include "adapters/common/party_tls.h"
#include "gateway/audit/log_format.h"
#include "portcullis/v1/admin.grpc.pb.h"
#include "tests/support/harness.h"
#include "tests/support/partners.h"

namespace portcullis::testing {
namespace {

constexpr char kOperator[] = "parties/ops-operator";

std::unique_ptr<v1::Admin::Stub> Admin(const GatewayHarness& h, const std::string& stem = kOperator) {
  return v1::Admin::NewStub(h.Channel(stem));
}

grpc::Status List(v1::Admin::Stub& stub, const std::string& destination, v1::ListDeadLettersResponse* out,
                  uint32_t page_size = 0, const std::string& token = "") {
  v1::ListDeadLettersRequest req;
  req.set_destination(destination);
  req.set_reason("incident INC-42: Europol unreachable");
  req.set_officer("OPS-7");
  req.set_page_size(page_size);
  req.set_page_token(token);
  return stub.ListDeadLetters(CallContext().get(), req, out);
}

grpc::Status Retry(v1::Admin::Stub& stub, const std::string& id, v1::DeadLetter* out) {
  v1::RetryDeadLetterRequest req;
  req.set_delivery_id(id);
  req.set_reason("Europol endpoint restored");
  req.set_officer("OPS-7");
  return stub.RetryDeadLetter(CallContext().get(), req, out);
}

grpc::Status Cancel(v1::Admin::Stub& stub, const std::string& id, v1::DeadLetter* out) {
  v1::CancelDeadLetterRequest req;
  req.set_delivery_id(id);
  req.set_reason("superseded by a new referral");
  req.set_officer("OPS-9");
  return stub.CancelDeadLetter(CallContext().get(), req, out);
}

grpc::Status Stats(v1::Admin::Stub& stub, v1::DeliveryStats* out) {
  return stub.GetDeliveryStats(CallContext().get(), v1::GetDeliveryStatsRequest(), out);
}

const v1::DestinationStats* StatsFor(const v1::DeliveryStats& stats, const std::string& destination) {
  for (const auto& d : stats.destinations()) {
    if (d.destination() == destination) return &d;
  }
  return nullptr;
}

int Delivered(const GatewayHarness& h, const std::string& message_id) {
  int n = 0;
  for (const AuditRecord& r : h.AuditRecords("deliver")) n += r.message_id == message_id && r.outcome == "delivered";
  return n;
}

TEST(Admin, DeadLettersAreListedRetriedOnceAndCancelledWithEveryActionAudited) {
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("admin-europol");
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  ho.max_attempts = 2;  // Europol is down: two attempts each, then FAILED.
  GatewayHarness h("admin-dead-letters", ho);

  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("DL-1"), &receipt).ok());
  v1::Envelope second = SampleReferral("DL-2");
  second.set_case_reference("BF-2026-000002");  // Another case: not ordered behind DL-1.
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), second, &receipt).ok());
  ASSERT_TRUE(WaitForState(h, "DL-1", v1::FAILED));
  ASSERT_TRUE(WaitForState(h, "DL-2", v1::FAILED));

  auto admin = Admin(h);
  v1::ListDeadLettersResponse list;
  grpc::Status s = List(*admin, "eu/europol", &list);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(list.dead_letters_size(), 2);
  const v1::DeadLetter& dl1 = list.dead_letters(0);
  EXPECT_EQ(dl1.message_id(), "DL-1");
  EXPECT_EQ(dl1.sender(), "uk/border-force");
  EXPECT_EQ(dl1.recipient(), "eu/europol");
  EXPECT_EQ(dl1.state(), v1::FAILED);
  EXPECT_EQ(dl1.attempts(), 2u);
  EXPECT_FALSE(dl1.last_error().empty());
  EXPECT_EQ(list.dead_letters(1).message_id(), "DL-2");
  const std::string id1 = dl1.delivery_id(), id2 = list.dead_letters(1).delivery_id();

  // Paging in seq order; other destinations have none.
  v1::ListDeadLettersResponse page1, page2, other;
  ASSERT_TRUE(List(*admin, "", &page1, 1).ok());
  ASSERT_EQ(page1.dead_letters_size(), 1);
  EXPECT_EQ(page1.dead_letters(0).delivery_id(), id1);
  ASSERT_FALSE(page1.next_page_token().empty());
  ASSERT_TRUE(List(*admin, "", &page2, 1, page1.next_page_token()).ok());
  ASSERT_EQ(page2.dead_letters_size(), 1);
  EXPECT_EQ(page2.dead_letters(0).delivery_id(), id2);
  ASSERT_TRUE(List(*admin, "uk/nca", &other).ok());
  EXPECT_EQ(other.dead_letters_size(), 0);

  v1::DeliveryStats stats;
  ASSERT_TRUE(Stats(*admin, &stats).ok());
  const v1::DestinationStats* europol = StatsFor(stats, "eu/europol");
  ASSERT_NE(europol, nullptr);
  EXPECT_EQ(europol->mode(), "push");
  EXPECT_EQ(europol->attempts(), 4u);
  EXPECT_EQ(europol->failures(), 4u);
  EXPECT_EQ(europol->retries_scheduled(), 2u);
  EXPECT_EQ(europol->dead_lettered(), 2u);
  EXPECT_EQ(europol->delivered(), 0u);
  EXPECT_EQ(europol->dead_letters_failed(), 2u);
  EXPECT_EQ(europol->backlog_messages(), 0u);
  EXPECT_EQ(europol->breaker(), "closed");
  ASSERT_NE(StatsFor(stats, "uk/nca"), nullptr);
  EXPECT_EQ(StatsFor(stats, "ops/operator"), nullptr);

  // Europol is back: the retried dead letter is delivered, exactly once.
  eo.listen_address = ho.europol_push_address;
  eo.gateway_address = h.address();
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  v1::DeadLetter retried;
  s = Retry(*admin, id1, &retried);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(retried.state(), v1::ACCEPTED);
  EXPECT_EQ(retried.attempts(), 0u);  // A fresh budget of max_attempts.
  EXPECT_EQ(retried.officer(), "OPS-7");
  EXPECT_FALSE(retried.last_error().empty());
  // A retry gets max_attempts (2) again. The gateway's channel to Europol
  // may still be in its reconnect backoff (up to 5 s) and fail both at
  // once: then it is a dead letter again, and the operator retries again.
  int retries = 1;
  for (; retries < 20; ++retries) {
    v1::DeliveryState state = v1::DELIVERY_STATE_UNSPECIFIED;
    for (int i = 0; i < 100; ++i) {
      state = StateOf(h, "DL-1");
      if (state == v1::ACKNOWLEDGED || state == v1::FAILED) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (state == v1::ACKNOWLEDGED) break;
    ASSERT_EQ(state, v1::FAILED);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    s = Retry(*admin, id1, &retried);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(retried.attempts(), 0u);
  }
  ASSERT_TRUE(WaitForState(h, "DL-1", v1::ACKNOWLEDGED));

  v1::DeadLetter cancelled;
  s = Cancel(*admin, id2, &cancelled);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(cancelled.state(), v1::CANCELLED);
  EXPECT_EQ(cancelled.reason(), "superseded by a new referral");
  EXPECT_EQ(cancelled.officer(), "OPS-9");
  EXPECT_FALSE(cancelled.last_error().empty());  // The delivery error is kept.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(StateOf(h, "DL-2"), v1::CANCELLED);
  EXPECT_EQ((*endpoint)->stored_count(), 1);
  EXPECT_EQ(Delivered(h, "DL-1"), 1);
  EXPECT_EQ(Delivered(h, "DL-2"), 0);

  // Neither is a dead letter any more; an unknown id is not found.
  v1::DeadLetter ignored;
  s = Retry(*admin, id2, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "NOT_A_DEAD_LETTER");
  s = Cancel(*admin, id1, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  s = Retry(*admin, "0123456789abcdef0123456789abcdef", &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(s), "DELIVERY_NOT_FOUND");
  ASSERT_TRUE(List(*admin, "", &list).ok());
  EXPECT_EQ(list.dead_letters_size(), 0);

  ASSERT_TRUE(Stats(*admin, &stats).ok());
  europol = StatsFor(stats, "eu/europol");
  ASSERT_NE(europol, nullptr);
  EXPECT_EQ(europol->delivered(), 1u);
  EXPECT_GE(europol->attempts(), static_cast<uint64_t>(4 + retries));
  EXPECT_LE(europol->attempts(), static_cast<uint64_t>(4 + 2 * retries));
  EXPECT_EQ(europol->dead_letters_failed(), 0u);
  EXPECT_EQ(europol->cancelled(), 1u);
  EXPECT_EQ(europol->backlog_messages(), 0u);

  // Every action is in the audit log, with the operator, officer and reason.
  std::vector<AuditRecord> lists = h.AuditRecords("dead_letter_list");
  ASSERT_GE(lists.size(), 4u);
  EXPECT_EQ(lists[0].actor_party, "ops/operator");
  EXPECT_EQ(lists[0].actor_officer, "OPS-7");
  EXPECT_EQ(lists[0].justification, "incident INC-42: Europol unreachable");
  EXPECT_EQ(lists[0].outcome, "ok");
  std::vector<AuditRecord> retry_records = h.AuditRecords("dead_letter_retry");
  ASSERT_EQ(retry_records.size(), static_cast<size_t>(retries + 2));  // The retries, then the refused ones.
  const AuditRecord& first_retry = retry_records[0];
  EXPECT_EQ(first_retry.outcome, "ok");
  EXPECT_EQ(first_retry.actor_party, "ops/operator");
  EXPECT_EQ(first_retry.actor_officer, "OPS-7");
  EXPECT_EQ(first_retry.justification, "Europol endpoint restored");
  EXPECT_EQ(first_retry.message_id, "DL-1");
  EXPECT_EQ(first_retry.sender, "uk/border-force");
  ASSERT_EQ(first_retry.recipients.size(), 1u);
  EXPECT_EQ(first_retry.recipients[0], "eu/europol");
  EXPECT_NE(first_retry.detail.find("FAILED -> ACCEPTED"), std::string::npos) << first_retry.detail;
  const AuditRecord& refused_retry = retry_records[retries];
  EXPECT_EQ(refused_retry.outcome, "refused");
  EXPECT_EQ(refused_retry.reason, "NOT_A_DEAD_LETTER");
  EXPECT_EQ(refused_retry.message_id, "DL-2");
  std::vector<AuditRecord> cancels = h.AuditRecords("dead_letter_cancel");
  ASSERT_EQ(cancels.size(), 2u);
  EXPECT_EQ(cancels[0].outcome, "ok");
  EXPECT_EQ(cancels[0].actor_officer, "OPS-9");
  EXPECT_EQ(cancels[0].justification, "superseded by a new referral");
  EXPECT_EQ(cancels[0].message_id, "DL-2");
  std::vector<AuditRecord> stats_records = h.AuditRecords("delivery_stats");
  ASSERT_EQ(stats_records.size(), 2u);
  EXPECT_EQ(stats_records[0].actor_party, "ops/operator");
  EXPECT_EQ(stats_records[0].outcome, "ok");
}

TEST(Admin, OnlyOperatorsAreServedAndRefusalsAreAudited) {
  GatewayHarness h("admin-refusals");
  for (const char* stem : {"parties/uk-nca", "parties/audit-ico"}) {
    auto admin = Admin(h, stem);
    v1::ListDeadLettersResponse list;
    grpc::Status s = List(*admin, "", &list);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << stem;
    EXPECT_EQ(ReasonOf(s), "NOT_AN_OPERATOR") << stem;
    v1::DeadLetter dl;
    s = Retry(*admin, "0123456789abcdef0123456789abcdef", &dl);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << stem;
    EXPECT_EQ(ReasonOf(s), "NOT_AN_OPERATOR") << stem;
    s = Cancel(*admin, "0123456789abcdef0123456789abcdef", &dl);
    EXPECT_EQ(ReasonOf(s), "NOT_AN_OPERATOR") << stem;
    v1::DeliveryStats stats;
    s = Stats(*admin, &stats);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << stem;
    EXPECT_EQ(stats.destinations_size(), 0);
  }
  for (const char* action : {"dead_letter_list", "dead_letter_retry", "dead_letter_cancel", "delivery_stats"}) {
    std::vector<AuditRecord> records = h.AuditRecords(action);
    ASSERT_EQ(records.size(), 2u) << action;
    EXPECT_EQ(records[0].actor_party, "uk/nca") << action;
    EXPECT_EQ(records[1].actor_party, "audit/ico") << action;
    for (const AuditRecord& r : records) {
      EXPECT_EQ(r.outcome, "refused") << action;
      EXPECT_EQ(r.reason, "NOT_AN_OPERATOR") << action;
    }
  }
}

TEST(Admin, MissingFieldsAreInvalidArgumentNamingTheField) {
  GatewayHarness h("admin-fields");
  auto admin = Admin(h);
  v1::ListDeadLettersResponse list;
  grpc::Status s = admin->ListDeadLetters(CallContext().get(), v1::ListDeadLettersRequest(), &list);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(s), "FIELD_REQUIRED");
  EXPECT_EQ(FieldOf(s), "reason");
  v1::ListDeadLettersRequest bad_token;
  bad_token.set_reason("r");
  bad_token.set_page_token("not-a-token");
  s = admin->ListDeadLetters(CallContext().get(), bad_token, &list);
  EXPECT_EQ(FieldOf(s), "page_token");

  struct Case {
    std::string id, reason, officer, field;
  };
  for (const Case& c : {Case{"", "r", "o", "delivery_id"}, Case{"abc", "", "o", "reason"},
                        Case{"abc", "r", "", "officer"}}) {
    v1::RetryDeadLetterRequest retry;
    retry.set_delivery_id(c.id);
    retry.set_reason(c.reason);
    retry.set_officer(c.officer);
    v1::DeadLetter dl;
    s = admin->RetryDeadLetter(CallContext().get(), retry, &dl);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(ReasonOf(s), "FIELD_REQUIRED") << c.field;
    EXPECT_EQ(FieldOf(s), c.field);
    v1::CancelDeadLetterRequest cancel;
    cancel.set_delivery_id(c.id);
    cancel.set_reason(c.reason);
    cancel.set_officer(c.officer);
    s = admin->CancelDeadLetter(CallContext().get(), cancel, &dl);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(FieldOf(s), c.field);
  }
  ASSERT_TRUE(h.WaitForAudit({"\"action\":\"dead_letter_cancel\"", "\"reason\":\"FIELD_REQUIRED\"", "officer: "}));
}

TEST(Admin, OperatorsCannotSubmit) {
  GatewayHarness h("admin-no-submit");
  v1::Receipt receipt;
  grpc::Status s = Submit(*h.Client(kOperator), SampleReferral("OPS-1"), &receipt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(s), "ROUTE_NOT_PERMITTED");
}

}  // namespace
}  // namespace portcullis::testing
