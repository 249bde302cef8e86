// End-to-end tests: the real gateway on loopback with real mTLS.
#include <atomic>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/harness.h"
#include "tests/support/partners.h"
#include "tests/support/test_storage.h"

namespace portcullis::testing {
namespace {

TEST(GatewayE2E, PullDeliveryAndAcknowledgementReachTheSender) {
  GatewayHarness h("pull-e2e");
  auto nca = h.Client("parties/uk-nca");
  v1::Envelope e = SampleReferral("PULL-1", {"uk/bsc"});
  v1::Receipt receipt;
  grpc::Status s = Submit(*nca, e, &receipt);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(receipt.sender(), "uk/nca");

  auto bsc = h.Client("parties/uk-bsc");
  grpc::ClientContext rctx;
  rctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto reader = bsc->Receive(&rctx, v1::ReceiveRequest());
  v1::Delivery d;
  ASSERT_TRUE(reader->Read(&d));
  EXPECT_EQ(d.envelope().message_id(), "PULL-1");
  EXPECT_EQ(d.envelope().sender(), "uk/nca");
  rctx.TryCancel();

  grpc::ClientContext actx;
  v1::AcknowledgeRequest ack;
  ack.set_sender("uk/nca");
  ack.set_message_id("PULL-1");
  ack.set_decision(v1::ACCEPT);
  ack.set_officer("BSC-7");
  v1::AcknowledgeResponse ar;
  ASSERT_TRUE(bsc->Acknowledge(&actx, ack, &ar).ok());

  grpc::ClientContext tctx;
  v1::TrackRequest tr;
  tr.set_message_id("PULL-1");
  v1::TrackResponse track;
  ASSERT_TRUE(nca->Track(&tctx, tr, &track).ok());
  ASSERT_EQ(track.recipients_size(), 1);
  EXPECT_EQ(track.recipients(0).state(), v1::ACKNOWLEDGED);
  EXPECT_EQ(track.recipients(0).officer(), "BSC-7");
  // The audit log holds the digest, never the personal data.
  for (const auto& line : h.AuditLines()) EXPECT_EQ(line.find("Testperson"), std::string::npos);
}

TEST(GatewayE2E, SenderClaimingAnotherPartyIsRefused) {
  GatewayHarness h("sender-mismatch");
  v1::Envelope e = SampleReferral("CLAIM-1");
  e.set_sender("uk/nca");
  v1::Receipt r;
  grpc::Status s = Submit(*h.Client("parties/uk-border-force"), e, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(s), "SENDER_MISMATCH");
  EXPECT_EQ(FieldOf(s), "envelope.sender");
  EXPECT_TRUE(h.WaitForAudit({"\"outcome\":\"refused\"", "SENDER_MISMATCH"}));
}

TEST(GatewayE2E, RouteAndClearanceRefusals) {
  GatewayHarness h("routes");
  v1::Receipt r;
  // eu/fr-dnpaf has no route to eu/europol.
  v1::Envelope e = SampleReferral("ROUTE-1", {"eu/europol"});
  grpc::Status s = Submit(*h.Client("parties/eu-fr-dnpaf"), e, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(s), "ROUTE_NOT_PERMITTED");
  // eu/fr-dnpaf is cleared to OFFICIAL only.
  e = SampleReferral("CLEAR-1", {"eu/fr-dnpaf"});
  s = Submit(*h.Client("parties/uk-border-force"), e, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(s), "RECIPIENT_NOT_CLEARED");
  EXPECT_EQ(FieldOf(s), "envelope.recipients[0]");
}

TEST(GatewayE2E, MalformedEnvelopesNameTheirField) {
  GatewayHarness h("malformed");
  auto bf = h.Client("parties/uk-border-force");
  struct Case {
    std::function<void(v1::Envelope&)> mutate;
    std::string reason, field;
  };
  std::vector<Case> cases = {
      {[](v1::Envelope& e) { e.clear_message_id(); }, "FIELD_REQUIRED", "envelope.message_id"},
      {[](v1::Envelope& e) { e.set_message_id("bad id\n"); }, "FIELD_FORMAT", "envelope.message_id"},
      {[](v1::Envelope& e) { e.clear_case_reference(); }, "FIELD_REQUIRED", "envelope.case_reference"},
      {[](v1::Envelope& e) { e.clear_originating_officer(); }, "FIELD_REQUIRED", "envelope.originating_officer"},
      {[](v1::Envelope& e) { e.clear_recipients(); }, "FIELD_REQUIRED", "envelope.recipients"},
      {[](v1::Envelope& e) { e.add_recipients("eu/europol"); }, "DUPLICATE_RECIPIENT", "envelope.recipients[1]"},
      {[](v1::Envelope& e) { e.clear_created_at(); }, "FIELD_REQUIRED", "envelope.created_at"},
      {[](v1::Envelope& e) { e.set_classification(v1::TOP_SECRET); }, "CLASSIFICATION_FORBIDDEN", "envelope.classification"},
      {[](v1::Envelope& e) { e.set_classification(v1::CLASSIFICATION_UNSPECIFIED); }, "FIELD_REQUIRED", "envelope.classification"},
      {[](v1::Envelope& e) { e.mutable_justification()->clear_legal_basis(); }, "FIELD_REQUIRED", "envelope.justification.legal_basis"},
      {[](v1::Envelope& e) { e.clear_case_referral(); }, "FIELD_REQUIRED", "envelope.body"},
      {[](v1::Envelope& e) { e.mutable_case_referral()->clear_requested_action(); }, "FIELD_REQUIRED", "envelope.case_referral.requested_action"},
      {[](v1::Envelope& e) { e.mutable_uk_grading()->set_handling(v1::UK_HANDLING_C_CONDITIONS); }, "FIELD_REQUIRED", "envelope.uk_grading.handling_conditions"},
      {[](v1::Envelope& e) { e.mutable_case_referral()->mutable_persons(0)->set_nationality("Albania"); }, "FIELD_FORMAT", "envelope.case_referral.persons[0].nationality"},
      {[](v1::Envelope& e) { auto* a = e.add_attachments(); a->set_media_type("application/pdf"); a->set_content("x"); a->set_sha256(std::string(64, 'a')); }, "ATTACHMENT_DIGEST_MISMATCH", "envelope.attachments[0].sha256"},
  };
  int i = 0;
  for (const Case& c : cases) {
    v1::Envelope e = SampleReferral("MAL-" + std::to_string(i++));
    c.mutate(e);
    v1::Receipt r;
    grpc::Status s = Submit(*bf, e, &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(ReasonOf(s), c.reason) << c.field;
    EXPECT_EQ(FieldOf(s), c.field);
  }
}

TEST(GatewayE2E, ResubmissionReturnsTheOriginalReceipt) {
  GatewayHarness h("dedup");
  auto bf = h.Client("parties/uk-border-force");
  v1::Envelope e = SampleReferral("DUP-1");
  v1::Receipt first, second, third;
  ASSERT_TRUE(Submit(*bf, e, &first).ok());
  ASSERT_TRUE(Submit(*bf, e, &second).ok());
  EXPECT_TRUE(second.duplicate());
  EXPECT_EQ(second.audit_index(), first.audit_index());
  e.mutable_case_referral()->set_summary("different");
  grpc::Status s = Submit(*bf, e, &third);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ReasonOf(s), "MESSAGE_ID_REUSED");
}

struct HandshakeCase {
  std::string stem, code;
};

class HandshakeRefusal : public ::testing::TestWithParam<HandshakeCase> {};

TEST_P(HandshakeRefusal, IsRefusedAndAudited) {
  GatewayHarness h("handshake-" + GetParam().code);
  v1::Receipt r;
  grpc::Status s = Submit(*h.Client(GetParam().stem), SampleReferral("HS-1"), &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_TRUE(h.WaitForAudit({"\"action\":\"handshake\"", "\"reason\":\"" + GetParam().code + "\""}));
}

INSTANTIATE_TEST_SUITE_P(Certificates, HandshakeRefusal,
                         ::testing::Values(HandshakeCase{"fixtures/rogue", "CERT_UNTRUSTED"},
                                           HandshakeCase{"fixtures/expired", "CERT_EXPIRED"},
                                           HandshakeCase{"fixtures/not-yet-valid", "CERT_NOT_YET_VALID"},
                                           HandshakeCase{"fixtures/revoked", "CERT_REVOKED"},
                                           HandshakeCase{"fixtures/revoked-intermediate-leaf", "CERT_REVOKED"},
                                           HandshakeCase{"fixtures/nocrl-leaf", "CRL_MISSING"},
                                           HandshakeCase{"fixtures/unknown-identity", "IDENTITY_UNKNOWN"},
                                           HandshakeCase{"fixtures/two-sans", "IDENTITY_AMBIGUOUS"},
                                           HandshakeCase{"fixtures/no-uri-san", "IDENTITY_MISSING"}),
                         [](const auto& info) {
                           std::string n = info.param.stem.substr(9);
                           for (char& c : n) if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace portcullis::testing

#include "adapters/common/partner_endpoint.h"
#include "adapters/common/party_tls.h"

namespace portcullis::testing {
namespace {

// Push: gateway -> Europol's reference endpoint over mTLS; the endpoint stores
// the delivery in its inbox and acknowledges; the sender sees ACKNOWLEDGED.
TEST(GatewayE2E, PushDeliveryToPartnerEndpointIsAcknowledged) {
  // Reserve a port for the endpoint first: the gateway config names it.
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("europol-inbox");
  const int port = ReservePort(eo);
  ASSERT_NE(port, 0);

  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(port);
  GatewayHarness h("push-e2e", ho);
  eo.listen_address = ho.europol_push_address;
  eo.gateway_address = h.address();
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();

  auto bf = h.Client("parties/uk-border-force");
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*bf, SampleReferral("PUSH-1"), &receipt).ok());
  v1::DeliveryState state = v1::DELIVERY_STATE_UNSPECIFIED;
  for (int i = 0; i < 200 && state != v1::ACKNOWLEDGED; ++i) {
    grpc::ClientContext ctx;
    v1::TrackRequest tr;
    tr.set_message_id("PUSH-1");
    v1::TrackResponse track;
    ASSERT_TRUE(bf->Track(&ctx, tr, &track).ok());
    state = track.recipients(0).state();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(state, v1::ACKNOWLEDGED);
  EXPECT_EQ((*endpoint)->stored_count(), 1);
  EXPECT_TRUE(h.WaitForAudit({"\"action\":\"deliver\"", "\"outcome\":\"delivered\"", "PUSH-1"}));
  EXPECT_TRUE(h.WaitForAudit({"\"action\":\"acknowledge\"", "EUROPOL-LO-17"}));
}

// Once the audit log cannot record, deliveries of accepted messages are held:
// nothing is disclosed that could not be recorded.
TEST(GatewayE2E, PushDeliveriesAreHeldWhileTheAuditLogCannotRecord) {
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("europol-inbox-held");
  const int port = ReservePort(eo);
  ASSERT_NE(port, 0);

  auto fail = std::make_shared<std::atomic<bool>>(false);
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(port);
  ho.max_attempts = 50;
  ho.hooks.audit_fault_injector = [fail](absl::string_view op) {
    return *fail && op == "sync" ? absl::UnavailableError("injected fdatasync failure: EIO") : absl::OkStatus();
  };
  GatewayHarness h("push-held", ho);
  auto bf = h.Client("parties/uk-border-force");
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*bf, SampleReferral("HELD-1"), &receipt).ok());
  // The endpoint is down: the next failed attempt's record cannot be written (on PostgreSQL: the database,
  // still reachable, refuses it).
  *fail = true;
  if (TestsOnPostgres()) RefuseAuditWrites(h.store_dsn(), true);
  WaitUntil([&] { return !h.gateway()->audit()->Health().ok(); },
            std::chrono::seconds(5), std::chrono::milliseconds(50));
  ASSERT_FALSE(h.gateway()->audit()->Health().ok());

  eo.listen_address = ho.europol_push_address;
  eo.gateway_address = h.address();
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  // Retries come every 50-500 ms: without the hold the endpoint would have it well within this.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ((*endpoint)->stored_count(), 0);
}

}  // namespace
}  // namespace portcullis::testing
