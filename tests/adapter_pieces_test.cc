// The adapter daemon's parts (adapters/common): the party config (located
// problems, env overrides, relative paths), the native inbox (layout,
// rendering, repair after a crash between storing and rendering), the batch
// rule of native submission, and the pull receiver against a real gateway
// (store, then confirm; nothing lost or repeated across a gateway restart).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/common/native_inbox.h"
#include "adapters/common/native_submit.h"
#include "adapters/common/native_util.h"
#include "adapters/common/outbox_watcher.h"
#include "adapters/common/partner_endpoint.h"
#include "adapters/common/party_config.h"
#include "adapters/common/pull_receiver.h"
#include "adapters/registry/native_formats.h"
#include "gmock/gmock.h"
#include "mtls/officer_assertion_source.h"
#include "tests/support/harness.h"
#include "tests/support/officer_tokens.h"

namespace portcullis::adapters {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using portcullis::testing::ReadFile;
using portcullis::testing::WaitUntil;

std::string Write(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

std::string Example(const std::string& name) {
  return std::string(PORTCULLIS_SOURCE_DIR) + "/adapters/border_force/examples/" + name;
}

TEST(PartyConfigTest, LoadsTheShippedConfigsWithPathsRelativeToTheFile) {
  setenv("PORTCULLIS_PKI", "/pki", 1);
  setenv("PORTCULLIS_STATE", "/state", 1);
  absl::StatusOr<PartyConfig> c =
      LoadPartyConfig(std::string(PORTCULLIS_SOURCE_DIR) + "/adapters/config/border-force.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->party, "uk/border-force");
  EXPECT_EQ(c->format->name(), "border_force");
  EXPECT_EQ(c->tls.cert, "/pki/parties/uk-border-force.pem");
  EXPECT_EQ(c->inbox, "/state/inboxes/border-force");
  EXPECT_EQ(c->receive_mode, ReceiveMode::kPull);
  unsetenv("PORTCULLIS_STATE");
  c = LoadPartyConfig(std::string(PORTCULLIS_SOURCE_DIR) + "/adapters/config/border-force.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->inbox, std::string(PORTCULLIS_SOURCE_DIR) + "/build/state/inboxes/border-force");
  unsetenv("PORTCULLIS_PKI");
}

TEST(PartyConfigTest, EveryProblemIsReportedWithItsLineAndKey) {
  const std::string dir = testing::MakeTempDir("party-config");
  const std::string path = Write(dir, "bad.yaml",
                                 "party: uk/nca\n"
                                 "format: klingon\n"
                                 "gateway: nowhere\n"
                                 "tls: { pki: /pki }\n"
                                 "inbox: in\n"
                                 "receive: { mode: carrier-pigeon }\n"
                                 "colour: blue\n");
  absl::StatusOr<PartyConfig> c = LoadPartyConfig(path);
  ASSERT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string m(c.status().message());
  EXPECT_THAT(m, HasSubstr(path + ":7:1: colour: unknown key"));
  EXPECT_THAT(m, HasSubstr(path + ":2:9: format: unknown format \"klingon\" (known: "));
  EXPECT_THAT(m, HasSubstr(path + ":3:10: gateway: must be HOST:PORT"));
  EXPECT_THAT(m, HasSubstr(path + ":4:6: tls.cert: required (or give pki and stem)"));
  EXPECT_THAT(m, HasSubstr(path + ":6:18: receive.mode: must be pull or push"));
  EXPECT_EQ(LoadPartyConfig(dir + "/missing.yaml").status().code(), absl::StatusCode::kNotFound);
}

TEST(PartyConfigTest, EnvironmentOverridesOfficerJustificationAndGateway) {
  const std::string dir = testing::MakeTempDir("party-config-env");
  const std::string path = Write(dir, "c.yaml",
                                 "party: uk/nca\nformat: border_force\ngateway: 127.0.0.1:1\n"
                                 "tls: { cert: c.pem, key: c.key, ca_bundle: ca.pem, crl_dir: crl }\n"
                                 "inbox: in\nofficer: FILE-1\n");
  setenv("PORTCULLIS_OFFICER", "ENV-2", 1);
  setenv("PORTCULLIS_JUSTIFICATION", "case review", 1);
  absl::StatusOr<PartyConfig> c = LoadPartyConfig(path);
  unsetenv("PORTCULLIS_OFFICER");
  unsetenv("PORTCULLIS_JUSTIFICATION");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->officer, "ENV-2");
  EXPECT_EQ(c->justification, "case review");
  EXPECT_EQ(c->tls.key, dir + "/c.key");
  EXPECT_EQ(ResolvePartyConfigPath("x.yaml"), "x.yaml");
}

TEST(PartyConfigTest, AssertionKeysAndTheCommandsEnvironment) {
  const std::string dir = testing::MakeTempDir("party-config-assertion");
  const std::string head =
      "party: uk/nca\nformat: nca\ngateway: 127.0.0.1:1\n"
      "tls: { cert: c.pem, key: c.key, ca_bundle: ca.pem, crl_dir: crl }\ninbox: in\n";
  absl::StatusOr<PartyConfig> c = LoadPartyConfig(Write(dir, "file.yaml", head + "assertion_file: tok.jws\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->assertion_file, dir + "/tok.jws");  // Relative to the config, as every path.
  mtls::AssertionSourceOptions o = AssertionOptions(*c);
  EXPECT_EQ(o.file, dir + "/tok.jws");
  EXPECT_EQ(o.command_env["PORTCULLIS_PARTY"], "uk/nca");
  EXPECT_EQ(o.command_env["PORTCULLIS_AUDIENCE"], "spiffe://exchange.gov.uk/gateway");
  EXPECT_EQ(o.command_env.count("PORTCULLIS_OFFICER"), 0u);  // Per call: the officer it acts for.
  // $VAR (no braces) is left for the shell, when the command runs.
  c = LoadPartyConfig(Write(dir, "cmd.yaml", head + "gateway_identity: spiffe://x/gw\n"
                                                    "assertion_command: idp --officer \"$PORTCULLIS_OFFICER\"\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(AssertionOptions(*c).command, "idp --officer \"$PORTCULLIS_OFFICER\"");
  EXPECT_EQ(AssertionOptions(*c).command_env["PORTCULLIS_AUDIENCE"], "spiffe://x/gw");
  c = LoadPartyConfig(Write(dir, "none.yaml", head));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(mtls::PerOfficerAssertions::FromOptions(AssertionOptions(*c)), nullptr);  // No source: none sent.

  const std::string bad = Write(dir, "bad.yaml", head +
                                                     "assertion_command: idp\n"
                                                     "assertion_file: tok.jws\n");
  c = LoadPartyConfig(bad);
  ASSERT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr(bad + ":7:17: assertion_file: give assertion_command or assertion_file, not both"));
  const std::string empty = Write(dir, "empty.yaml", head + "assertion_command: \"\"\n");
  c = LoadPartyConfig(empty);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr(empty + ":6:20: assertion_command: must not be empty"));
  const std::string two_lines = Write(dir, "lines.yaml", head + "assertion_command: \"a\\nb\"\n");
  c = LoadPartyConfig(two_lines);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr(two_lines + ":6:20: assertion_command: must be one line"));
}

v1::Delivery SampleDelivery(const std::string& id, const std::string& message_id) {
  v1::Delivery d;
  d.set_delivery_id(id);
  *d.mutable_envelope() = testing::SampleReferral(message_id);
  d.mutable_envelope()->set_sender("uk/border-force");
  d.mutable_accepted_at()->set_seconds(1770000000);
  return d;
}

TEST(NativeInboxTest, StoresRendersAndRepairsWhatACrashLeftUnrendered) {
  const std::string dir = testing::MakeTempDir("native-inbox");
  const NativeFormat& format = *FindNativeFormat("border_force");
  {
    auto inbox = NativeInbox::Open(dir, format);
    ASSERT_TRUE(inbox.ok()) << inbox.status();
    ASSERT_TRUE(*(*inbox)->Store(SampleDelivery("d1", "M-1")));
    EXPECT_FALSE(*(*inbox)->Store(SampleDelivery("d1", "M-1")));  // Duplicate.
    // A crash after storing, before rendering: only deliveries/ has it.
    ASSERT_TRUE(*(*inbox)->deliveries()->Store(SampleDelivery("d2", "M-2")));
    EXPECT_EQ(NativeInbox::Open(dir, format).status().code(), absl::StatusCode::kFailedPrecondition);  // Locked.
  }
  EXPECT_TRUE(fs::exists(NativeDir(dir) + "/d1.json"));
  EXPECT_FALSE(fs::exists(NativeDir(dir) + "/d2.json"));
  auto inbox = NativeInbox::Open(dir, format);
  ASSERT_TRUE(inbox.ok());
  EXPECT_EQ(*(*inbox)->Repair(), 1);
  EXPECT_THAT(ReadFile(NativeDir(dir) + "/d2.json"), HasSubstr("\"M-2\""));
  EXPECT_EQ(*(*inbox)->Repair(), 0);
  // A duplicate whose native file is missing (an earlier render failed) is
  // rendered before it is reported stored: what is confirmed has its file.
  fs::remove(NativeDir(dir) + "/d1.json");
  EXPECT_FALSE(*(*inbox)->Store(SampleDelivery("d1", "M-1")));
  EXPECT_TRUE(fs::exists(NativeDir(dir) + "/d1.json"));
  // An unreadable stored delivery is named and skipped; it does not stop the rest.
  std::ofstream(DeliveriesDir(dir) + "/d9.json") << "{ not json";
  std::vector<std::string> problems;
  EXPECT_EQ(*(*inbox)->Repair(&problems), 0);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("d9.json"));
  fs::remove(DeliveriesDir(dir) + "/d9.json");
  std::vector<v1::Delivery> listed = ListInbox(dir);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].delivery_id(), "d1");
}

