// One message can never block a queue (docs/delivery.md, "Sizes" and
// "Deliveries that can never succeed"), end to end with a real gateway, real
// mTLS, the real partner endpoint and pull receiver:
//
// - an envelope of exactly the largest size Submit accepts is delivered by
//   push and by pull; a recipient's max_message_bytes is checked at Submit;
// - a delivery that can never succeed (an endpoint's listed refusal, a size
//   the transport cannot carry) is a dead letter at once, with its reason in
//   Track, ListDeadLetters and the audit log, and everything behind it (same
//   sender, same case) arrives; transient refusals are retried, never
//   dead-lettered;
// - a pull party rejects what it can never render and goes on.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/common/gateway_client.h"
#include "adapters/common/native_inbox.h"
#include "adapters/common/partner_endpoint.h"
#include "adapters/common/party_tls.h"
#include "adapters/common/pull_receiver.h"
#include "adapters/registry/native_formats.h"
#include "gateway/common/digest.h"
#include "gateway/delivery/dispatcher.h"
#include "portcullis/v1/admin.grpc.pb.h"
#include "portcullis/v1/message_limits.h"
#include "tests/support/faulty_store.h"
#include "tests/support/harness.h"
#include "tests/support/partners.h"

namespace portcullis::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSender[] = "parties/uk-border-force";
constexpr char kPoison[] = "[cannot be expressed natively]";

// A format that cannot express one kind of envelope (a case referral whose
// summary carries kPoison), as a real format cannot express what it has no
// field for; everything else is the real Europol / French format.
absl::StatusOr<std::string> Unexpressible(const v1::Envelope& e) {
  return absl::InvalidArgumentError(
      absl::StrCat("case_referral.summary: '", e.case_referral().summary(), "' cannot be expressed"));
}
absl::StatusOr<v1::Envelope> EuropolTo(const adapters::JsonDoc& d) {
  return adapters::FindNativeFormat("europol")->ToEnvelope(d);
}
absl::StatusOr<std::string> EuropolFrom(const v1::Envelope& e) {
  if (e.case_referral().summary().find(kPoison) != std::string::npos) return Unexpressible(e);
  return adapters::FindNativeFormat("europol")->FromEnvelope(e);
}
absl::StatusOr<v1::Envelope> FrTo(const adapters::JsonDoc& d) {
  return adapters::FindNativeFormat("fr_dnpaf")->ToEnvelope(d);
}
absl::StatusOr<std::string> FrFrom(const v1::Envelope& e) {
  if (e.case_referral().summary().find(kPoison) != std::string::npos) return Unexpressible(e);
  return adapters::FindNativeFormat("fr_dnpaf")->FromEnvelope(e);
}
const adapters::FunctionFormat kEuropolFormat("europol-strict", "Europol, one envelope kind unexpressible",
                                              EuropolTo, EuropolFrom);
const adapters::FunctionFormat kFrFormat("fr-strict", "DNPAF, one envelope kind unexpressible", FrTo, FrFrom);

// Europol's endpoints here have no officer and no gateway address: deliveries stay DELIVERED (not acknowledged).

// A referral of `case_reference` from uk/border-force (sender set, so the
// envelope is stored as submitted) to `recipient`, marked OFFICIAL (the test
// config clears fr-dnpaf for OFFICIAL only).
v1::Envelope Referral(const std::string& id, const std::string& recipient, const std::string& case_reference,
                      bool poisoned = false) {
  v1::Envelope e = SampleReferral(id, {recipient});
  e.set_sender("uk/border-force");
  e.set_classification(v1::OFFICIAL);
  e.set_case_reference(case_reference);
  if (poisoned) e.mutable_case_referral()->set_summary(absl::StrCat("Seized ledger ", kPoison));
  return e;
}

