// Every sendable example is sent as documented and read back by every
// recipient (issue 12 item 5; adapters/README.md, "Examples").
//
// The examples are found by globbing adapters/<format>/examples/*.json, so a
// new example is picked up without a change here; adapters/<format>/examples/
// received/ holds what a recipient sees (it names another party as sender) and
// is skipped by that rule, not by a list. Each example is sent with the shipped
// party config of its folder (adapters/config/<folder, '_' as '-'>.yaml: its
// party, its officer, its TLS files), by the path `liaison send` takes
// (PrepareBatch, the originating-officer rule, SubmitBatch), through a real
// gateway running the shipped config/portcullis.yaml (parties, clearances,
// routes) on the test PKI with real mTLS; only the listener, the state folder
// and the push addresses are the test's. A reply is sent after the example it
// answers (found by its correlation id among the examples). Every recipient
// with a shipped adapter config receives it as its adapter does (push endpoint
// or pull stream into its native inbox); the native rendering must read back,
// in the recipient's format, to exactly the envelope that was sent (with the
// sender the gateway set). Recipients without an adapter config (e.g.
// eu/nl-kmar) have no native format here; the gateway holds theirs for pull.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "adapters/common/gateway_client.h"
#include "adapters/common/json_doc.h"
#include "adapters/common/native_inbox.h"
#include "adapters/common/native_submit.h"
#include "adapters/common/partner_endpoint.h"
#include "adapters/common/party_config.h"
#include "adapters/common/pull_receiver.h"
#include "gateway/config/config_loader.h"
#include "gateway/service/gateway.h"
#include "tests/support/files.h"
#include "tests/support/harness.h"
#include "tests/support/poll.h"
#include "tests/support/test_storage.h"