TEST(NativeInboxTest, ADeliveryTheFormatCannotRenderIsKeptWithTheReasonAndReportedUnrenderable) {
  const std::string dir = testing::MakeTempDir("native-inbox-error");
  auto inbox = NativeInbox::Open(dir, *FindNativeFormat("border_force"));
  ASSERT_TRUE(inbox.ok());
  v1::Delivery d = SampleDelivery("d3", "M-3");
  d.mutable_envelope()->set_classification(v1::CLASSIFICATION_UNSPECIFIED);
  // Kept, with its reason, and reported as never renderable (so the party
  // refuses it to the gateway rather than retrying or confirming it).
  absl::StatusOr<bool> stored = (*inbox)->Store(d);
  ASSERT_FALSE(stored.ok());
  EXPECT_TRUE(IsUnrenderable(stored.status())) << stored.status();
  EXPECT_THAT(std::string(stored.status().message()), HasSubstr("classification"));
  EXPECT_TRUE(fs::exists(DeliveriesDir(dir) + "/d3.json"));
  EXPECT_THAT(ReadFile(NativeDir(dir) + "/d3.error.txt"), HasSubstr("classification"));
  // The same answer for the duplicate (a retry, a new stream).
  EXPECT_TRUE(IsUnrenderable((*inbox)->Complete(d, false)));
  EXPECT_TRUE(IsUnrenderable((*inbox)->Store(d).status()));
  EXPECT_EQ(*(*inbox)->Repair(), 0);  // Not rendered again and again.
  // A failure to write is not "unrenderable": it is transient.
  EXPECT_FALSE(IsUnrenderable(absl::UnavailableError("disk full")));
}