// Makes `e` exactly `bytes` long with one attachment (valid digest).
void PadTo(v1::Envelope* e, size_t bytes) {
  v1::Attachment* a = e->add_attachments();
  a->set_media_type("application/octet-stream");
  a->set_file_name("padding.bin");
  a->set_sha256(std::string(64, '0'));
  std::string content;
  for (int i = 0; i < 8 && e->ByteSizeLong() != bytes; ++i) {
    const int64_t diff = static_cast<int64_t>(bytes) - static_cast<int64_t>(e->ByteSizeLong());
    if (diff < 0 && content.empty()) break;
    content.resize(static_cast<size_t>(static_cast<int64_t>(content.size()) + diff), 'x');
    a->set_content(content);
    // A length varint changed size at the boundary: one byte less in the name.
    if (i >= 3 && e->ByteSizeLong() != bytes) a->set_file_name(a->file_name() + "_");
  }
  a->set_sha256(Sha256Hex(a->content()));
  ASSERT_EQ(e->ByteSizeLong(), bytes);
}

v1::RecipientStatus TrackOne(GatewayHarness& h, const std::string& message_id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::TrackRequest tr;
  tr.set_message_id(message_id);
  v1::TrackResponse track;
  grpc::Status s = h.Client(kSender)->Track(&ctx, tr, &track);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return track.recipients_size() == 1 ? track.recipients(0) : v1::RecipientStatus();
}

