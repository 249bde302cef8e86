// portcullis-partner-endpoint: an EU partner's push endpoint. Accepts
// deliveries from the gateway (only the gateway's certificate is accepted),
// stores each durably in an inbox directory, and acknowledges it (ACCEPT) as
// the given officer. Runs until SIGTERM or SIGINT.
//
// Exit codes: 0 clean shutdown, 1 runtime failure, 2 usage error.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "adapters/cli_flags.h"
#include "adapters/common/describe.h"
#include "adapters/common/partner_endpoint.h"

namespace portcullis::adapters {
namespace {

constexpr char kUsage[] =
    "usage: portcullis-partner-endpoint --inbox DIR (--pki DIR --party STEM | --cert ... ) [options]\n"
    "  --listen ADDR                address to listen on (default 127.0.0.1:0, port printed at start)\n"
    "%s"
    "  --inbox DIR                  where deliveries are stored, one <delivery_id>.json each (created)\n"
    "  --gateway ADDR               the gateway, for acknowledgements (omit: never acknowledge)\n"
    "  --officer ID                 officer named on acknowledgements (required with --gateway)\n"
    "  --no-ack                     store only; do not acknowledge\n"
    "  --gateway-identity URI       the gateway's identity (default spiffe://exchange.gov.uk/gateway)\n";

std::mutex output_mu;  // Hooks print from several threads.

void Say(std::FILE* to, const std::string& line) {
  std::lock_guard<std::mutex> lock(output_mu);
  std::fprintf(to, "%s\n", line.c_str());
  std::fflush(to);
}

int Usage(const std::string& error) {
  std::fprintf(stderr, "portcullis-partner-endpoint: %s\n", error.c_str());
  std::fprintf(stderr, kUsage, kTlsFlagsUsage);
  return 2;
}

int Main(int argc, char** argv) {
  std::set<std::string> value_flags = {"listen", "inbox", "gateway", "officer", "gateway-identity"};
  value_flags.insert(TlsFlagNames().begin(), TlsFlagNames().end());
  auto flags = Flags::Parse(argc, argv, value_flags, {"no-ack", "help"});
  if (!flags.ok()) return Usage(std::string(flags.status().message()));
  if (flags->Has("help")) {
    std::printf(kUsage, kTlsFlagsUsage);
    return 0;
  }
  auto tls = TlsFromFlags(*flags);
  if (!tls.ok()) return Usage(std::string(tls.status().message()));
  if (!flags->Has("inbox")) return Usage("--inbox is required");
  const bool ack = flags->Has("gateway") && !flags->Has("no-ack");
  if (ack && !flags->Has("officer")) return Usage("--officer is required to acknowledge (or give --no-ack)");

  PartnerEndpointOptions options;
  options.listen_address = flags->Get("listen", options.listen_address);
  options.tls = *tls;
  options.gateway_identity = flags->Get("gateway-identity", options.gateway_identity);
  options.inbox_dir = flags->Get("inbox");
  options.gateway_address = flags->Get("gateway");
  options.officer = flags->Get("officer");
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
  options.on_refused = [](const mtls::HandshakeRefusal& r) {
    Say(stderr, absl::StrCat("refused handshake: ", r.code, ": ", r.message));
  };
  options.on_error = [](const absl::Status& s) { Say(stderr, absl::StrCat("error: ", s.ToString())); };

  // Block the stop signals before gRPC starts its threads, so that only
  // sigwait below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto endpoint = PartnerEndpoint::Start(std::move(options));
  if (!endpoint.ok()) {
    std::fprintf(stderr, "portcullis-partner-endpoint: %s\n", endpoint.status().ToString().c_str());
    return 1;
  }
  std::string host = flags->Get("listen", "127.0.0.1:0");
  host = host.substr(0, host.rfind(':'));
  Say(stdout, absl::StrCat("listening on ", host, ":", (*endpoint)->port(), ", inbox ", flags->Get("inbox"),
                           ack ? absl::StrCat(", acknowledging to ", flags->Get("gateway"), " as officer ",
                                              flags->Get("officer"))
                               : ", not acknowledging"));

  int signal_number = 0;
  sigwait(&stop, &signal_number);
  Say(stdout, absl::StrCat("received ", signal_number == SIGTERM ? "SIGTERM" : "SIGINT", ", shutting down"));
  (*endpoint)->Shutdown();
  Say(stdout, absl::StrCat("stopped: ", (*endpoint)->stored_count(), " stored, ", (*endpoint)->acknowledged_count(),
                           " acknowledged"));
  return 0;
}

}  // namespace
}  // namespace portcullis::adapters

int main(int argc, char** argv) { return portcullis::adapters::Main(argc, argv); }
