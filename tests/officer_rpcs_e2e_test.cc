// Issue 13 end to end, the Exchange RPCs besides Submit: Track, Acknowledge
// and ListCase need the assertion of a `required` party (ASSERTION_REQUIRED),
// refuse a request officer other than the verified one (OFFICER_MISMATCH),
// take the verified officer when the request names none, and record it as
// verified; Receive and Confirm never need one. What the parties see says
// whether an officer was verified: Track (the originating officer and each
// recipient's deciding officer), ListCase and the recipient's Delivery.
#include <string>

#include <gtest/gtest.h>

#include "tests/officer_e2e_support.h"

namespace portcullis::testing {
namespace {

constexpr char kBf[] = "uk/border-force";
constexpr char kBfStem[] = "parties/uk-border-force";
constexpr char kEuropol[] = "eu/europol";
constexpr char kEuropolStem[] = "parties/eu-europol";
constexpr char kOfficer[] = "BF-LO-4471";       // SampleReferral's originating_officer.
constexpr char kCase[] = "BF-2026-004512";       // SampleReferral's case.
constexpr char kEuropolOfficer[] = "EU-OFF-1";
constexpr grpc::StatusCode kUnauthenticated = grpc::StatusCode::UNAUTHENTICATED;
constexpr grpc::StatusCode kDenied = grpc::StatusCode::PERMISSION_DENIED;

HarnessOptions Both(const std::string& mode) {
  HarnessOptions o;
  o.officer_assertions[kBf] = mode;
  o.officer_assertions[kEuropol] = mode;
  return o;
}

grpc::Status TrackAs(const GatewayHarness& h, const std::string& token, const std::string& message_id,
                     const std::string& officer, v1::TrackResponse* out = nullptr) {
  v1::TrackRequest req;
  req.set_message_id(message_id);
  req.set_officer(officer);
  req.set_justification("follow-up of the referral");
  v1::TrackResponse ignored;
  return h.Client(kBfStem)->Track(ContextWith(token).get(), req, out != nullptr ? out : &ignored);
}

grpc::Status AcknowledgeAs(const GatewayHarness& h, const std::string& token, const std::string& message_id,
                           const std::string& officer, v1::AcknowledgeResponse* out = nullptr) {
  v1::AcknowledgeRequest req;
  req.set_sender(kBf);
  req.set_message_id(message_id);
  req.set_decision(v1::ACCEPT);
  req.set_officer(officer);
  v1::AcknowledgeResponse ignored;
  return h.Client(kEuropolStem)->Acknowledge(ContextWith(token).get(), req, out != nullptr ? out : &ignored);
}

grpc::Status ListCaseAs(const GatewayHarness& h, const std::string& token, const std::string& officer,
                        v1::ListCaseResponse* out = nullptr) {
  v1::ListCaseRequest req;
  req.set_case_reference(kCase);
  req.set_officer(officer);
  req.set_justification("case review");
  v1::ListCaseResponse ignored;
  return h.Client(kBfStem)->ListCase(ContextWith(token).get(), req, out != nullptr ? out : &ignored);
}

// Europol's next delivery on a Receive stream opened without an assertion.
v1::Delivery ReceiveOne(const GatewayHarness& h, const std::string& token = "") {
  auto stub = h.Client(kEuropolStem);
  auto ctx = ContextWith(token);
  std::unique_ptr<grpc::ClientReader<v1::Delivery>> reader = stub->Receive(ctx.get(), v1::ReceiveRequest());
  v1::Delivery d;
  EXPECT_TRUE(reader->Read(&d)) << "no delivery on the Receive stream: " << reader->Finish().error_message();
  ctx->TryCancel();
  for (v1::Delivery rest; reader->Read(&rest);) {
  }
  reader->Finish().ok();
  return d;
}

grpc::Status ConfirmAs(const GatewayHarness& h, const std::string& token, const std::string& through) {
  v1::ConfirmRequest req;
  req.set_through_delivery_id(through);
  v1::ConfirmResponse resp;
  return h.Client(kEuropolStem)->Confirm(ContextWith(token).get(), req, &resp);
}

void SubmitVerified(const GatewayHarness& h, const std::string& message_id, const std::string& token) {
  v1::SubmitRequest req;
  *req.mutable_envelope() = SampleReferral(message_id);
  v1::Receipt receipt;
  grpc::Status s = h.Client(kBfStem)->Submit(ContextWith(token).get(), req, &receipt);
  ASSERT_TRUE(s.ok()) << s.error_message();
}

TEST(OfficerRpcs, ReceiveAndConfirmNeedNoAssertionAndTheDeliveryShowsTheVerifiedOfficer) {
  GatewayHarness h("officer-receive", Both("required"));
  ASSERT_NO_FATAL_FAILURE(SubmitVerified(h, "OFF-RCV-1", ValidToken(kBf, kOfficer)));
  const v1::Delivery d = ReceiveOne(h);
  ASSERT_EQ(d.envelope().message_id(), "OFF-RCV-1");
  EXPECT_EQ(d.envelope().originating_officer(), kOfficer);
  EXPECT_TRUE(BoolFieldIs(d, "originating_officer_verified", true));
  // A header sent to Confirm (or Receive) is ignored, even one that would not verify.
  grpc::Status s = ConfirmAs(h, "not-a-jws", d.delivery_id());
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = ConfirmAs(h, "", d.delivery_id());
  EXPECT_TRUE(s.ok()) << s.error_message();
  ASSERT_NO_FATAL_FAILURE(SubmitVerified(h, "OFF-RCV-2", ValidToken(kBf, kOfficer)));
  EXPECT_EQ(ReceiveOne(h, "not-a-jws").envelope().message_id(), "OFF-RCV-2");
  EXPECT_EQ(RefusedRecords(h, "receive", "ASSERTION_MALFORMED", kEuropol), 0);
  EXPECT_EQ(RefusedRecords(h, "confirm", "ASSERTION_MALFORMED", kEuropol), 0);
}

TEST(OfficerRpcs, AcknowledgeTrackAndListCaseTakeOnlyTheVerifiedOfficer) {
  GatewayHarness h("officer-rpcs", Both("required"));
  ASSERT_NO_FATAL_FAILURE(SubmitVerified(h, "OFF-RPC-1", ValidToken(kBf, kOfficer)));
  ASSERT_TRUE(ConfirmAs(h, "", ReceiveOne(h).delivery_id()).ok());

  // Acknowledge (Europol's officer).
  EXPECT_TRUE(RefusedAndAudited(h, "acknowledge", kEuropol, kUnauthenticated, "ASSERTION_REQUIRED",
                                [&] { return AcknowledgeAs(h, "", "OFF-RPC-1", kEuropolOfficer); }));
  grpc::Status s;
  EXPECT_TRUE(RefusedAndAudited(h, "acknowledge", kEuropol, kDenied, "OFFICER_MISMATCH", [&] {
    return s = AcknowledgeAs(h, ValidToken(kEuropol, kEuropolOfficer), "OFF-RPC-1", "EU-OFF-2");
  }));
  EXPECT_EQ(FieldOf(s), "officer");
  Assertion expired = NewAssertion(kEuropol, kEuropolOfficer);
  expired.claims["exp"] = 1000000000;
  EXPECT_TRUE(RefusedAndAudited(h, "acknowledge", kEuropol, kUnauthenticated, "ASSERTION_EXPIRED", [&] {
    return AcknowledgeAs(h, Sign(expired, IdpKeyPath(kEuropol)), "OFF-RPC-1", kEuropolOfficer);
  }));
  // Empty officer, valid assertion: the verified officer decides.
  v1::AcknowledgeResponse ack;
  s = AcknowledgeAs(h, ValidToken(kEuropol, kEuropolOfficer), "OFF-RPC-1", "", &ack);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ack.status().state(), v1::ACKNOWLEDGED);
  EXPECT_EQ(ack.status().officer(), kEuropolOfficer);
  EXPECT_TRUE(BoolFieldIs(ack.status(), "officer_verified", true));
  EXPECT_TRUE(RecordsOfficer(LastRecord(h, "acknowledge"), kEuropolOfficer, true));
  EXPECT_EQ(LastRecord(h, "acknowledge").outcome, "acknowledged");
  // The same officer named and verified: the same decision again is OK.
  s = AcknowledgeAs(h, ValidToken(kEuropol, kEuropolOfficer), "OFF-RPC-1", kEuropolOfficer);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(RecordsOfficer(LastRecord(h, "acknowledge"), kEuropolOfficer, true));