// Dead letters to `destination`, as an operator (and portcullis-admin dead-letters) lists them.
std::map<std::string, v1::DeadLetter> DeadLetters(GatewayHarness& h, const std::string& destination) {
  auto admin = v1::Admin::NewStub(h.Channel("parties/ops-operator"));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ListDeadLettersRequest req;
  req.set_destination(destination);
  req.set_reason("poisoned queue drill");
  v1::ListDeadLettersResponse resp;
  grpc::Status s = admin->ListDeadLetters(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::map<std::string, v1::DeadLetter> out;
  for (const v1::DeadLetter& d : resp.dead_letters()) out[d.message_id()] = d;
  return out;
}

std::unique_ptr<adapters::PullReceiver> FrReceiver(GatewayHarness& h, adapters::NativeInbox* inbox) {
  auto channel = adapters::DialGateway(h.address(), adapters::PartyTlsFromPki(PkiDir(), "eu-fr-dnpaf"));
  EXPECT_TRUE(channel.ok()) << channel.status();
  adapters::PullReceiverOptions o;
  o.channel = *channel;  // The adapter's own channel, with its receive limit.
  o.inbox = inbox;
  o.initial_backoff = std::chrono::milliseconds(50);
  o.max_backoff = std::chrono::milliseconds(200);
  return std::make_unique<adapters::PullReceiver>(o);
}

TEST(MessageSizes, TheLargestEnvelopeSubmitAcceptsIsDeliveredByPushAndByPull) {
  adapters::PartnerEndpointOptions eo = PartnerEndpointFor("eu-europol", "sizes-europol");
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  ho.attempt_timeout_ms = 30000;  // No attempt times out, however slow the machine: attempts are counted.
  GatewayHarness h("sizes", ho);
  eo.listen_address = ho.europol_push_address;
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  auto inbox = adapters::NativeInbox::Open(MakeTempDir("sizes-fr"), *adapters::FindNativeFormat("fr_dnpaf"));
  ASSERT_TRUE(inbox.ok()) << inbox.status();
  auto receiver = FrReceiver(h, inbox->get());
  receiver->Start();

  // The largest envelope the default receive limit (8 MiB) lets Submit carry.
  const size_t largest = v1::MaxEnvelopeBytes(8 * 1024 * 1024);
  ASSERT_EQ(largest, 8388603u);
  auto sender = h.Client(kSender);
  for (const char* recipient : {"eu/europol", "eu/fr-dnpaf"}) {
    v1::Envelope e = Referral(absl::StrCat("MAX-", std::string(1, recipient[3])), recipient, "BF-2026-MAX");
    PadTo(&e, largest);
    v1::Receipt receipt;
    grpc::Status s = Submit(*sender, e, &receipt);
    ASSERT_TRUE(s.ok()) << recipient << ": " << s.error_message();
    // One byte more is not accepted (gRPC's receive limit, before any handler).
    v1::Envelope bigger = Referral(absl::StrCat("MAX+1-", std::string(1, recipient[3])), recipient, "BF-2026-MAX");
    PadTo(&bigger, largest + 1);
    EXPECT_EQ(Submit(*sender, bigger, &receipt).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  EXPECT_TRUE(WaitForState(h, "MAX-e", v1::DELIVERED)) << TrackOne(h, "MAX-e").ShortDebugString();
  EXPECT_TRUE(WaitForState(h, "MAX-f", v1::DELIVERED)) << TrackOne(h, "MAX-f").reason();
  EXPECT_EQ((*endpoint)->stored_count(), 1);
  EXPECT_EQ(receiver->stored_count(), 1);
}

TEST(MessageSizes, ARecipientsMaxMessageBytesIsCheckedAtSubmit) {
  HarnessOptions ho;
  ho.europol_max_message_bytes = 20000;
  GatewayHarness h("sizes-party", ho);
  auto sender = h.Client(kSender);
  v1::Envelope at = Referral("LIM-1", "eu/europol", "BF-2026-LIM");
  PadTo(&at, 20000);
  v1::Receipt receipt;
  grpc::Status s = Submit(*sender, at, &receipt);
  EXPECT_TRUE(s.ok()) << s.error_message();

  v1::Envelope over = Referral("LIM-2", "eu/fr-dnpaf", "BF-2026-LIM");
  over.add_recipients("eu/europol");
  PadTo(&over, 20001);
  s = Submit(*sender, over, &receipt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(s), "MESSAGE_TOO_LARGE");
  EXPECT_EQ(FieldOf(s), "envelope.recipients[1]");
  EXPECT_THAT(s.error_message(), HasSubstr("20001 bytes"));
  EXPECT_THAT(s.error_message(), HasSubstr("'eu/europol' accepts at most 20000 bytes"));
  EXPECT_TRUE(h.WaitForAudit({"LIM-2", "MESSAGE_TOO_LARGE"}));
  // The sender's own field left empty: counted as the gateway stores it (sender filled in).
  v1::Envelope unsigned_sender = Referral("LIM-3", "eu/europol", "BF-2026-LIM");
  unsigned_sender.clear_sender();
  PadTo(&unsigned_sender, 20000);
  s = Submit(*sender, unsigned_sender, &receipt);
  EXPECT_EQ(ReasonOf(s), "MESSAGE_TOO_LARGE");
  EXPECT_THAT(s.error_message(), HasSubstr("20017 bytes"));  // + the sender field, 'uk/border-force'.
}

TEST(PoisonedQueue, PushAnUnrenderableDeliveryIsADeadLetterAtOnceAndTheQueueBehindItDrains) {
  adapters::PartnerEndpointOptions eo = PartnerEndpointFor("eu-europol", "poison-push");
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  ho.attempt_timeout_ms = 30000;  // No attempt times out, however slow the machine: attempts are counted.
  ho.max_attempts = 0;  // Retry for ever: without the rule nothing behind it would ever go.
  ho.workers = 1;
  GatewayHarness h("poison-push", ho);
  auto native = adapters::NativeInbox::Open(MakeTempDir("poison-push-inbox"), kEuropolFormat);
  ASSERT_TRUE(native.ok()) << native.status();
  adapters::NativeInbox* inbox = native->get();
  eo.inbox_dir.clear();
  eo.inbox = inbox->deliveries();
  eo.complete = [inbox](const v1::Delivery& d, bool is_new) { return inbox->Complete(d, is_new); };
  eo.listen_address = ho.europol_push_address;
  std::mutex mu;
  std::vector<std::string> order;
  eo.on_stored = [&](const v1::Delivery& d) {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(d.envelope().message_id());
  };
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();

  auto sender = h.Client(kSender);
  v1::Receipt receipt;
  // The poisoned one first, then good ones of the same sender and case (which
  // wait for it by the ordering rule) and of another case.
  ASSERT_TRUE(Submit(*sender, Referral("PP-POISON", "eu/europol", "BF-CASE-1", true), &receipt).ok());
  ASSERT_TRUE(Submit(*sender, Referral("PP-1", "eu/europol", "BF-CASE-1"), &receipt).ok());
  ASSERT_TRUE(Submit(*sender, Referral("PP-2", "eu/europol", "BF-CASE-1"), &receipt).ok());
  ASSERT_TRUE(Submit(*sender, Referral("PP-3", "eu/europol", "BF-CASE-2"), &receipt).ok());

  for (const char* id : {"PP-1", "PP-2", "PP-3"}) EXPECT_TRUE(WaitForState(h, id, v1::DELIVERED)) << id;
  ASSERT_TRUE(WaitForState(h, "PP-POISON", v1::FAILED));
  const v1::RecipientStatus poisoned = TrackOne(h, "PP-POISON");
  EXPECT_EQ(poisoned.attempts(), 1u);  // Not retried: it can never succeed.
  EXPECT_THAT(poisoned.reason(), HasSubstr("UNRENDERABLE"));
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(order.size(), 3u);  // The poisoned one was never stored as delivered.
    // Its case's order is kept (the other case goes independently).
    EXPECT_LT(std::find(order.begin(), order.end(), "PP-1"), std::find(order.begin(), order.end(), "PP-2"));
  }
  EXPECT_EQ((*endpoint)->unrenderable_count(), 1);
  // Kept by the endpoint all the same, with why it has no native form.
  const std::string poisoned_id = DeliveryIdFor("uk/border-force", "PP-POISON", "eu/europol");
  EXPECT_TRUE(inbox->deliveries()->Contains(poisoned_id));
  EXPECT_TRUE(std::filesystem::exists(adapters::NativeDir(inbox->dir()) + "/" + poisoned_id + ".error.txt"));
  std::map<std::string, v1::DeadLetter> dead = DeadLetters(h, "eu/europol");
  ASSERT_EQ(dead.count("PP-POISON"), 1u);
  EXPECT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead["PP-POISON"].state(), v1::FAILED);
  EXPECT_THAT(dead["PP-POISON"].last_error(), HasSubstr("UNRENDERABLE"));
  EXPECT_TRUE(h.WaitForAudit({"\"deliver\"", "PP-POISON", "\"failed\"", "\"UNRENDERABLE\""}));
}

TEST(PoisonedQueue, PushTransientRefusalsAreRetriedAndOnlyListedReasonsAreFinal) {
  adapters::PartnerEndpointOptions eo = PartnerEndpointFor("eu-europol", "poison-transient");
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  ho.attempt_timeout_ms = 30000;  // No attempt times out, however slow the machine: attempts are counted.
  ho.max_attempts = 0;
  GatewayHarness h("poison-transient", ho);
  eo.listen_address = ho.europol_push_address;
  // Each message's refusal for its first two attempts; then it is stored.
  const std::map<std::string, std::pair<absl::StatusCode, std::string>> refusals = {
      // Transient whatever the reason: a misconfigured or unreachable endpoint.
      {"TR-DENIED", {absl::StatusCode::kPermissionDenied, "UNRENDERABLE"}},
      {"TR-UNAUTH", {absl::StatusCode::kUnauthenticated, "TOO_LARGE"}},
      {"TR-UNAVAILABLE", {absl::StatusCode::kUnavailable, "INVALID_DELIVERY"}},
      // A reason not listed is transient too.
      {"TR-UNLISTED", {absl::StatusCode::kFailedPrecondition, "SOMETHING_ELSE"}},
      // Listed reason, a code that blames the request: final.
      {"TR-FINAL", {absl::StatusCode::kInvalidArgument, "INVALID_DELIVERY"}},
  };
  std::mutex mu;
  std::map<std::string, int> calls;
  eo.fault = [&](const v1::Delivery& d) {
    adapters::DeliverFault f;
    auto it = refusals.find(d.envelope().message_id());
    std::lock_guard<std::mutex> lock(mu);
    if (it != refusals.end() && ++calls[it->first] <= 2) {
      f.before_store = absl::Status(it->second.first, "refused by the drill");
      f.reason = it->second.second;
    }
    return f;
  };
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  auto sender = h.Client(kSender);
  v1::Receipt receipt;
  for (const auto& [id, refusal] : refusals) {
    ASSERT_TRUE(Submit(*sender, Referral(id, "eu/europol", "BF-CASE-" + id), &receipt).ok()) << id;
  }
  for (const char* id : {"TR-DENIED", "TR-UNAUTH", "TR-UNAVAILABLE", "TR-UNLISTED"}) {
    EXPECT_TRUE(WaitForState(h, id, v1::DELIVERED)) << id << ": " << TrackOne(h, id).ShortDebugString();
    EXPECT_EQ(TrackOne(h, id).attempts(), 3u) << id;
  }
  ASSERT_TRUE(WaitForState(h, "TR-FINAL", v1::FAILED));
  EXPECT_EQ(TrackOne(h, "TR-FINAL").attempts(), 1u);
  EXPECT_THAT(TrackOne(h, "TR-FINAL").reason(), HasSubstr("INVALID_DELIVERY"));
  std::map<std::string, v1::DeadLetter> dead = DeadLetters(h, "eu/europol");
  EXPECT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead.count("TR-FINAL"), 1u);
}