namespace portcullis::adapters {
namespace {

namespace fs = std::filesystem;
using ::portcullis::testing::ReadFile;
using ::portcullis::testing::WaitUntil;

const std::string kSource = PORTCULLIS_SOURCE_DIR;

// adapters/<folder>/examples/*.json (or received/*.json), relative to the source tree, sorted.
std::vector<std::string> Glob(const std::string& under_examples) {
  std::vector<std::string> out;
  for (const auto& format_dir : fs::directory_iterator(kSource + "/adapters")) {
    const fs::path dir = format_dir.path() / "examples" / under_examples;
    if (!format_dir.is_directory() || !fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.is_regular_file() && entry.path().extension() == ".json") {
        out.push_back(fs::relative(entry.path(), kSource).string());
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> SendableExamples() { return Glob(""); }
std::vector<std::string> ReceivedExamples() { return Glob("received"); }

// "adapters/fr_dnpaf/examples/x.json" -> "adapters/config/fr-dnpaf.yaml" (absolute).
std::string ConfigOf(const std::string& example) {
  const std::string folder = fs::path(example).parent_path().parent_path().filename().string();
  return kSource + "/adapters/config/" + absl::StrReplaceAll(folder, {{"_", "-"}}) + ".yaml";
}

// Every shipped party config, loaded with the test's PKI and state folder.
std::vector<PartyConfig> ShippedPartyConfigs() {
  std::vector<PartyConfig> out;
  for (const auto& entry : fs::directory_iterator(kSource + "/adapters/config")) {
    if (entry.path().extension() != ".yaml") continue;
    absl::StatusOr<PartyConfig> config = LoadPartyConfig(entry.path().string());
    EXPECT_TRUE(config.ok()) << config.status();
    if (config.ok()) out.push_back(*std::move(config));
  }
  return out;
}

// The shipped gateway and every party with a shipped adapter config, receiving
// as its adapter does (`portcullis-adapter run`).
class Exchange {
 public:
  explicit Exchange(const std::string& name) {
    dir_ = testing::MakeTempDir(name);
    fs::create_directories(dir_ + "/witness");
    setenv("PORTCULLIS_PKI", testing::PkiDir().c_str(), 1);
    setenv("PORTCULLIS_STATE", dir_.c_str(), 1);
    setenv("PORTCULLIS_WITNESS", (dir_ + "/witness").c_str(), 1);
    setenv("PORTCULLIS_LISTEN", "127.0.0.1:0", 1);
    // The shipped config's store section reads these: SQLite in the state
    // folder, or (in the "postgres:" runs) a fresh database on the shared cluster.
    if (testing::TestsOnPostgres()) {
      setenv("PORTCULLIS_STORE_BACKEND", "postgres", 1);
      setenv("PORTCULLIS_STORE_DSN", testing::FreshTestDatabase().c_str(), 1);
    }
    // The shipped party configs' assertion_command runs the dev stand-in IdP
    // (portcullis-devtoken) from PATH, as the demo and the README set it.
    const char* path = std::getenv("PATH");
    setenv("PATH", (std::string(PORTCULLIS_BINARY_DIR) + "/tools:" + (path ? path : "/usr/bin:/bin")).c_str(), 1);
    parties_ = ShippedPartyConfigs();
    for (const PartyConfig& p : parties_) {
      auto inbox = NativeInbox::Open(p.inbox, *p.format);
      EXPECT_TRUE(inbox.ok()) << inbox.status();
      if (inbox.ok()) inboxes_[p.party] = *std::move(inbox);
    }
    absl::StatusOr<std::shared_ptr<const Config>> shipped = LoadConfigFile(kSource + "/config/portcullis.yaml");
    EXPECT_TRUE(shipped.ok()) << shipped.status();
    if (!shipped.ok()) return;
    auto config = std::make_shared<Config>(**shipped);
    // Push parties listen on a free port of the test's; the gateway is told which.
    for (const PartyConfig& p : parties_) {
      if (p.receive_mode != ReceiveMode::kPush || !inboxes_.count(p.party)) continue;
      NativeInbox* native = inboxes_[p.party].get();
      PartnerEndpointOptions options;
      options.tls = p.tls;
      options.gateway_identity = p.gateway_identity;
      options.inbox = native->deliveries();
      options.complete = [native](const v1::Delivery& d, bool is_new) { return native->Complete(d, is_new); };
      auto endpoint = PartnerEndpoint::Start(std::move(options));
      EXPECT_TRUE(endpoint.ok()) << p.party << ": " << endpoint.status();
      if (!endpoint.ok()) continue;
      for (Party& party : config->parties) {
        if (party.id == p.party) party.delivery.address = "127.0.0.1:" + std::to_string((*endpoint)->port());
      }
      endpoints_.push_back(*std::move(endpoint));
    }
    auto gateway = Gateway::Start(config);
    EXPECT_TRUE(gateway.ok()) << gateway.status();
    if (!gateway.ok()) return;
    gateway_ = *std::move(gateway);
    address_ = "127.0.0.1:" + std::to_string(gateway_->port());
    for (const PartyConfig& p : parties_) {
      if (p.receive_mode != ReceiveMode::kPull || !inboxes_.count(p.party)) continue;
      PullReceiverOptions options;
      options.channel = Channel(p);
      options.inbox = inboxes_[p.party].get();
      receivers_.push_back(std::make_unique<PullReceiver>(std::move(options)));
      receivers_.back()->Start();
    }
  }

  ~Exchange() {
    for (auto& r : receivers_) r->Stop();
    for (auto& e : endpoints_) e->Shutdown();
    if (gateway_) gateway_->Shutdown(std::chrono::seconds(2));
  }

  bool started() const { return gateway_ != nullptr; }

  std::shared_ptr<grpc::Channel> Channel(const PartyConfig& p) const {
    auto channel = DialGateway(address_, p.tls, p.gateway_identity);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return channel.ok() ? *channel : nullptr;
  }

  // The config in adapters/config/ whose file is `path`, or whose party is `party`.
  const PartyConfig* ByFile(const std::string& path) const {
    for (const PartyConfig& p : parties_) {
      if (fs::equivalent(p.source, path)) return &p;
    }
    return nullptr;
  }
  const PartyConfig* ByParty(const std::string& party) const {
    for (const PartyConfig& p : parties_) {
      if (p.party == party) return &p;
    }
    return nullptr;
  }

 private:
  std::string dir_;
  std::string address_;
  std::vector<PartyConfig> parties_;
  std::map<std::string, std::unique_ptr<NativeInbox>> inboxes_;
  std::vector<std::unique_ptr<PartnerEndpoint>> endpoints_;
  std::unique_ptr<Gateway> gateway_;
  std::vector<std::unique_ptr<PullReceiver>> receivers_;
};

// `example` prepared as `liaison send FILE --config <its folder's config>` does.
NativeRecord Prepare(const PartyConfig& sender, const std::string& example) {
  std::vector<NativeRecord> batch = PrepareBatch(*sender.format, {kSource + "/" + example}, sender.party, absl::Now());
  NativeRecord r = batch.at(0);
  if (r.problem.ok() && r.envelope.originating_officer() != sender.officer) {
    r.problem = absl::InvalidArgumentError(
        absl::StrCat("the record's originating officer is \"", r.envelope.originating_officer(), "\" but ",
                     sender.source, " sends as \"", sender.officer, "\" (liaison send refuses it)"));
  }
  return r;
}

// Sends `example` after the example it answers, if any (its correlation id is
// that example's message id). Returns the record sent.
NativeRecord SendWithThread(Exchange& x, const std::string& example, int depth = 0) {
  const PartyConfig* sender = x.ByFile(ConfigOf(example));
  EXPECT_NE(sender, nullptr) << example << ": no shipped config " << ConfigOf(example);
  if (sender == nullptr) return {};
  NativeRecord r = Prepare(*sender, example);
  EXPECT_TRUE(r.problem.ok()) << example << ": " << r.problem;
  if (!r.problem.ok()) return r;
  const std::string answers = r.envelope.correlation_id();
  if (!answers.empty() && depth < 8) {
    bool found = false;
    for (const std::string& other : SendableExamples()) {
      const PartyConfig* other_sender = x.ByFile(ConfigOf(other));
      if (other == example || other_sender == nullptr) continue;
      NativeRecord o = Prepare(*other_sender, other);
      if (o.problem.ok() && o.envelope.message_id() == answers) {
        SendWithThread(x, other, depth + 1);
        found = true;
        break;
      }
    }
    EXPECT_TRUE(found) << example << " answers " << answers << ", which no example sends";
  }
  std::vector<NativeRecord> batch = {r};
  auto stub = v1::Exchange::NewStub(x.Channel(*sender));
  // The officer's assertion from the config's assertion_command, as liaison and the adapter send it.
  EXPECT_EQ(SubmitBatch(*stub, batch, false, absl::Seconds(30), OfficerCredentialsOf(*sender)), 1u)
      << example << " (sent as " << sender->party << "): " << batch[0].status.error_code() << " "
      << batch[0].status.error_message();
  // The shipped gateway config requires assertions: the officer is verified, not claimed.
  EXPECT_TRUE(batch[0].receipt.originating_officer_verified()) << example;
  return batch[0];
}

// Waits for `message_id` from `sender` in the recipient's inbox; its native
// rendering must read back to `expected` exactly.
void ExpectReadBack(const PartyConfig& recipient, const std::string& sender, const v1::Envelope& expected) {
  v1::Delivery delivery;
  const bool arrived = WaitUntil([&] {
    for (const v1::Delivery& d : ListInbox(recipient.inbox)) {
      if (d.envelope().message_id() == expected.message_id() && d.envelope().sender() == sender) {
        delivery = d;
        return fs::exists(NativeDir(recipient.inbox) + "/" + d.delivery_id() + ".json") ||
               fs::exists(NativeDir(recipient.inbox) + "/" + d.delivery_id() + ".error.txt");
      }
    }
    return false;
  });
  ASSERT_TRUE(arrived) << expected.message_id() << " never reached " << recipient.party << "'s inbox";
  const std::string native = NativeDir(recipient.inbox) + "/" + delivery.delivery_id() + ".json";
  ASSERT_TRUE(fs::exists(native)) << recipient.party << " (format " << recipient.format->name()
                                  << ") could not render it: " << ReadFile(native + ".error.txt");
  google::protobuf::util::MessageDifferencer differ;
  std::string diff;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(expected, delivery.envelope())) << "delivered to " << recipient.party << ":\n" << diff;
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(ReadFile(native), native);
  ASSERT_TRUE(doc.ok()) << doc.status();
  absl::StatusOr<v1::Envelope> back = recipient.format->ToEnvelope(*doc);
  ASSERT_TRUE(back.ok()) << native << ": " << back.status();
  diff.clear();
  EXPECT_TRUE(differ.Compare(expected, *back))
      << "read back in " << recipient.format->name() << " at " << recipient.party << ":\n" << diff << ReadFile(native);
}

// A recipient without a shipped adapter config (e.g. eu/nl-kmar) has no
// native format here: it reads its Receive stream with its own certificate
// (the PKI's parties/<id, '/' as '-'>), and gets exactly `expected`.
void ExpectPulledByPartyWithoutAdapter(Exchange& x, const std::string& recipient, const v1::Envelope& expected) {
  PartyTls tls = PartyTlsFromPki(testing::PkiDir(), absl::StrReplaceAll(recipient, {{"/", "-"}}));
  PartyConfig as_recipient;
  as_recipient.tls = tls;
  as_recipient.gateway_identity = kGatewayIdentity;
  auto stub = v1::Exchange::NewStub(x.Channel(as_recipient));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  auto stream = stub->Receive(&context, v1::ReceiveRequest());
  v1::Delivery d;
  bool found = false;
  while (!found && stream->Read(&d)) found = d.envelope().message_id() == expected.message_id();
  context.TryCancel();
  ASSERT_TRUE(found) << expected.message_id() << " was not on " << recipient << "'s Receive stream";
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(expected, d.envelope())) << "pulled by " << recipient << ":\n" << diff;
}

class ExampleSent : public ::testing::TestWithParam<std::string> {};

TEST_P(ExampleSent, AsDocumentedAndReadBackByEveryRecipient) {
  const std::string& example = GetParam();
  Exchange x(absl::StrCat("examples-", fs::path(example).stem().string()));
  ASSERT_TRUE(x.started());
  const NativeRecord sent = SendWithThread(x, example);
  ASSERT_TRUE(sent.submitted && sent.status.ok()) << example << " was not accepted";
  const PartyConfig* sender = x.ByFile(ConfigOf(example));
  v1::Envelope expected = sent.envelope;
  expected.set_sender(sender->party);
  int read_back = 0;
  for (const std::string& recipient : sent.envelope.recipients()) {
    const PartyConfig* config = x.ByParty(recipient);
    SCOPED_TRACE(recipient);
    if (config == nullptr) {
      ExpectPulledByPartyWithoutAdapter(x, recipient, expected);
      continue;
    }
    ExpectReadBack(*config, sender->party, expected);
    ++read_back;
  }
  // Every example reaches a recipient; those with a native format read it back.
  EXPECT_GT(sent.envelope.recipients_size(), 0);
  RecordProperty("native_read_backs", read_back);
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).parent_path().parent_path().filename().string() + "_" +
                     fs::path(info.param).stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Glob, ExampleSent, ::testing::ValuesIn(SendableExamples()), TestName);

// The rule that skips received/: each of those names another party as its
// sender, so its folder's config cannot send it (and every format has examples).
TEST(ExamplesSent, ReceivedFormsNameAnotherSenderAndAreRefused) {
  setenv("PORTCULLIS_PKI", testing::PkiDir().c_str(), 1);
  setenv("PORTCULLIS_STATE", testing::MakeTempDir("examples-received").c_str(), 1);
  EXPECT_GE(SendableExamples().size(), 5u);
  ASSERT_FALSE(ReceivedExamples().empty());
  for (const std::string& example : ReceivedExamples()) {
    SCOPED_TRACE(example);
    // .../examples/received/x.json: the folder's config is two levels further up.
    const std::string folder = fs::path(example).parent_path().parent_path().parent_path().filename().string();
    absl::StatusOr<PartyConfig> config =
        LoadPartyConfig(kSource + "/adapters/config/" + absl::StrReplaceAll(folder, {{"_", "-"}}) + ".yaml");
    ASSERT_TRUE(config.ok()) << config.status();
    absl::StatusOr<JsonDoc> doc = JsonDoc::Load(kSource + "/" + example);
    ASSERT_TRUE(doc.ok()) << doc.status();
    absl::StatusOr<v1::Envelope> envelope = config->format->ToEnvelope(*doc);
    ASSERT_TRUE(envelope.ok()) << envelope.status();
    EXPECT_FALSE(envelope->sender().empty());
    EXPECT_NE(envelope->sender(), config->party);
    std::vector<NativeRecord> batch = PrepareBatch(*config->format, {kSource + "/" + example}, config->party, absl::Now());
    EXPECT_FALSE(batch.at(0).problem.ok());
  }
}

}  // namespace
}  // namespace portcullis::adapters
