// CheckRoutes with wildcard routes: "*" must never let an operator (or an
// auditor) send or receive.
#include "gateway/policy/route_policy.h"

#include <gtest/gtest.h>

#include "gateway/common/refusal.h"

namespace portcullis {
namespace {

Party MakeParty(const std::string& id, PartyKind kind) {
  Party p;
  p.id = id;
  p.kind = kind;
  p.clearance = v1::SECRET;
  p.delivery.mode = kind == PartyKind::kOperator || kind == PartyKind::kAuditor ? DeliveryMode::kNone
                                                                                  : DeliveryMode::kPull;
  return p;
}

// Anyone to anyone, any body type: only the kinds stop it.
Config WideOpen() {
  Config c;
  c.parties = {MakeParty("uk/nca", PartyKind::kUkAgency), MakeParty("ops/operator", PartyKind::kOperator),
               MakeParty("audit/ico", PartyKind::kAuditor)};
  Route r;
  r.name = "anything";
  r.from = {"*"};
  r.to = {"*"};
  r.body_types = {BodyType::kCaseReferral};
  r.max_classification = v1::SECRET;
  c.routes = {r};
  return c;
}

v1::Envelope Referral(const std::string& recipient) {
  v1::Envelope e;
  e.add_recipients(recipient);
  e.set_classification(v1::OFFICIAL);
  e.mutable_case_referral()->set_summary("s");
  return e;
}

TEST(RoutePolicy, WildcardRoutesCarryMessagesBetweenAgencies) {
  const Config c = WideOpen();
  EXPECT_TRUE(CheckRoutes(c, c.parties[0], Referral("uk/nca")).ok());
}

TEST(RoutePolicy, AnOperatorNeitherSendsNorReceivesWhateverTheRoutes) {
  const Config c = WideOpen();
  absl::Status to_operator = CheckRoutes(c, c.parties[0], Referral("ops/operator"));
  EXPECT_EQ(to_operator.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(RefusalOf(to_operator).reason(), "ROUTE_NOT_PERMITTED");
  EXPECT_EQ(RefusalOf(to_operator).field(), "envelope.recipients[0]");
  absl::Status from_operator = CheckRoutes(c, c.parties[1], Referral("uk/nca"));
  EXPECT_EQ(from_operator.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(RefusalOf(from_operator).reason(), "ROUTE_NOT_PERMITTED");
  EXPECT_NE(from_operator.message().find("operator"), absl::string_view::npos) << from_operator;
}

TEST(RoutePolicy, ARecipientsMaxMessageBytesBoundsTheEnvelopeAsStored) {
  Config c = WideOpen();
  c.parties.push_back(MakeParty("uk/bsc", PartyKind::kUkAgency));
  c.parties.back().delivery.max_message_bytes = 64;
  v1::Envelope e = Referral("uk/nca");
  e.add_recipients("uk/bsc");
  e.mutable_case_referral()->set_summary(std::string(40, 's'));
  e.set_sender("uk/nca");
  const size_t bytes = StoredEnvelopeBytes(e, c.parties[0]);
  ASSERT_EQ(bytes, e.ByteSizeLong());  // The sender is already set: stored as submitted.
  ASSERT_GT(bytes, 64u);
  absl::Status s = CheckRoutes(c, c.parties[0], e);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RefusalOf(s).reason(), "MESSAGE_TOO_LARGE");
  EXPECT_EQ(RefusalOf(s).field(), "envelope.recipients[1]");  // uk/nca (no limit) took it.
  EXPECT_NE(s.message().find("'uk/bsc' accepts at most 64 bytes"), absl::string_view::npos) << s;
  e.mutable_case_referral()->set_summary("s");
  EXPECT_TRUE(CheckRoutes(c, c.parties[0], e).ok());
}

TEST(RoutePolicy, StoredSizeCountsWhatTheGatewayAddsAtItsLargest) {
  const Config c = WideOpen();
  v1::Envelope rfi;
  rfi.add_recipients("uk/nca");
  rfi.mutable_request_for_information()->set_question(std::string(200, 'q'));
  const size_t counted = StoredEnvelopeBytes(rfi, c.parties[0]);
  // What Submit stores: the sender and an answer_by filled in.
  v1::Envelope stored = rfi;
  stored.set_sender(c.parties[0].id);
  stored.mutable_request_for_information()->mutable_answer_by()->set_seconds(253402300799);
  stored.mutable_request_for_information()->mutable_answer_by()->set_nanos(999999999);
  EXPECT_EQ(counted, stored.ByteSizeLong());
  stored.mutable_request_for_information()->mutable_answer_by()->set_seconds(1780000000);
  stored.mutable_request_for_information()->mutable_answer_by()->set_nanos(0);
  EXPECT_GE(counted, stored.ByteSizeLong());
  // An RFI naming its own deadline is stored as it is (but for the sender).
  rfi.set_sender(c.parties[0].id);
  *rfi.mutable_request_for_information()->mutable_answer_by() = stored.request_for_information().answer_by();
  EXPECT_EQ(StoredEnvelopeBytes(rfi, c.parties[0]), rfi.ByteSizeLong());
}

}  // namespace
}  // namespace portcullis