TEST(PoisonedQueue, PullAnUnrenderableDeliveryIsRejectedAndTheQueueBehindItDrains) {
  GatewayHarness h("poison-pull");  // eu/fr-dnpaf receives by pull.
  auto inbox = adapters::NativeInbox::Open(MakeTempDir("poison-pull-inbox"), kFrFormat);
  ASSERT_TRUE(inbox.ok()) << inbox.status();
  auto sender = h.Client(kSender);
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*sender, Referral("PL-POISON", "eu/fr-dnpaf", "BF-CASE-1", true), &receipt).ok());
  ASSERT_TRUE(Submit(*sender, Referral("PL-1", "eu/fr-dnpaf", "BF-CASE-1"), &receipt).ok());
  ASSERT_TRUE(Submit(*sender, Referral("PL-2", "eu/fr-dnpaf", "BF-CASE-1"), &receipt).ok());
  auto receiver = FrReceiver(h, inbox->get());
  receiver->Start();

  EXPECT_TRUE(WaitForState(h, "PL-1", v1::DELIVERED));
  EXPECT_TRUE(WaitForState(h, "PL-2", v1::DELIVERED));
  ASSERT_TRUE(WaitForState(h, "PL-POISON", v1::REJECTED));
  const v1::RecipientStatus poisoned = TrackOne(h, "PL-POISON");
  EXPECT_THAT(poisoned.reason(), HasSubstr("UNRENDERABLE: "));
  EXPECT_THAT(poisoned.reason(), HasSubstr("cannot be expressed"));
  EXPECT_EQ(poisoned.officer(), "system:adapter");
  EXPECT_EQ(receiver->rejected_count(), 1);
  EXPECT_EQ(receiver->stored_count(), 2);
  EXPECT_EQ(receiver->duplicate_count(), 0);  // Nothing sent twice: the stream went on.
  receiver->Stop();
  EXPECT_EQ(BacklogMessages(h, "eu/fr-dnpaf"), 0u);
}