TEST(NativeSubmitTest, OneBadRecordSubmitsNothingUnlessPartial) {
  testing::GatewayHarness h("native-submit");
  const std::string dir = testing::MakeTempDir("native-submit-files");
  const std::string bad = Write(dir, "bad.json", "{\n  \"record_type\": \"CROSSING_REFERRAL\",\n  \"referral_ref\": 12\n}\n");
  const std::string foreign = Write(dir, "foreign.json", ReadFile(Example("gravelines-rib-2026-004512.json")));
  const NativeFormat& format = *FindNativeFormat("border_force");
  const std::vector<std::string> files = {Example("gravelines-rib-2026-004512.json"), bad};
  std::vector<NativeRecord> records = PrepareBatch(format, files, "uk/border-force", absl::Now());
  ASSERT_EQ(CountBad(records), 1u);
  EXPECT_THAT(std::string(records[1].problem.message()), HasSubstr(bad + ":3:19: referral_ref: must be a string"));
  EXPECT_TRUE(records[0].envelope.has_created_at() || records[0].problem.ok());
  auto stub = h.Client("parties/uk-border-force");
  EXPECT_EQ(SubmitBatch(*stub, records, /*partial=*/false), 0u);
  EXPECT_FALSE(records[0].submitted);
  EXPECT_EQ(testing::StateOf(h, records[0].envelope.message_id()), v1::DELIVERY_STATE_UNSPECIFIED);  // Not there.
  EXPECT_EQ(SubmitBatch(*stub, records, /*partial=*/true), 1u);
  EXPECT_TRUE(records[0].submitted);
  EXPECT_FALSE(records[1].submitted);
  EXPECT_EQ(testing::StateOf(h, records[0].envelope.message_id()), v1::ACCEPTED);
  // A record larger than the exchange carries is refused before sending.
  std::string big = ReadFile(Example("gravelines-rib-2026-004512.json"));
  const std::string content(12058624, 'A');  // base64 of 8.6 MiB of zero bytes
  big.insert(big.rfind('}'), ",\n  \"attachments\": [{\"media_type\": \"text/plain\", \"sha256\": \"" +
                                 Sha256Hex(std::string(content.size() / 4 * 3, '\0')) +
                                 "\", \"content_base64\": \"" + content + "\"}]\n");
  const std::string big_file = Write(dir, "big.json", big);
  std::vector<NativeRecord> too_big = PrepareBatch(format, {big_file}, "uk/border-force", absl::Now());
  EXPECT_THAT(std::string(too_big[0].problem.message()), HasSubstr("the exchange carries at most"));
  // A record that names another sender is refused before anything is sent.
  std::vector<NativeRecord> other = PrepareBatch(format, {foreign}, "uk/bsc", absl::Now());
  EXPECT_THAT(std::string(other[0].problem.message()), HasSubstr("sender: names \"uk/border-force\""));
}

