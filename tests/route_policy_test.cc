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

}  // namespace
}  // namespace portcullis