TEST(PoisonedQueue, ADeliveryTooLargeForItsPartyIsADeadLetterAtOncePushAndPull) {
  adapters::PartnerEndpointOptions eo = PartnerEndpointFor("eu-europol", "poison-size");
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  ho.attempt_timeout_ms = 30000;  // No attempt times out, however slow the machine: attempts are counted.
  ho.max_attempts = 0;
  GatewayHarness h("poison-size", ho);
  eo.listen_address = ho.europol_push_address;
  std::atomic<bool> down{true};  // Europol answers UNAVAILABLE until the limit is lowered.
  eo.fault = [&](const v1::Delivery&) {
    adapters::DeliverFault f;
    if (down.load()) f.before_store = absl::UnavailableError("maintenance");
    return f;
  };
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();

  auto sender = h.Client(kSender);
  v1::Receipt receipt;
  for (const char* recipient : {"eu/europol", "eu/fr-dnpaf"}) {
    const std::string r(recipient + 3);
    v1::Envelope big = Referral("BIG-" + r, recipient, "BF-CASE-" + r);
    PadTo(&big, 30000);
    ASSERT_TRUE(Submit(*sender, big, &receipt).ok());
    ASSERT_TRUE(Submit(*sender, Referral("SMALL-" + r, recipient, "BF-CASE-" + r), &receipt).ok());
  }
  // Both parties' limits are lowered below the big ones, accepted before.
  h.Stop();
  ho.europol_max_message_bytes = 10000;
  ho.fr_dnpaf_max_message_bytes = 10000;
  ho.store_dsn = h.store_dsn();  // The same database on PostgreSQL ("" on SQLite).
  WriteTestConfig(h.dir(), ho);
  h.Restart();
  down = false;
  auto inbox = adapters::NativeInbox::Open(MakeTempDir("poison-size-fr"), *adapters::FindNativeFormat("fr_dnpaf"));
  ASSERT_TRUE(inbox.ok()) << inbox.status();
  auto receiver = FrReceiver(h, inbox->get());
  receiver->Start();

  for (const char* r : {"europol", "fr-dnpaf"}) {
    const std::string big = std::string("BIG-") + r;
    EXPECT_TRUE(WaitForState(h, std::string("SMALL-") + r, v1::DELIVERED)) << r;
    ASSERT_TRUE(WaitForState(h, big, v1::FAILED)) << TrackOne(h, big).ShortDebugString();
    EXPECT_THAT(TrackOne(h, big).reason(), HasSubstr("TOO_LARGE"));
    EXPECT_THAT(TrackOne(h, big).reason(), HasSubstr("at most 10000"));
    std::map<std::string, v1::DeadLetter> dead = DeadLetters(h, std::string("eu/") + r);
    ASSERT_EQ(dead.count(big), 1u) << r;
    EXPECT_THAT(dead[big].last_error(), HasSubstr("TOO_LARGE"));
    EXPECT_TRUE(h.WaitForAudit({"\"deliver\"", big, "\"failed\"", "\"TOO_LARGE\""})) << r;
    // Never sent, and the log says so: no attempt is named (the row kept its count).
    EXPECT_TRUE(h.WaitForAudit({"\"deliver\"", big, "not sent: too large for the channel"})) << r;
    for (const std::string& line : h.AuditLines()) {
      if (line.find(big) == std::string::npos || line.find("\"outcome\":\"failed\"") == std::string::npos) continue;
      EXPECT_THAT(line, Not(HasSubstr(" attempt "))) << line;
    }
  }
  EXPECT_EQ(receiver->stored_count(), 1);  // Only the small one was ever sent.
  EXPECT_EQ((*endpoint)->stored_count(), 1);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A PartnerEndpoint that is not Portcullis: plain gRPC with the PKI's
// certificate `stem` (e.g. "eu-europol") and its own receive limit; it stores
// nothing and answers OK to what arrives.
class PlainEndpoint final : public v1::PartnerEndpoint::Service {
 public:
  PlainEndpoint(const std::string& stem, int max_receive_bytes, const std::string& address = "127.0.0.1:0") {
    const adapters::PartyTls tls = adapters::PartyTlsFromPki(PkiDir(), stem);
    grpc::SslServerCredentialsOptions o(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    o.pem_root_certs = ReadFile(tls.ca_bundle);
    o.pem_key_cert_pairs.push_back({ReadFile(tls.key), ReadFile(tls.cert)});
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, grpc::SslServerCredentials(o), &port_);
    builder.RegisterService(this);
    builder.SetMaxReceiveMessageSize(max_receive_bytes);
    server_ = builder.BuildAndStart();
  }
  ~PlainEndpoint() override { server_->Shutdown(std::chrono::system_clock::now()); }
  grpc::Status Deliver(grpc::ServerContext*, const v1::Delivery* request, v1::DeliverResponse* response) override {
    stored_.fetch_add(1);
    response->set_delivery_id(request->delivery_id());
    return grpc::Status::OK;
  }
  int port() const { return port_; }
  int stored() const { return stored_.load(); }

 private:
  int port_ = 0;
  std::atomic<int> stored_{0};
  std::unique_ptr<grpc::Server> server_;
};

// Item 6: a push that fails in the transport (nothing listening; a server
// with the wrong certificate) shows the sender, the operator and the log
// public words only; gRPC core and TLS text (addresses, handshake errors)
// goes to the gateway's stderr, with the delivery id.
TEST(PushFailureText, TrackDeadLettersAndTheAuditLogShowNoTransportText) {
  HarnessOptions ho;
  const int nobody = ReservePort(PartnerEndpointFor("eu-europol", "reason-nobody"));  // Closed again: nothing listens.
  PlainEndpoint impostor("eu-europol", 4 * 1024 * 1024);  // Europol's certificate where eu/fr-dnpaf's is expected.
  ASSERT_GT(impostor.port(), 0);
  ho.europol_push_address = "127.0.0.1:" + std::to_string(nobody);
  ho.fr_dnpaf_push_address = "127.0.0.1:" + std::to_string(impostor.port());
  ho.max_attempts = 1;  // The first failure is the last: FAILED, a dead letter.
  GatewayHarness h("reason-text", ho);
  ::testing::internal::CaptureStderr();
  auto sender = h.Client(kSender);
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*sender, Referral("RT-NOBODY", "eu/europol", "BF-RT-1"), &receipt).ok());
  ASSERT_TRUE(Submit(*sender, Referral("RT-IMPOSTOR", "eu/fr-dnpaf", "BF-RT-2"), &receipt).ok());
  const bool nobody_failed = WaitForState(h, "RT-NOBODY", v1::FAILED);
  const bool impostor_failed = WaitForState(h, "RT-IMPOSTOR", v1::FAILED);
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(nobody_failed) << TrackOne(h, "RT-NOBODY").ShortDebugString();
  ASSERT_TRUE(impostor_failed) << TrackOne(h, "RT-IMPOSTOR").ShortDebugString();
  EXPECT_EQ(impostor.stored(), 0);

  const std::vector<std::string> internal = {"127.0.0.1", "ipv4:", std::to_string(nobody),
                                             std::to_string(impostor.port()), "Ssl", "SSL", "ssl", "handshake",
                                             "Handshake", "failed to connect", "Failed to connect", "Connection refused",
                                             "PartnerEndpoint.Deliver", "certificate"};
  const auto expect_public = [&](const std::string& what, const std::string& text) {
    EXPECT_THAT(text, HasSubstr("the endpoint")) << what;
    for (const std::string& word : internal) EXPECT_THAT(text, Not(HasSubstr(word))) << what;
  };
  for (const char* id : {"RT-NOBODY", "RT-IMPOSTOR"}) {
    const v1::RecipientStatus status = TrackOne(h, id);
    expect_public(std::string(id) + " Track", status.reason());
    EXPECT_THAT(status.reason(), HasSubstr("could not be reached (UNAVAILABLE)")) << status.reason();
  }
  std::map<std::string, v1::DeadLetter> dead = DeadLetters(h, "eu/europol");
  ASSERT_EQ(dead.count("RT-NOBODY"), 1u);
  expect_public("dead letter", dead["RT-NOBODY"].last_error());
  dead = DeadLetters(h, "eu/fr-dnpaf");
  ASSERT_EQ(dead.count("RT-IMPOSTOR"), 1u);
  expect_public("dead letter", dead["RT-IMPOSTOR"].last_error());
  for (const char* id : {"RT-NOBODY", "RT-IMPOSTOR"}) {
    EXPECT_TRUE(h.WaitForAudit({"\"deliver\"", id, "\"failed\""})) << id;
    for (const std::string& line : h.AuditLines()) {
      if (line.find(id) == std::string::npos || line.find("\"deliver\"") == std::string::npos) continue;
      for (const std::string& word : internal) EXPECT_THAT(line, Not(HasSubstr(word))) << line;
    }
  }
  // The full text is in the gateway's log, with the delivery id.
  EXPECT_THAT(log, HasSubstr(DeliveryIdFor("uk/border-force", "RT-NOBODY", "eu/europol")));
  EXPECT_THAT(log, HasSubstr(DeliveryIdFor("uk/border-force", "RT-IMPOSTOR", "eu/fr-dnpaf")));
  EXPECT_THAT(log, HasSubstr(std::to_string(nobody)));
}

