#include <map>
#include <optional>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "gateway/delivery/permanent_failure.h"
#include "gateway/delivery/transport.h"
#include "mtls/credentials.h"
#include "portcullis/v1/exchange.grpc.pb.h"
#include "portcullis/v1/message_limits.h"

namespace portcullis {
namespace {

class GrpcPushTransport final : public DeliveryTransport {
 public:
  void Push(const Party& recipient, const v1::Delivery& delivery, std::chrono::milliseconds timeout,
            std::function<void(absl::Status)> done) override {
    auto it = stubs_.find(recipient.id);
    if (it == stubs_.end()) {
      done(absl::FailedPreconditionError(absl::StrCat("party '", recipient.id, "' has no push endpoint")));
      return;
    }
    // What the channel's send limit would refuse is refused here, never sent
    // (the dispatcher checks the envelope against the party's limit first).
    const size_t bytes = delivery.ByteSizeLong();
    const size_t limit = send_limits_.at(recipient.id);
    if (bytes > limit) {
      done(PermanentFailure(absl::StatusCode::kResourceExhausted, "TOO_LARGE",
                            absl::StrCat("TOO_LARGE: the delivery is ", bytes, " bytes; the push channel to '",
                                         recipient.id, "' carries at most ", limit)));
      return;
    }
    struct Call {
      grpc::ClientContext context;
      v1::Delivery request;
      v1::DeliverResponse response;
      std::function<void(absl::Status)> done;
    };
    auto* call = new Call;
    call->request = delivery;
    call->done = std::move(done);
    call->context.set_deadline(std::chrono::system_clock::now() + timeout);
    it->second->async()->Deliver(&call->context, &call->request, &call->response, [call](grpc::Status s) {
      absl::Status status;
      if (!s.ok()) {
        const std::string message = absl::StrCat("PartnerEndpoint.Deliver: ", s.error_message());
        const auto code = static_cast<absl::StatusCode>(s.error_code());
        std::optional<std::string> permanent = PermanentRefusalReason(s);
        status = permanent.has_value() ? PermanentFailure(code, *permanent, message) : absl::Status(code, message);
      } else if (call->response.delivery_id() != call->request.delivery_id()) {
        status = absl::DataLossError("endpoint confirmed a different delivery id");
      }
      call->done(status);
      delete call;
    });
  }

  std::map<std::string, std::unique_ptr<v1::PartnerEndpoint::Stub>> stubs_;
  std::map<std::string, size_t> send_limits_;  // Per party: a Delivery carrying its largest envelope.
};

}  // namespace

absl::StatusOr<std::unique_ptr<DeliveryTransport>> NewGrpcPushTransport(
    const Config& config, std::function<void(const mtls::HandshakeRefusal&)> on_refused) {
  auto transport = std::make_unique<GrpcPushTransport>();
  std::shared_ptr<mtls::ReloadingTrustStore> trust;
  for (const Party& party : config.parties) {
    if (party.delivery.mode != DeliveryMode::kPush) continue;
    mtls::ClientTlsOptions options;
    options.files = {config.tls.client_cert, config.tls.client_key, config.tls.ca_bundle, config.tls.crl_dir,
                     config.tls.reload_interval_seconds};
    options.expected_server_identity = party.delivery.server_identity;
    options.on_refused = on_refused;
    if (!trust) {
      auto t = mtls::ReloadingTrustStore::Create(config.tls.ca_bundle, config.tls.crl_dir,
                                                 std::chrono::seconds(config.tls.reload_interval_seconds));
      if (!t.ok()) return t.status();
      trust = *t;
    }
    options.trust = trust;
    auto creds = mtls::MakeChannelCredentials(options);
    if (!creds.ok()) return creds.status();
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    // Fits a Delivery carrying the largest envelope the party accepts
    // (docs/delivery.md, "Sizes"); the endpoint's receive limit must too.
    const size_t send_limit = v1::DeliveryBytes(config.MaxEnvelopeBytesFor(party));
    args.SetMaxSendMessageSize(static_cast<int>(send_limit));
    auto channel = grpc::CreateCustomChannel(party.delivery.address, *creds, args);
    transport->stubs_[party.id] = v1::PartnerEndpoint::NewStub(channel);
    transport->send_limits_[party.id] = send_limit;
  }
  return std::unique_ptr<DeliveryTransport>(std::move(transport));
}

}  // namespace portcullis
