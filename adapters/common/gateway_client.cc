#include "adapters/common/gateway_client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/str_cat.h"
#include "adapters/common/gateway_address.h"
#include "mtls/credentials.h"
#include "portcullis/v1/message_limits.h"

namespace portcullis::adapters {
namespace {

// The service config of a channel over several replicas (docs/cluster.md,
// "Clients reach any replica"):
// - round_robin: each call goes to the next ready replica;
// - healthCheckConfig: gRPC's client-side health checking (gRFC A17, in gRPC
//   core; round_robin uses it, pick_first inhibits it): the channel watches
//   each replica's grpc.health.v1 service (service "", which the gateway sets
//   NOT_SERVING while its store or audit log cannot record: Gateway::
//   CheckHealth) and sends no call to a replica that is not SERVING. A
//   replica without its database is skipped as one that cannot be reached;
// - retryPolicy: a call answered UNAVAILABLE (a replica that lost its
//   database before its health said so, a connection cut by a replica's
//   death, OUTCOME_UNKNOWN) is tried again, up to 3 attempts in all, on the
//   next replica, after a random wait of up to 50 ms, then up to 100 ms
//   (gRPC's backoff: random up to initialBackoff x multiplier^n, capped at
//   maxBackoff). Safe because every method is idempotent:
//   Submit by its message id (the same id again is answered with the original
//   receipt if the first attempt committed, accepted now if not), Acknowledge
//   by its decision (the same decision again is a duplicate; the recorded
//   one stands), Confirm by the delivery id it confirms up to, Receive opens
//   a stream again (unconfirmed deliveries are sent again, by the same ids),
//   dead-letter retry and cancel act once (a second attempt after a first
//   that took effect answers NOT_A_DEAD_LETTER), the rest only read. gRPC
//   retries only until the answer's headers arrive, so a Receive stream that
//   has delivered something is never retried (its client reopens it).
constexpr char kReplicasServiceConfig[] = R"json({
  "loadBalancingConfig": [{"round_robin": {}}],
  "healthCheckConfig": {"serviceName": ""},
  "methodConfig": [{
    "name": [{"service": "portcullis.v1.Exchange"}, {"service": "portcullis.v1.Admin"},
             {"service": "portcullis.v1.Audit"}],
    "retryPolicy": {
      "maxAttempts": 3,
      "initialBackoff": "0.05s",
      "maxBackoff": "0.5s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})json";

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> DialGateway(const std::string& address, const PartyTls& tls,
                                                           const std::string& gateway_identity,
                                                           std::shared_ptr<grpc::CallCredentials> call_credentials) {
  if (address.empty()) return absl::InvalidArgumentError("gateway address is empty (expected HOST:PORT)");
  if (gateway_identity.empty()) return absl::InvalidArgumentError("expected server identity is empty");
  // Several replicas (a comma in the address): checked and resolved before
  // any file is read, so a bad entry is the error even with bad TLS files.
  std::string target = address;
  std::string first;
  const bool several = address.find(',') != std::string::npos;
  if (several) {
    auto list = ParseGatewayList(address);
    if (!list.ok()) return list.status();
    auto resolved = ResolvedTarget(*list);
    if (!resolved.ok()) return resolved.status();
    target = *resolved;
    first = list->front();
  }
  mtls::ClientTlsOptions options;
  options.files = ToTlsFiles(tls);
  options.expected_server_identity = gateway_identity;
  auto creds = mtls::MakeChannelCredentials(options);
  if (!creds.ok()) return creds.status();
  std::shared_ptr<grpc::ChannelCredentials> channel_creds = *creds;
  if (call_credentials != nullptr) channel_creds = grpc::CompositeChannelCredentials(channel_creds, call_credentials);
  grpc::ChannelArguments args;
  // A Receive stream's Delivery carries up to the largest envelope a Submit
  // of kMaxMessageBytes holds, plus its wrapper (docs/delivery.md, "Sizes").
  args.SetMaxReceiveMessageSize(static_cast<int>(v1::DeliveryBytes(v1::MaxEnvelopeBytes(kMaxMessageBytes))));
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  if (several) {
    // One channel over every replica: each call goes to the next ready and
    // healthy one; a replica that cannot be reached, fails the identity check
    // (which every connection passes on its own) or is NOT_SERVING is skipped
    // until it comes back (kReplicasServiceConfig). Retries are on (gRPC's
    // default) and health checking is not inhibited.
    args.SetServiceConfigJSON(kReplicasServiceConfig);
    // The :authority (and TLS SNI) the calls carry: the first entry, as a
    // single address would have it, not the "a,b,c" list.
    args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, first);
  }
  return grpc::CreateCustomChannel(target, channel_creds, args);
}

}  // namespace portcullis::adapters
