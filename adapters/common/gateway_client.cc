#include "adapters/common/gateway_client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/str_cat.h"
#include "mtls/credentials.h"
#include "portcullis/v1/message_limits.h"

namespace portcullis::adapters {

absl::StatusOr<std::shared_ptr<grpc::Channel>> DialGateway(const std::string& address, const PartyTls& tls,
                                                           const std::string& gateway_identity,
                                                           std::shared_ptr<grpc::CallCredentials> call_credentials) {
  if (address.empty()) return absl::InvalidArgumentError("gateway address is empty (expected HOST:PORT)");
  if (gateway_identity.empty()) return absl::InvalidArgumentError("expected server identity is empty");
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
  return grpc::CreateCustomChannel(address, channel_creds, args);
}

}  // namespace portcullis::adapters
