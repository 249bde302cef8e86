// Issue 13 end to end, the auditors' and operators' services: with
// `officer_assertions: required`, every Audit RPC (audit/ico) and every Admin
// RPC (ops/operator) without an assertion is ASSERTION_REQUIRED, recorded with
// the caller's party; with a valid one it succeeds and its record names the
// verified officer; an Admin request's officer other than the verified one is
// OFFICER_MISMATCH, and an empty one takes the verified officer.
#include <string>

#include <gtest/gtest.h>

#include "portcullis/v1/admin.grpc.pb.h"
#include "portcullis/v1/audit.grpc.pb.h"
#include "tests/officer_e2e_support.h"
#include "tests/support/ports.h"

namespace portcullis::testing {
namespace {

constexpr char kIco[] = "audit/ico";
constexpr char kIcoStem[] = "parties/audit-ico";
constexpr char kIcoOfficer[] = "ICO-INV-7";
constexpr char kOps[] = "ops/operator";
constexpr char kOpsStem[] = "parties/ops-operator";
constexpr char kOpsOfficer[] = "OPS-7";
constexpr grpc::StatusCode kUnauthenticated = grpc::StatusCode::UNAUTHENTICATED;
constexpr grpc::StatusCode kDenied = grpc::StatusCode::PERMISSION_DENIED;

// One Audit RPC as the ICO, with `token` ("" = none); `action` is its record's.
struct AuditCall {
  std::string name;
  std::string action;
  std::function<grpc::Status(v1::Audit::Stub&, grpc::ClientContext*)> call;
};

std::vector<AuditCall> AuditCalls() {
  return {
      {"Query", "audit_query",
       [](v1::Audit::Stub& stub, grpc::ClientContext* ctx) {
         v1::AuditQueryRequest req;
         req.set_reason("ICO complaint 2026/1187");
         req.mutable_filter()->set_action("submit");
         v1::AuditQueryResponse resp;
         return stub.Query(ctx, req, &resp);
       }},
      {"GetCheckpoint", "audit_checkpoint",
       [](v1::Audit::Stub& stub, grpc::ClientContext* ctx) {
         v1::SignedCheckpoint resp;
         return stub.GetCheckpoint(ctx, v1::GetCheckpointRequest(), &resp);
       }},
      {"GetInclusionProof", "audit_proof",
       [](v1::Audit::Stub& stub, grpc::ClientContext* ctx) {
         v1::InclusionProofRequest req;
         req.set_index(0);
         v1::InclusionProof resp;
         return stub.GetInclusionProof(ctx, req, &resp);
       }},
      {"GetConsistencyProof", "audit_proof",
       [](v1::Audit::Stub& stub, grpc::ClientContext* ctx) {
         v1::ConsistencyProofRequest req;
         req.set_old_size(1);
         v1::ConsistencyProof resp;
         return stub.GetConsistencyProof(ctx, req, &resp);
       }},
  };
}

TEST(OfficerAudit, EveryAuditRpcNeedsTheAuditorsAssertionAndRecordsTheVerifiedOfficer) {
  HarnessOptions o;
  o.officer_assertions[kIco] = "required";
  GatewayHarness h("officer-audit", o);
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("OFF-AUD-1"), &receipt).ok());
  ASSERT_TRUE(h.gateway()->audit()->CheckpointNow().ok());
  for (const AuditCall& c : AuditCalls()) {
    SCOPED_TRACE(c.name);
    auto stub = v1::Audit::NewStub(h.Channel(kIcoStem));
    EXPECT_TRUE(RefusedAndAudited(h, c.action, kIco, kUnauthenticated, "ASSERTION_REQUIRED",
                                  [&] { return c.call(*stub, ContextWith("").get()); }));
    Assertion wrong_aud = NewAssertion(kIco, kIcoOfficer);
    wrong_aud.claims["aud"] = "spiffe://exchange.gov.uk/uk/nca";
    EXPECT_TRUE(RefusedAndAudited(h, c.action, kIco, kUnauthenticated, "ASSERTION_AUDIENCE", [&] {
      return c.call(*stub, ContextWith(Sign(wrong_aud, IdpKeyPath(kIco))).get());
    }));
    grpc::Status s = c.call(*stub, ContextWith(ValidToken(kIco, kIcoOfficer)).get());
    ASSERT_TRUE(s.ok()) << s.error_message();
    const AuditRecord r = LastRecord(h, c.action);
    EXPECT_EQ(r.actor_party, kIco);
    EXPECT_EQ(r.outcome, "ok");
    EXPECT_TRUE(RecordsOfficer(r, kIcoOfficer, true));
  }
}

grpc::Status ListAs(const GatewayHarness& h, const std::string& token, const std::string& officer,
                    v1::ListDeadLettersResponse* out = nullptr) {
  v1::ListDeadLettersRequest req;
  req.set_destination("eu/europol");
  req.set_reason("incident INC-42: Europol unreachable");
  req.set_officer(officer);
  v1::ListDeadLettersResponse ignored;
  return v1::Admin::NewStub(h.Channel(kOpsStem))
      ->ListDeadLetters(ContextWith(token).get(), req, out != nullptr ? out : &ignored);
}

grpc::Status RetryAs(const GatewayHarness& h, const std::string& token, const std::string& id,
                     const std::string& officer, v1::DeadLetter* out = nullptr) {
  v1::RetryDeadLetterRequest req;
  req.set_delivery_id(id);
  req.set_reason("Europol endpoint restored");
  req.set_officer(officer);
  v1::DeadLetter ignored;
  return v1::Admin::NewStub(h.Channel(kOpsStem))
      ->RetryDeadLetter(ContextWith(token).get(), req, out != nullptr ? out : &ignored);
}