TEST(PullReceiverTest, StoresThenConfirmsAndResumesAcrossAGatewayRestart) {
  testing::GatewayHarness h("pull-receiver");
  const std::string dir = testing::MakeTempDir("pull-receiver-inbox");
  auto inbox = NativeInbox::Open(dir, *FindNativeFormat("border_force"));
  ASSERT_TRUE(inbox.ok());
  auto sender = h.Client("parties/uk-nca");
  auto send = [&](int i) {
    v1::Envelope e = testing::SampleReferral("PR-" + std::to_string(i), {"uk/border-force"});
    v1::Receipt receipt;
    ASSERT_TRUE(testing::Submit(*sender, e, &receipt).ok());
  };
  PullReceiverOptions options;
  options.channel = h.Channel("parties/uk-border-force");
  options.inbox = inbox->get();
  options.initial_backoff = std::chrono::milliseconds(50);
  options.max_backoff = std::chrono::milliseconds(200);
  auto receiver = std::make_unique<PullReceiver>(options);
  receiver->Start();
  for (int i = 0; i < 5; ++i) send(i);
  ASSERT_TRUE(WaitUntil([&] { return receiver->stored_count() == 5; }));
  ASSERT_TRUE(testing::WaitForState(h, "PR-4", v1::DELIVERED, "parties/uk-nca"));  // Confirmed.
  h.RestartOnSamePort();  // The receiver's stream breaks; it reconnects by itself.
  sender = h.Client("parties/uk-nca");
  for (int i = 5; i < 10; ++i) send(i);
  ASSERT_TRUE(WaitUntil([&] { return receiver->stored_count() == 10; })) << receiver->stored_count();
  EXPECT_EQ(receiver->duplicate_count(), 0);
  receiver->Stop();
  std::vector<v1::Delivery> listed = ListInbox(dir);
  ASSERT_EQ(listed.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(fs::exists(NativeDir(dir) + "/" + listed[static_cast<size_t>(i)].delivery_id() + ".json"));
  }
  EXPECT_TRUE(testing::WaitForState(h, "PR-9", v1::DELIVERED, "parties/uk-nca"));
}

}  // namespace
}  // namespace portcullis::adapters

