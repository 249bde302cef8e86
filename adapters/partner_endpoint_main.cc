// portcullis-partner-endpoint: an EU partner's push endpoint. Accepts
// deliveries from the gateway (only the gateway's certificate is accepted),
// stores each durably in an inbox directory, and acknowledges it (ACCEPT) as
// the given officer. Runs until SIGTERM or SIGINT.
//
// Exit codes: 0 clean shutdown, 1 runtime failure, 2 usage error.
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "adapters/common/describe.h"
#include "adapters/main_support.h"
#include "adapters/common/partner_endpoint.h"
#include "mtls/officer_assertion_source.h"
#include "tools/common/cli_common.h"

namespace portcullis::adapters {
namespace {

constexpr int kUsageCode = 2;

int Usage(const std::string& error) { return cli::UsageError("portcullis-partner-endpoint", error, kUsageCode); }

int Main(int argc, char** argv) {
  auto app = cli::NewApp("portcullis-partner-endpoint",
                           "portcullis-partner-endpoint: an EU partner's push endpoint. Accepts deliveries from the "
                           "gateway (only the gateway's certificate), stores each durably in --inbox, and "
                           "acknowledges it (ACCEPT) as --officer. Runs until SIGTERM or SIGINT.");
  app->footer("\nexit codes: 0 clean shutdown, 1 runtime failure, 2 usage error\n");
  tools::GatewayFlags gw;
  tools::AddGatewayFlags(app.get(), &gw, "eu-europol");
  app->get_option("--gateway")->description(
      "the gateway, for acknowledgements (omit: never acknowledge); several replicas: repeat --gateway or give "
      "HOST:PORT,HOST:PORT (one round-robin channel)");
  std::string listen = "127.0.0.1:0", inbox, officer;
  bool no_ack = false;
  app->add_option("--listen", listen, "address to listen on (default 127.0.0.1:0, port printed at start)")
      ->type_name("ADDR");
  app->add_option("--inbox", inbox, "where deliveries are stored, one <delivery_id>.json each (created)")
      ->type_name("DIR");
  app->add_option("--officer", officer, "officer named on acknowledgements (required with --gateway)")
      ->type_name("ID");
  app->add_flag("--no-ack", no_ack, "store only; do not acknowledge");
  if (std::optional<int> code = cli::ParseCommandLine(*app, argc, argv, kUsageCode)) return *code;
  auto tls = tools::TlsFiles(gw);
  if (!tls.ok()) return Usage(std::string(tls.status().message()));
  if (inbox.empty()) return Usage("--inbox is required");
  const bool ack = !gw.gateway.empty() && !no_ack;
  if (ack && officer.empty()) return Usage("--officer is required to acknowledge (or give --no-ack)");

  PartnerEndpointOptions options;
  options.listen_address = listen;
  options.tls = *tls;
  options.gateway_identity = gw.gateway_identity;
  options.inbox_dir = inbox;
  options.gateway_address = gw.gateway;
  options.officer = officer;
  gw.officer = officer;  // PORTCULLIS_OFFICER for --assertion-command.
  if (auto source = mtls::OfficerAssertionSource::FromOptions(tools::AssertionOptions(gw)); ack && source != nullptr) {
    options.acknowledge_credentials = mtls::OfficerAssertionCallCredentials(source);
  }
  options.auto_accept = ack;
  options.on_stored = [](const v1::Delivery& d) { Say(stdout, DescribeStoredDelivery(d)); };
  options.on_acknowledged = [](const v1::AcknowledgeRequest& a, const grpc::Status& s) {
    if (s.ok()) {
      Say(stdout, absl::StrCat("acknowledged ", a.message_id(), " (", v1::AckDecision_Name(a.decision()),
                               ") as officer ", a.officer()));
    } else {
      Say(stderr, absl::StrCat("could not acknowledge ", a.message_id(), ": ", DescribeStatus(s)));
    }
  };
  SayEndpointProblems(&options);

  // Block the stop signals before gRPC starts its threads, so that only
  // WaitForStop below receives them.
  const sigset_t stop = BlockStopSignals();

  auto endpoint = PartnerEndpoint::Start(std::move(options));
  if (!endpoint.ok()) {
    std::fprintf(stderr, "portcullis-partner-endpoint: %s\n", endpoint.status().ToString().c_str());
    return 1;
  }
  std::string host = listen;
  host = host.substr(0, host.rfind(':'));
  Say(stdout, absl::StrCat("listening on ", host, ":", (*endpoint)->port(), ", inbox ", inbox,
                           ack ? absl::StrCat(", acknowledging to ", gw.gateway, " as officer ", officer)
                               : ", not acknowledging"));

  Say(stdout, absl::StrCat("received ", WaitForStop(stop), ", shutting down"));
  (*endpoint)->Shutdown();
  Say(stdout, absl::StrCat("stopped: ", (*endpoint)->stored_count(), " stored, ", (*endpoint)->acknowledged_count(),
                           " acknowledged"));
  return 0;
}

}  // namespace
}  // namespace portcullis::adapters

int main(int argc, char** argv) { return portcullis::adapters::Main(argc, argv); }