// An endpoint that is not Portcullis refuses with its own gRPC receive limit
// (RESOURCE_EXHAUSTED "Received message larger than max", no Refusal): the
// delivery can never succeed, so it is a dead letter at once and the
// delivery behind it (same sender, same case) goes.
TEST(PoisonedQueue, AnEndpointsOwnReceiveLimitIsFinalTooLarge) {
  PlainEndpoint endpoint("eu-europol", 8000);
  ASSERT_GT(endpoint.port(), 0);
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(endpoint.port());
  ho.attempt_timeout_ms = 30000;
  ho.max_attempts = 0;  // Retry for ever: without the rule nothing behind it would ever go.
  ho.workers = 1;
  GatewayHarness h("poison-limit", ho);
  auto sender = h.Client(kSender);
  v1::Receipt receipt;
  v1::Envelope big = Referral("RL-BIG", "eu/europol", "BF-RL-1");
  PadTo(&big, 20000);
  ASSERT_TRUE(Submit(*sender, big, &receipt).ok());
  ASSERT_TRUE(Submit(*sender, Referral("RL-SMALL", "eu/europol", "BF-RL-1"), &receipt).ok());
  EXPECT_TRUE(WaitForState(h, "RL-SMALL", v1::DELIVERED)) << TrackOne(h, "RL-BIG").ShortDebugString();
  ASSERT_TRUE(WaitForState(h, "RL-BIG", v1::FAILED)) << TrackOne(h, "RL-BIG").ShortDebugString();
  const v1::RecipientStatus failed = TrackOne(h, "RL-BIG");
  EXPECT_EQ(failed.attempts(), 1u);
  EXPECT_THAT(failed.reason(), HasSubstr("TOO_LARGE"));
  EXPECT_EQ(endpoint.stored(), 1);
  std::map<std::string, v1::DeadLetter> dead = DeadLetters(h, "eu/europol");
  ASSERT_EQ(dead.count("RL-BIG"), 1u);
  EXPECT_TRUE(h.WaitForAudit({"\"deliver\"", "RL-BIG", "\"failed\"", "\"TOO_LARGE\"", "push attempt 1"}));
}