grpc::Status CancelAs(const GatewayHarness& h, const std::string& token, const std::string& id,
                      const std::string& officer, v1::DeadLetter* out = nullptr) {
  v1::CancelDeadLetterRequest req;
  req.set_delivery_id(id);
  req.set_reason("superseded by a new referral");
  req.set_officer(officer);
  v1::DeadLetter ignored;
  return v1::Admin::NewStub(h.Channel(kOpsStem))
      ->CancelDeadLetter(ContextWith(token).get(), req, out != nullptr ? out : &ignored);
}

grpc::Status StatsAs(const GatewayHarness& h, const std::string& token) {
  v1::DeliveryStats stats;
  return v1::Admin::NewStub(h.Channel(kOpsStem))
      ->GetDeliveryStats(ContextWith(token).get(), v1::GetDeliveryStatsRequest(), &stats);
}

TEST(OfficerAdmin, EveryAdminRpcNeedsTheOperatorsAssertionAndTakesOnlyTheVerifiedOfficer) {
  // Europol's push endpoint never answers: each delivery fails once and is a dead letter.
  SilentListener europol;
  HarnessOptions o;
  o.europol_push_address = europol.address();
  o.max_attempts = 1;
  o.attempt_timeout_ms = 300;
  o.officer_assertions[kOps] = "required";
  GatewayHarness h("officer-admin", o);
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("OFF-DL-1"), &receipt).ok());
  v1::Envelope second = SampleReferral("OFF-DL-2");
  second.set_case_reference("BF-2026-000002");  // Another case: not ordered behind OFF-DL-1.
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), second, &receipt).ok());
  ASSERT_TRUE(WaitForState(h, "OFF-DL-1", v1::FAILED));
  ASSERT_TRUE(WaitForState(h, "OFF-DL-2", v1::FAILED));

  // ListDeadLetters.
  grpc::Status s;
  EXPECT_TRUE(RefusedAndAudited(h, "dead_letter_list", kOps, kUnauthenticated, "ASSERTION_REQUIRED",
                                [&] { return ListAs(h, "", kOpsOfficer); }));
  EXPECT_TRUE(RefusedAndAudited(h, "dead_letter_list", kOps, kDenied, "OFFICER_MISMATCH",
                                [&] { return s = ListAs(h, ValidToken(kOps, kOpsOfficer), "OPS-9"); }));
  EXPECT_EQ(FieldOf(s), "officer");
  v1::ListDeadLettersResponse list;
  for (const std::string& named : {std::string(kOpsOfficer), std::string()}) {
    SCOPED_TRACE("ListDeadLetters naming '" + named + "'");
    s = ListAs(h, ValidToken(kOps, kOpsOfficer), named, &list);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(RecordsOfficer(LastRecord(h, "dead_letter_list"), kOpsOfficer, true));
  }
  ASSERT_EQ(list.dead_letters_size(), 2);
  const std::string id1 = list.dead_letters(0).delivery_id(), id2 = list.dead_letters(1).delivery_id();

  // GetDeliveryStats (no officer field).
  EXPECT_TRUE(RefusedAndAudited(h, "delivery_stats", kOps, kUnauthenticated, "ASSERTION_REQUIRED",
                                [&] { return StatsAs(h, ""); }));
  s = StatsAs(h, ValidToken(kOps, kOpsOfficer));
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(RecordsOfficer(LastRecord(h, "delivery_stats"), kOpsOfficer, true));

  // RetryDeadLetter: an empty officer takes the verified one.
  EXPECT_TRUE(RefusedAndAudited(h, "dead_letter_retry", kOps, kUnauthenticated, "ASSERTION_REQUIRED",
                                [&] { return RetryAs(h, "", id1, kOpsOfficer); }));
  EXPECT_TRUE(RefusedAndAudited(h, "dead_letter_retry", kOps, kDenied, "OFFICER_MISMATCH",
                                [&] { return s = RetryAs(h, ValidToken(kOps, kOpsOfficer), id1, "OPS-9"); }));
  EXPECT_EQ(FieldOf(s), "officer");
  v1::DeadLetter retried;
  s = RetryAs(h, ValidToken(kOps, kOpsOfficer), id1, "", &retried);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(retried.officer(), kOpsOfficer);
  EXPECT_TRUE(BoolFieldIs(retried, "officer_verified", true));
  EXPECT_TRUE(RecordsOfficer(LastRecord(h, "dead_letter_retry"), kOpsOfficer, true));

  // CancelDeadLetter: the officer named and verified.
  EXPECT_TRUE(RefusedAndAudited(h, "dead_letter_cancel", kOps, kUnauthenticated, "ASSERTION_REQUIRED",
                                [&] { return CancelAs(h, "", id2, kOpsOfficer); }));
  EXPECT_TRUE(RefusedAndAudited(h, "dead_letter_cancel", kOps, kDenied, "OFFICER_MISMATCH",
                                [&] { return s = CancelAs(h, ValidToken(kOps, kOpsOfficer), id2, "OPS-9"); }));
  EXPECT_EQ(FieldOf(s), "officer");
  v1::DeadLetter cancelled;
  s = CancelAs(h, ValidToken(kOps, kOpsOfficer), id2, kOpsOfficer, &cancelled);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(cancelled.state(), v1::CANCELLED);
  EXPECT_EQ(cancelled.officer(), kOpsOfficer);
  EXPECT_TRUE(BoolFieldIs(cancelled, "officer_verified", true));
  EXPECT_TRUE(RecordsOfficer(LastRecord(h, "dead_letter_cancel"), kOpsOfficer, true));
}

}  // namespace
}  // namespace portcullis::testing
