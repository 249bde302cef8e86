#include "adapters/common/gateway_client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/str_cat.h"
#include "adapters/common/gateway_address.h"
#include "mtls/credentials.h"
#include "portcullis/v1/message_limits.h"

namespace portcullis::adapters {

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
    // One channel over every replica: each call goes to the next ready one; a
    // replica that cannot be reached (or fails the identity check, which every
    // connection passes on its own) is skipped until it comes back.
    args.SetLoadBalancingPolicyName("round_robin");
    // The :authority (and TLS SNI) the calls carry: the first entry, as a
    // single address would have it, not the "a,b,c" list.
    args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, first);
  }
  return grpc::CreateCustomChannel(target, channel_creds, args);
}

}  // namespace portcullis::adapters
