// portcullis-adapter: a party's adapter between its own records and the
// exchange (docs/adapters.md). One binary for every agency and partner; the
// party's config file (adapters/common/party_config.h) names its format.
//
//   portcullis-adapter [--config FILE] run               receive into the inbox (push or pull)
//   portcullis-adapter [--config FILE] submit [--partial] FILE...
//   portcullis-adapter [--config FILE] check FILE...     validate native records only
//   portcullis-adapter [--config FILE] render FILE...    envelope or delivery JSON -> native JSON
//   portcullis-adapter COMMAND --help                    each command's own flags
//
// Exit codes: 0 ok; 1 refused by the gateway or a runtime failure; 2 usage
// error; 3 bad native input (nothing submitted, or with --partial some
// records were not).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "adapters/common/describe.h"
#include "adapters/main_support.h"
#include "adapters/common/envelope_json.h"
#include "adapters/common/gateway_client.h"
#include "adapters/common/native_inbox.h"
#include "adapters/common/native_submit.h"
#include "adapters/common/outbox_watcher.h"
#include "adapters/common/partner_endpoint.h"
#include "adapters/common/party_config.h"
#include "adapters/common/pull_receiver.h"
#include "mtls/officer_assertion_source.h"
#include "util/command_line.h"

namespace portcullis::adapters {
namespace {

constexpr int kUsageCode = 2;

constexpr char kConfigHelp[] =
    "the party's adapter config (default $PORTCULLIS_CONFIG, else ~/.config/portcullis/liaison.yaml)";

int Usage(const std::string& error) { return cli::UsageError("portcullis-adapter", error, kUsageCode); }

int Fail(const std::string& error) {
  Say(stderr, absl::StrCat("portcullis-adapter: ", error));
  return 1;
}

// Each bad record's problems; then, if anything was sent, each outcome.
int ReportBatch(const std::vector<NativeRecord>& records, bool partial, bool sent) {
  const size_t bad = CountBad(records);
  int refused = 0;
  for (const NativeRecord& r : records) {
    if (!r.problem.ok()) {
      Say(stderr, absl::StrCat("bad record ", r.file, ":\n  ", absl::StrReplaceAll(r.problem.message(), {{"\n", "\n  "}})));
    } else if (r.submitted && r.status.ok()) {
      Say(stdout, absl::StrCat(r.receipt.duplicate() ? "already accepted: " : "accepted: ", r.envelope.message_id(),
                               " (", r.file, ") audit index ", r.receipt.audit_index()));
    } else if (r.submitted) {
      ++refused;
      Say(stderr, absl::StrCat("refused: ", r.envelope.message_id(), " (", r.file, "): ", DescribeStatus(r.status)));
    } else if (!sent) {
      Say(stdout, absl::StrCat("ok: ", r.envelope.message_id(), " (", r.file, ")"));
    }
  }
  if (bad > 0 && !partial && sent) {
    Say(stderr, absl::StrCat("nothing submitted: ", bad, " of ", records.size(),
                             " records have problems (--partial submits the good ones)"));
  }
  if (refused > 0) return 1;
  return bad > 0 ? 3 : 0;
}

int Submit(const PartyConfig& config, const std::vector<std::string>& files, bool partial, bool send) {
  if (files.empty()) return Usage("no files given");
  std::vector<NativeRecord> records = PrepareBatch(*config.format, files, config.party, absl::Now());
  if (send && (partial || CountBad(records) == 0)) {
    auto channel = DialGateway(config.gateway, config.tls, config.gateway_identity);
    if (!channel.ok()) return Fail(channel.status().ToString());
    v1::Exchange::Stub stub(*channel);
    SubmitBatch(stub, records, partial, absl::Seconds(30), OfficerCredentialsOf(config));
  }
  return ReportBatch(records, partial, send);
}

int Render(const PartyConfig& config, const std::vector<std::string>& files) {
  if (files.empty()) return Usage("no files given");
  for (const std::string& file : files) {
    absl::StatusOr<v1::Envelope> envelope = LoadEnvelopeJson(file);
    if (!envelope.ok()) {
      // Perhaps a delivery (an inbox file) rather than an envelope.
      std::ifstream in(file, std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      v1::Delivery delivery;
      if (!in || !FromJson(text.str(), file, &delivery).ok()) return Fail(envelope.status().ToString());
      envelope = delivery.envelope();
    }
    absl::StatusOr<std::string> native = config.format->FromEnvelope(*envelope);
    if (!native.ok()) return Fail(absl::StrCat(file, ": ", native.status().message()));
    std::fputs(native->c_str(), stdout);
  }
  return 0;
}

int Run(const PartyConfig& config) {
  const sigset_t stop = BlockStopSignals();  // Before gRPC starts threads: only WaitForStop sees them.

  auto inbox = NativeInbox::Open(config.inbox, *config.format);
  if (!inbox.ok()) return Fail(inbox.status().ToString());
  std::vector<std::string> problems;
  absl::StatusOr<int> repaired = (*inbox)->Repair(&problems);
  if (!repaired.ok()) return Fail(repaired.status().ToString());
  for (const std::string& p : problems) Say(stderr, absl::StrCat("cannot render a stored delivery: ", p));
  if (*repaired > 0) Say(stdout, absl::StrCat("rendered ", *repaired, " stored deliveries that had no native file"));

  NativeInbox* native = inbox->get();
  auto say_stored = [](const v1::Delivery& d) { Say(stdout, DescribeStoredDelivery(d)); };
  std::unique_ptr<PartnerEndpoint> endpoint;
  std::unique_ptr<PullReceiver> receiver;
  if (config.receive_mode == ReceiveMode::kPush) {
    PartnerEndpointOptions options;
    options.listen_address = config.listen;
    options.tls = config.tls;
    options.gateway_identity = config.gateway_identity;
    options.inbox = native->deliveries();
    options.gateway_address = config.gateway;
    // Never a person's id: nobody read it. The audit shows a system acceptance.
    options.officer = "system:auto-accept";
    options.auto_accept = config.auto_accept;
    if (OfficerCredentials credentials = OfficerCredentialsOf(config)) {
      options.acknowledge_credentials = credentials(options.officer);  // Asked for the system's own id.
    }
    // Rendered before the gateway hears OK; a duplicate whose render failed is rendered on the retry.
    options.complete = [native](const v1::Delivery& d, bool is_new) { return native->Complete(d, is_new); };
    options.on_stored = say_stored;
    options.on_acknowledged = [](const v1::AcknowledgeRequest& a, const grpc::Status& s) {
      Say(s.ok() ? stdout : stderr, s.ok() ? absl::StrCat("acknowledged ", a.message_id(), " as ", a.officer())
                                           : absl::StrCat("could not acknowledge ", a.message_id(), ": ",
                                                          DescribeStatus(s)));
    };
    SayEndpointProblems(&options);
    auto started = PartnerEndpoint::Start(std::move(options));
    if (!started.ok()) return Fail(started.status().ToString());
    endpoint = std::move(*started);
    Say(stdout, absl::StrCat(config.party, ": receiving by push on ", config.listen, " into ", config.inbox,
                             " (format ", std::string(config.format->name()), ")"));
  } else {
    auto channel = DialGateway(config.gateway, config.tls, config.gateway_identity);
    if (!channel.ok()) return Fail(channel.status().ToString());
    PullReceiverOptions options;
    options.channel = *channel;
    options.inbox = native;  // Stores and renders before each confirm.
    options.officer = "system:adapter";  // Rejects what the format can never render; nobody read it.
    options.credentials = OfficerCredentialsOf(config);  // Only on those rejections: never on Receive/Confirm.
    options.on_stored = say_stored;
    options.on_event = [](const std::string& what) { Say(stderr, what); };
    receiver = std::make_unique<PullReceiver>(std::move(options));
    receiver->Start();
    Say(stdout, absl::StrCat(config.party, ": receiving by pull from ", config.gateway, " into ", config.inbox,
                             " (format ", std::string(config.format->name()), ")"));
  }
  std::unique_ptr<OutboxWatcher> outbox;
  if (!config.outbox.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(config.outbox, ec);
    if (ec) return Fail(absl::StrCat("cannot create outbox ", config.outbox, ": ", ec.message()));
    auto channel = DialGateway(config.gateway, config.tls, config.gateway_identity);
    if (!channel.ok()) return Fail(channel.status().ToString());
    OutboxWatcherOptions options;
    options.dir = config.outbox;
    options.party = config.party;
    options.format = config.format;
    options.stub = std::make_shared<v1::Exchange::Stub>(*channel);
    options.credentials = OfficerCredentialsOf(config);
    options.on_event = [](const std::string& what) { Say(stdout, absl::StrCat("outbox: ", what)); };
    outbox = std::make_unique<OutboxWatcher>(std::move(options));
    outbox->Start();
    Say(stdout, absl::StrCat(config.party, ": submitting records dropped into ", config.outbox));
  }
  Say(stdout, absl::StrCat("received ", WaitForStop(stop), ", stopping"));
  if (outbox) outbox->Stop();
  if (endpoint) endpoint->Shutdown();
  if (receiver) receiver->Stop();
  return 0;
}

int Main(int argc, char** argv) {
  auto app = cli::NewApp("portcullis-adapter",
                           "portcullis-adapter: a party's adapter between its own records and the exchange "
                           "(docs/adapters.md). The party's config names its format.");
  app->footer(
      "\nexit codes: 0 ok; 1 refused by the gateway or a runtime failure; 2 usage error; 3 bad native input "
      "(nothing submitted, or with --partial some records were not)\n");
  app->require_subcommand(0, 1);
  std::string config_flag;
  bool partial = false;
  std::vector<std::string> files;
  app->add_option("--config", config_flag, kConfigHelp)->type_name("FILE");
  CLI::App* run = cli::AddCommand(app.get(), "run",
                                    "receive deliveries into the party's inbox, by push or pull as configured, and "
                                    "submit records dropped into its outbox folder (if configured)");
  CLI::App* submit = cli::AddCommand(app.get(), "submit",
                                       "validate native records, then submit them (one bad record: nothing is sent, "
                                       "unless --partial, which sends the good ones and names the bad)");
  submit->add_flag("--partial", partial, "submit the good records even if some are bad");
  CLI::App* check = cli::AddCommand(app.get(), "check", "validate native records; submit nothing");
  CLI::App* render = cli::AddCommand(app.get(), "render",
                                       "print the native form of an envelope or delivery (proto JSON)");
  for (CLI::App* c : {run, submit, check, render}) {
    c->add_option("--config", config_flag, kConfigHelp)->type_name("FILE");
    if (c != run) c->add_option("FILE", files, "native records (check, submit) or envelopes/deliveries (render)");
  }
  std::string command;
  if (std::optional<int> code = cli::ParseCommand(*app, argc, argv, kUsageCode, &command)) return *code;
  absl::StatusOr<PartyConfig> config = LoadPartyConfig(ResolvePartyConfigPath(config_flag));
  if (!config.ok()) return Fail(std::string(config.status().message()));
  if (command == "run") return Run(*config);
  if (command == "submit") return Submit(*config, files, partial, true);
  if (command == "check") return Submit(*config, files, false, false);
  return Render(*config, files);
}

}  // namespace
}  // namespace portcullis::adapters

int main(int argc, char** argv) { return portcullis::adapters::Main(argc, argv); }