namespace portcullis::adapters {
namespace {

TEST(OutboxWatcherTest, SubmitsFilesAwayRejectsBadOnesAndRetriesTransientFailures) {
  testing::GatewayHarness h("outbox-watcher");
  const std::string dir = testing::MakeTempDir("outbox-watcher-files");
  // No created time in the record: the file's time is used, so a retry is the same submission.
  std::string record = ReadFile(Example("gravelines-rib-2026-004512.json"));
  const size_t created = record.find("  \"created\":");
  ASSERT_NE(created, std::string::npos);
  record.erase(created, record.find('\n', created) - created + 1);
  Write(dir, "001-referral.json", record);
  Write(dir, "002-bad.json", "{\n  \"record_type\": \"CROSSING_REFERRAL\",\n  \"referral_ref\": 12\n}\n");
  Write(dir, ".003-partial.json", "{");  // Still being written by the case system: ignored.

  // The gateway unreachable: nothing is filed away, nothing lost.
  OutboxWatcherOptions down;
  down.dir = dir;
  down.party = "uk/border-force";
  down.format = FindNativeFormat("border_force");
  down.stub = v1::Exchange::NewStub(testing::ChannelTo("127.0.0.1:1", "parties/uk-border-force"));
  OutboxWatcher offline(down);
  offline.ScanOnce();
  EXPECT_TRUE(fs::exists(dir + "/001-referral.json"));
  EXPECT_EQ(offline.sent_count(), 0);
  EXPECT_EQ(offline.rejected_count(), 0);  // The pass stops at 001: nothing overtakes it.
  EXPECT_TRUE(fs::exists(dir + "/002-bad.json"));

  OutboxWatcherOptions options = down;
  options.stub = h.Client("parties/uk-border-force");
  OutboxWatcher watcher(options);
  watcher.ScanOnce();
  EXPECT_EQ(watcher.sent_count(), 1);
  EXPECT_EQ(watcher.rejected_count(), 1);
  EXPECT_TRUE(fs::exists(dir + "/sent/001-referral.json"));
  EXPECT_THAT(ReadFile(dir + "/sent/001-referral.receipt.json"), HasSubstr("\"envelope_sha256\""));
  EXPECT_THAT(ReadFile(dir + "/rejected/002-bad.problems.txt"), HasSubstr("002-bad.json:3:19: referral_ref:"));
  EXPECT_TRUE(fs::exists(dir + "/.003-partial.json"));
  EXPECT_EQ(testing::StateOf(h, "BF-REF-2026-004512-01"), v1::ACCEPTED);

  // A crash after the receipt but before the move: the same file comes round again.
  fs::copy_file(dir + "/sent/001-referral.json", dir + "/001-referral.json");
  fs::last_write_time(dir + "/001-referral.json", fs::last_write_time(dir + "/sent/001-referral.json"));
  watcher.ScanOnce();
  EXPECT_EQ(watcher.sent_count(), 2);
  EXPECT_THAT(ReadFile(dir + "/sent/001-referral.receipt.json"), HasSubstr("\"duplicate\": true"));
}

// A record whose assertion names a key the gateway does not hold yet, or has
// expired by the gateway's clock, waits (rotation lag, clock skew); any other
// assertion refusal is the record's and files it in rejected/.
TEST(OutboxWatcherTest, AssertionKeyUnknownAndExpiredAreRetriedOtherAssertionRefusalsReject) {
  testing::HarnessOptions required;
  required.officer_assertions["uk/border-force"] = "required";
  testing::GatewayHarness h("outbox-watcher-assertions", required);
  const std::string dir = testing::MakeTempDir("outbox-watcher-assertions-files");
  std::string record = ReadFile(Example("gravelines-rib-2026-004512.json"));  // Officer BF-LO-4471.
  const size_t created = record.find("  \"created\":");
  ASSERT_NE(created, std::string::npos);
  record.erase(created, record.find('\n', created) - created + 1);  // The file's time: retries are the same.
  Write(dir, "001-referral.json", record);
  // The token the agency's refresher keeps in a file, read at each call.
  const std::string token_file = dir + "/.token";
  mtls::AssertionSourceOptions file_source;
  file_source.file = token_file;
  std::shared_ptr<mtls::OfficerAssertionSource> source = mtls::OfficerAssertionSource::FromOptions(file_source);
  std::vector<std::string> events;
  OutboxWatcherOptions options;
  options.dir = dir;
  options.party = "uk/border-force";
  options.format = FindNativeFormat("border_force");
  options.stub = h.Client("parties/uk-border-force");
  options.credentials = [source](const std::string&) { return mtls::OfficerAssertionCallCredentials(source); };
  options.on_event = [&events](const std::string& what) { events.push_back(what); };
  OutboxWatcher watcher(options);

  testing::Assertion next_key = testing::NewAssertion("uk/border-force", "BF-LO-4471");
  next_key.header["kid"] = "dev-2";  // Signed by the IdP's new key, not yet in the gateway's key directory.
  std::ofstream(token_file) << testing::Sign(next_key, testing::IdpKeyPath("uk/border-force"));
  watcher.ScanOnce();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_THAT(events.back(), HasSubstr("001-referral.json: not submitted yet (UNAUTHENTICATED (ASSERTION_KEY_UNKNOWN)"));
  EXPECT_THAT(events.back(), HasSubstr("will retry"));

  testing::Assertion expired = testing::NewAssertion("uk/border-force", "BF-LO-4471");
  expired.claims["iat"] = absl::ToUnixSeconds(absl::Now()) - 1200;
  expired.claims["exp"] = absl::ToUnixSeconds(absl::Now()) - 900;  // Beyond any clock skew allowance.
  std::ofstream(token_file) << testing::Sign(expired, testing::IdpKeyPath("uk/border-force"));
  watcher.ScanOnce();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_THAT(events.back(), HasSubstr("not submitted yet (UNAUTHENTICATED (ASSERTION_EXPIRED)"));
  EXPECT_TRUE(fs::exists(dir + "/001-referral.json"));
  EXPECT_EQ(watcher.rejected_count(), 0);

  std::ofstream(token_file) << testing::ValidToken("uk/border-force", "BF-LO-4471");
  watcher.ScanOnce();
  EXPECT_EQ(watcher.sent_count(), 1);
  EXPECT_TRUE(fs::exists(dir + "/sent/001-referral.json"));

  // Signed with another party's key: not the gateway's lag, the token's fault.
  std::string second = ReadFile(Example("fishing-vessel-2026-005190.json"));
  Write(dir, "002-referral.json", second);
  std::ofstream(token_file) << testing::Sign(testing::NewAssertion("uk/border-force", "BF-LO-4471"),
                                             testing::IdpKeyPath("uk/nca"));
  watcher.ScanOnce();
  EXPECT_EQ(watcher.rejected_count(), 1);
  EXPECT_TRUE(fs::exists(dir + "/rejected/002-referral.json"));
  EXPECT_THAT(ReadFile(dir + "/rejected/002-referral.problems.txt"), HasSubstr("UNAUTHENTICATED (ASSERTION_SIGNATURE)"));
}

}  // namespace
}  // namespace portcullis::adapters

