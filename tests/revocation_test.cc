// Revocation cuts a party off at once (docs/architecture.md, "Revocation"):
// a party whose certificate is revoked (a new CRL dropped in crl_dir) gets
// nothing more on the connection it already holds. Within the reload
// interval its next call on the SAME channel fails UNAUTHENTICATED
// PEER_REVOKED, its open Receive stream ends UNAUTHENTICATED, and no call of
// that certificate succeeds afterwards. Push channels are rebuilt, so a
// revoked partner endpoint is not delivered to over an old connection either.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/common/partner_endpoint.h"
#include "adapters/common/party_tls.h"
#include "tests/support/crl.h"
#include "tests/support/harness.h"
#include "tests/support/partners.h"

namespace portcullis::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kReloadInterval = std::chrono::seconds(1);  // The harness's tls.reload_interval_seconds.

grpc::Status Confirm(v1::Exchange::Stub& stub, const std::string& through) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ConfirmRequest req;
  req.set_through_delivery_id(through);
  v1::ConfirmResponse resp;
  return stub.Confirm(&ctx, req, &resp);
}

TEST(Revocation, ARevokedPartyIsCutOffOnTheConnectionItHolds) {
  const std::string crls = MakeTempDir("revocation-crls");
  CopyPkiCrls(crls);
  HarnessOptions o;
  o.crl_dir = crls;
  GatewayHarness h("revocation-live", o);

  // NCA sends BSC (a pull-mode party) one message.
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-nca"), SampleReferral("REV-1", {"uk/bsc"}), &receipt).ok());

  // BSC: one channel (one connection, one handshake) for everything below.
  std::shared_ptr<grpc::Channel> channel = h.Channel("parties/uk-bsc");
  auto bsc = v1::Exchange::NewStub(channel);
  grpc::ClientContext stream_ctx;
  stream_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::ReceiveRequest receive;
  std::unique_ptr<grpc::ClientReader<v1::Delivery>> stream = bsc->Receive(&stream_ctx, receive);
  v1::Delivery delivery;
  ASSERT_TRUE(stream->Read(&delivery));
  ASSERT_EQ(delivery.envelope().message_id(), "REV-1");
  ASSERT_TRUE(Confirm(*bsc, delivery.delivery_id()).ok()) << "a call on the channel works before the revocation";

  // From here BSC calls on the same channel without pause.
  std::mutex mu;
  struct Outcome {
    Clock::time_point at;
    grpc::Status status;
  };
  std::vector<Outcome> outcomes;
  std::atomic<bool> stop{false};
  std::thread caller([&] {
    while (!stop) {
      grpc::Status s = Confirm(*bsc, delivery.delivery_id());
      std::lock_guard<std::mutex> lock(mu);
      outcomes.push_back({Clock::now(), s});
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  // The issuing CA revokes BSC's certificate: its new CRL lands in crl_dir.
  const Clock::time_point revoked_at = Clock::now();
  WriteIssuingCaCrl(crls + "/intermediate.crl.pem", {"parties/uk-bsc"});

  // The open Receive stream ends UNAUTHENTICATED, without BSC doing anything on it.
  EXPECT_FALSE(stream->Read(&delivery));
  grpc::Status stream_end = stream->Finish();
  EXPECT_EQ(stream_end.error_code(), grpc::StatusCode::UNAUTHENTICATED) << stream_end.error_message();
  EXPECT_EQ(ReasonOf(stream_end), "PEER_REVOKED");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  caller.join();

  // Calls succeeded before; once the first was refused, none succeeded again,
  // and the first refusal came within the reload interval (plus scheduling slack).
  int ok_before = 0, refused = 0;
  Clock::time_point first_refusal = Clock::time_point::max();
  for (const Outcome& c : outcomes) {
    if (c.status.ok()) {
      EXPECT_EQ(first_refusal, Clock::time_point::max()) << "a call of the revoked certificate succeeded after one was refused";
      ++ok_before;
      continue;
    }
    EXPECT_EQ(c.status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << c.status.error_message();
    EXPECT_EQ(ReasonOf(c.status), "PEER_REVOKED");
    first_refusal = std::min(first_refusal, c.at);
    ++refused;
  }
  EXPECT_GT(ok_before, 0);
  ASSERT_GT(refused, 0) << "the revoked certificate kept calling on its open connection";
  EXPECT_LT(first_refusal - revoked_at, 2 * kReloadInterval + std::chrono::seconds(2));
  // The same channel: still connected (refused per call, not at a new handshake).
  grpc::Status again = Confirm(*bsc, delivery.delivery_id());
  EXPECT_EQ(again.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(again), "PEER_REVOKED");

  // A new connection with the revoked certificate fails at the handshake.
  EXPECT_EQ(Confirm(*h.Client("parties/uk-bsc"), delivery.delivery_id()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // Other parties are not affected.
  EXPECT_TRUE(Submit(*h.Client("parties/uk-nca"), SampleReferral("REV-2", {"uk/bsc"}), &receipt).ok());

  // Audited: the refused calls and the ended stream, naming BSC and why.
  EXPECT_TRUE(h.WaitForAudit({"\"action\":\"receive\"", "\"actor_party\":\"uk/bsc\"",
                              "\"outcome\":\"stream_ended\"", "\"reason\":\"PEER_REVOKED\""}));
  EXPECT_GE(h.CountAudit({"\"action\":\"confirm\"", "\"outcome\":\"refused\"", "\"reason\":\"PEER_REVOKED\""}), 1);
}

// Nothing changes on disk: the issuing CA's CRL simply runs out (its
// nextUpdate passes) while BSC's Receive stream is open. The gateway fails
// closed on an expired CRL, so the stream ends at the next timer tick.
TEST(Revocation, AStreamEndsWhenItsChainStopsVerifyingWithoutAnyChange) {
  const std::string crls = MakeTempDir("revocation-crl-expires-crls");
  CopyPkiCrls(crls);
  WriteIssuingCaCrl(crls + "/intermediate.crl.pem", {}, 6);  // Valid for 6 s from now.
  HarnessOptions o;
  o.crl_dir = crls;
  GatewayHarness h("revocation-crl-expires", o);
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-nca"), SampleReferral("EXP-1", {"uk/bsc"}), &receipt).ok());
  auto bsc = v1::Exchange::NewStub(h.Channel("parties/uk-bsc"));
  grpc::ClientContext stream_ctx;
  stream_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  std::unique_ptr<grpc::ClientReader<v1::Delivery>> stream = bsc->Receive(&stream_ctx, v1::ReceiveRequest());
  v1::Delivery delivery;
  ASSERT_TRUE(stream->Read(&delivery)) << "the stream opened while the CRL was in force";
  const Clock::time_point opened = Clock::now();
  EXPECT_FALSE(stream->Read(&delivery));
  grpc::Status end = stream->Finish();
  EXPECT_EQ(end.error_code(), grpc::StatusCode::UNAUTHENTICATED) << end.error_message();
  EXPECT_EQ(ReasonOf(end), "PEER_CERT_INVALID");
  EXPECT_LT(Clock::now() - opened, std::chrono::seconds(6) + 2 * kReloadInterval + std::chrono::seconds(3))
      << "ended by the timer, not by the stream's own deadline";
}

TEST(Revocation, AChainThatNoLongerVerifiesIsCutOffToo) {
  // Not only CRLs: a chain that stops verifying for any reason is refused on
  // the open connection (here the CRL of the issuing CA disappears: fail closed).
  const std::string crls = MakeTempDir("revocation-missing-crls");
  CopyPkiCrls(crls);
  HarnessOptions o;
  o.crl_dir = crls;
  GatewayHarness h("revocation-crl-missing", o);
  auto nca = h.Client("parties/uk-nca");
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*nca, SampleReferral("MISS-1", {"uk/bsc"}), &receipt).ok());
  std::filesystem::remove(crls + "/intermediate.crl.pem");
  grpc::Status s;
  for (int i = 0; i < 100; ++i) {
    s = Submit(*nca, SampleReferral("MISS-" + std::to_string(i + 2), {"uk/bsc"}), &receipt);
    if (!s.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_EQ(ReasonOf(s), "PEER_CERT_INVALID");
  EXPECT_NE(s.error_message().find("CRL_MISSING"), std::string::npos) << s.error_message();
}

// The gateway pushes to Europol over one connection; Europol's certificate is
// revoked; the push channels are rebuilt, the next push meets a new handshake
// and is refused (audited), and nothing more reaches the revoked endpoint.
TEST(Revocation, PushChannelsAreRebuiltSoARevokedPartnerGetsNothingMore) {
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("revocation-europol-inbox");
  const int port = ReservePort(eo);
  ASSERT_NE(port, 0);

  const std::string crls = MakeTempDir("revocation-push-crls");
  CopyPkiCrls(crls);
  HarnessOptions ho;
  ho.crl_dir = crls;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(port);
  ho.max_attempts = 1000;
  GatewayHarness h("revocation-push", ho);
  eo.listen_address = ho.europol_push_address;
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();

  auto bf = h.Client("parties/uk-border-force");
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*bf, SampleReferral("PUSH-REV-1"), &receipt).ok());
  for (int i = 0; i < 200 && (*endpoint)->stored_count() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ((*endpoint)->stored_count(), 1) << "the push connection works before the revocation";

  const uint64_t before = h.gateway()->trust_generation();
  WriteIssuingCaCrl(crls + "/intermediate.crl.pem", {"parties/eu-europol"});
  // The gateway's timer notices the new CRL by itself (no handshake asks).
  for (int i = 0; i < 100 && h.gateway()->trust_generation() == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GT(h.gateway()->trust_generation(), before) << "the trust store was not reloaded on the timer";

  ASSERT_TRUE(Submit(*bf, SampleReferral("PUSH-REV-2"), &receipt).ok());
  EXPECT_TRUE(h.WaitForAudit({"\"action\":\"handshake\"", "\"reason\":\"CERT_REVOKED\"", "outbound to"}))
      << "the push went over a connection made before the revocation";
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ((*endpoint)->stored_count(), 1) << "a revoked partner endpoint received a delivery";
  EXPECT_EQ(StateOf(h, "PUSH-REV-2"), v1::ACCEPTED);
}

}  // namespace
}  // namespace portcullis::testing