// A pull delivery too large to send is a dead letter; until its FAILED is
// durable nothing after it is sent, so no confirm of a later delivery can
// move the unsent one to DELIVERED (and audit it delivered).
TEST(PoisonedQueue, PullADeadLetterNotYetRecordedIsNeverConfirmedAsDelivered) {
  auto faults = std::make_shared<RecipientUpdateFaults>();
  HarnessOptions ho;
  ho.hooks.wrap_store = [faults](std::unique_ptr<MessageStore> inner) -> std::unique_ptr<MessageStore> {
    return std::make_unique<FaultyStore>(std::move(inner), std::make_shared<std::atomic<int>>(0), faults);
  };
  GatewayHarness h("poison-pull-fault", ho);  // eu/fr-dnpaf receives by pull.
  auto sender = h.Client(kSender);
  v1::Receipt receipt;
  v1::Envelope big = Referral("PF-BIG", "eu/fr-dnpaf", "BF-PF-1");
  PadTo(&big, 30000);
  ASSERT_TRUE(Submit(*sender, big, &receipt).ok());
  ASSERT_TRUE(Submit(*sender, Referral("PF-SMALL", "eu/fr-dnpaf", "BF-PF-1"), &receipt).ok());
  // The limit is lowered below the big one, accepted before.
  h.Stop();
  ho.fr_dnpaf_max_message_bytes = 10000;
  ho.store_dsn = h.store_dsn();  // The same database on PostgreSQL ("" on SQLite).
  WriteTestConfig(h.dir(), ho);
  h.Restart();
  faults->armed = true;  // Its FAILED cannot be recorded.
  auto inbox = adapters::NativeInbox::Open(MakeTempDir("poison-pull-fault-fr"), *adapters::FindNativeFormat("fr_dnpaf"));
  ASSERT_TRUE(inbox.ok()) << inbox.status();
  auto receiver = FrReceiver(h, inbox->get());
  receiver->Start();
  // The stream meets it again (each second) instead of going on without it.
  for (int i = 0; i < 150 && faults->failed.load() < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GE(faults->failed.load(), 3);
  EXPECT_EQ(receiver->stored_count(), 0);  // Nothing after it was sent meanwhile.
  EXPECT_EQ(StateOf(h, "PF-BIG"), v1::ACCEPTED);
  faults->armed = false;
  EXPECT_TRUE(WaitForState(h, "PF-SMALL", v1::DELIVERED));
  ASSERT_TRUE(WaitForState(h, "PF-BIG", v1::FAILED)) << TrackOne(h, "PF-BIG").ShortDebugString();
  EXPECT_THAT(TrackOne(h, "PF-BIG").reason(), HasSubstr("TOO_LARGE"));
  EXPECT_TRUE(h.WaitForAudit({"\"deliver\"", "PF-BIG", "\"failed\"", "pull not sent"}));
  for (const std::string& line : h.AuditLines()) {
    if (line.find("PF-BIG") == std::string::npos) continue;
    EXPECT_THAT(line, Not(HasSubstr("\"delivered\""))) << line;
  }
  EXPECT_EQ(receiver->stored_count(), 1);
  receiver->Stop();
}

}  // namespace
}  // namespace portcullis::testing