namespace portcullis::adapters {
namespace {

// Push mode: a delivery whose native render fails is not answered OK; the
// gateway's retry arrives as a duplicate and is rendered then.
TEST(PushCompleteTest, ARenderFailureIsRetriedByTheGatewayAndRenderedOnTheDuplicate) {
  const std::string dir = testing::MakeTempDir("push-complete-inbox");
  auto inbox = NativeInbox::Open(dir, *FindNativeFormat("border_force"));
  ASSERT_TRUE(inbox.ok());
  NativeInbox* native = inbox->get();
  std::atomic<int> calls{0};
  std::atomic<int> duplicates{0};
  PartnerEndpointOptions options;
  options.tls = PartyTlsFromPki(testing::PkiDir(), "eu-europol");
  options.inbox = native->deliveries();
  options.complete = [&](const v1::Delivery& d, bool is_new) -> absl::Status {
    if (!is_new) duplicates.fetch_add(1);
    if (calls.fetch_add(1) == 0) return absl::ResourceExhaustedError("disk full (simulated)");
    return native->Complete(d, is_new);
  };
  auto endpoint = PartnerEndpoint::Start(std::move(options));
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  testing::HarnessOptions harness;
  harness.europol_push_address = "127.0.0.1:" + std::to_string((*endpoint)->port());
  testing::GatewayHarness h("push-complete", harness);
  v1::Receipt receipt;
  auto client = h.Client("parties/uk-border-force");
  ASSERT_TRUE(testing::Submit(*client, testing::SampleReferral("PUSH-1"), &receipt).ok());
  ASSERT_TRUE(testing::WaitForState(h, "PUSH-1", v1::DELIVERED));
  EXPECT_GE(calls.load(), 2);
  EXPECT_GE(duplicates.load(), 1);  // The retry found it stored...
  std::vector<v1::Delivery> listed = ListInbox(dir);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(fs::exists(NativeDir(dir) + "/" + listed[0].delivery_id() + ".json"));  // ...and rendered it.
  (*endpoint)->Shutdown();
}

}  // namespace
}  // namespace portcullis::adapters