  // Track (Border Force's officer).
  EXPECT_TRUE(RefusedAndAudited(h, "track", kBf, kUnauthenticated, "ASSERTION_REQUIRED",
                                [&] { return TrackAs(h, "", "OFF-RPC-1", kOfficer); }));
  EXPECT_TRUE(RefusedAndAudited(h, "track", kBf, kDenied, "OFFICER_MISMATCH", [&] {
    return s = TrackAs(h, ValidToken(kBf, kOfficer), "OFF-RPC-1", "BF-LO-9999");
  }));
  EXPECT_EQ(FieldOf(s), "officer");
  for (const std::string& named : {std::string(kOfficer), std::string()}) {
    SCOPED_TRACE("Track naming '" + named + "'");
    v1::TrackResponse track;
    s = TrackAs(h, ValidToken(kBf, kOfficer), "OFF-RPC-1", named, &track);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(RecordsOfficer(LastRecord(h, "track"), kOfficer, true));
    EXPECT_EQ(LastRecord(h, "track").outcome, "ok");
    // The originating officer, verified; the recipient's decision, by a verified officer.
    EXPECT_TRUE(StringFieldIs(track, "originating_officer", kOfficer));
    EXPECT_TRUE(BoolFieldIs(track, "originating_officer_verified", true));
    ASSERT_EQ(track.recipients_size(), 1);
    EXPECT_EQ(track.recipients(0).state(), v1::ACKNOWLEDGED);
    EXPECT_EQ(track.recipients(0).officer(), kEuropolOfficer);
    EXPECT_TRUE(BoolFieldIs(track.recipients(0), "officer_verified", true));
  }

  // ListCase (Border Force's officer).
  EXPECT_TRUE(RefusedAndAudited(h, "list_case", kBf, kUnauthenticated, "ASSERTION_REQUIRED",
                                [&] { return ListCaseAs(h, "", kOfficer); }));
  EXPECT_TRUE(RefusedAndAudited(h, "list_case", kBf, kDenied, "OFFICER_MISMATCH", [&] {
    return s = ListCaseAs(h, ValidToken(kBf, kOfficer), "BF-LO-9999");
  }));
  EXPECT_EQ(FieldOf(s), "officer");
  for (const std::string& named : {std::string(kOfficer), std::string()}) {
    SCOPED_TRACE("ListCase naming '" + named + "'");
    v1::ListCaseResponse list;
    s = ListCaseAs(h, ValidToken(kBf, kOfficer), named, &list);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(RecordsOfficer(LastRecord(h, "list_case"), kOfficer, true));
    ASSERT_EQ(list.messages_size(), 1);
    EXPECT_EQ(list.messages(0).originating_officer(), kOfficer);
    EXPECT_TRUE(BoolFieldIs(list.messages(0), "originating_officer_verified", true));
    ASSERT_EQ(list.messages(0).recipients_size(), 1);
    EXPECT_TRUE(BoolFieldIs(list.messages(0).recipients(0), "officer_verified", true));
  }
}

// Optional parties without assertions: every view says "claimed"; an
// assertion on a later call verifies that call's officer, not the message's.
TEST(OfficerRpcs, ClaimedOfficersAreShownAsNotVerified) {
  GatewayHarness h("officer-claimed", Both("optional"));
  ASSERT_NO_FATAL_FAILURE(SubmitVerified(h, "OFF-CLM-1", ""));
  const v1::Delivery d = ReceiveOne(h);
  ASSERT_EQ(d.envelope().message_id(), "OFF-CLM-1");
  EXPECT_TRUE(BoolFieldIs(d, "originating_officer_verified", false));
  ASSERT_TRUE(ConfirmAs(h, "", d.delivery_id()).ok());
  grpc::Status s = AcknowledgeAs(h, "", "OFF-CLM-1", kEuropolOfficer);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(RecordsOfficer(LastRecord(h, "acknowledge"), kEuropolOfficer, false));

  v1::TrackResponse track;
  s = TrackAs(h, "", "OFF-CLM-1", kOfficer, &track);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(RecordsOfficer(LastRecord(h, "track"), kOfficer, false));
  EXPECT_TRUE(BoolFieldIs(track, "originating_officer_verified", false));
  ASSERT_EQ(track.recipients_size(), 1);
  EXPECT_EQ(track.recipients(0).officer(), kEuropolOfficer);
  EXPECT_TRUE(BoolFieldIs(track.recipients(0), "officer_verified", false));

  // A verified Track: its own record is verified; the message's officers stay claimed.
  s = TrackAs(h, ValidToken(kBf, "BF-LO-0002"), "OFF-CLM-1", "", &track);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(RecordsOfficer(LastRecord(h, "track"), "BF-LO-0002", true));
  EXPECT_TRUE(BoolFieldIs(track, "originating_officer_verified", false));

  v1::ListCaseResponse list;
  s = ListCaseAs(h, "", kOfficer, &list);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(RecordsOfficer(LastRecord(h, "list_case"), kOfficer, false));
  ASSERT_EQ(list.messages_size(), 1);
  EXPECT_TRUE(BoolFieldIs(list.messages(0), "originating_officer_verified", false));
  // A bad assertion is refused here too, optional or not.
  EXPECT_TRUE(RefusedAndAudited(h, "list_case", kBf, kUnauthenticated, "ASSERTION_MALFORMED",
                                [&] { return ListCaseAs(h, "not-a-jws", kOfficer); }));
}

}  // namespace
}  // namespace portcullis::testing
