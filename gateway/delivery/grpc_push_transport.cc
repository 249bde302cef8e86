#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gateway/common/log.h"
#include "gateway/delivery/permanent_failure.h"
#include "gateway/delivery/transport.h"
#include "mtls/credentials.h"
#include "portcullis/v1/exchange.grpc.pb.h"
#include "portcullis/v1/message_limits.h"

namespace portcullis {
namespace {

using Stub = v1::PartnerEndpoint::Stub;

class GrpcPushTransport final : public DeliveryTransport {
 public:
  GrpcPushTransport(const Config& config, std::function<void(const mtls::HandshakeRefusal&)> on_refused)
      : config_(config), on_refused_(std::move(on_refused)) {
    for (const Party& party : config_.parties) {
      // Fits a Delivery carrying the largest envelope the party accepts
      // (docs/delivery.md, "Sizes"); the endpoint's receive limit must too.
      if (party.delivery.mode == DeliveryMode::kPush) {
        send_limits_[party.id] = v1::DeliveryBytes(config_.MaxEnvelopeBytesFor(party));
      }
    }
  }

  ~GrpcPushTransport() override {
    if (trust_) trust_->Unsubscribe(listener_);
  }

  // One channel per push-mode party, with new credentials and its own
  // subchannels (so no connection made under the previous trust store is
  // reused). Replaces the channels in use; calls in flight keep theirs.
  absl::Status Build() {
    std::map<std::string, std::shared_ptr<Stub>> stubs;
    for (const Party& party : config_.parties) {
      if (party.delivery.mode != DeliveryMode::kPush) continue;
      mtls::ClientTlsOptions options;
      options.files = {config_.tls.client_cert, config_.tls.client_key, config_.tls.ca_bundle, config_.tls.crl_dir,
                       config_.tls.reload_interval_seconds};
      options.expected_server_identity = party.delivery.server_identity;
      options.on_refused = on_refused_;
      if (!trust_) {
        auto t = mtls::SharedTrustStore(options.files);
        if (!t.ok()) return t.status();
        trust_ = *t;
      }
      options.trust = trust_;
      auto creds = mtls::MakeChannelCredentials(options);
      if (!creds.ok()) return creds.status();
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetMaxSendMessageSize(static_cast<int>(send_limits_.at(party.id)));
      auto channel = grpc::CreateCustomChannel(party.delivery.address, *creds, args);
      stubs[party.id] = std::shared_ptr<Stub>(v1::PartnerEndpoint::NewStub(channel));
    }
    std::lock_guard<std::mutex> lock(mu_);
    // Old channels are closed here, on the caller's thread, once no call
    // uses them (never from inside a gRPC callback).
    std::vector<std::shared_ptr<Stub>> keep;
    for (auto& s : retired_) {
      if (s.use_count() > 1) keep.push_back(std::move(s));
    }
    retired_ = std::move(keep);
    for (auto& [id, s] : stubs_) {
      if (s.use_count() > 1) retired_.push_back(std::move(s));
    }
    stubs_ = std::move(stubs);
    return absl::OkStatus();
  }

  // The gateway's trust store changed (a partner's certificate may have been
  // revoked): connections verified under the old one are not used again.
  void Watch() {
    if (!trust_) return;
    listener_ = trust_->Subscribe([this](uint64_t) {
      if (absl::Status s = Build(); !s.ok()) {
        LogLine("push channels not rebuilt after a trust store change: %s\n",
                     std::string(s.message()).c_str());
      }
    });
  }

  void Push(const Party& recipient, const v1::Delivery& delivery, std::chrono::milliseconds timeout,
            std::function<void(absl::Status)> done) override {
    std::shared_ptr<Stub> stub;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = stubs_.find(recipient.id);
      if (it != stubs_.end()) stub = it->second;
    }
    if (stub == nullptr) {
      done(absl::FailedPreconditionError(absl::StrCat("party '", recipient.id, "' has no push endpoint")));
      return;
    }
    // What the channel's send limit would refuse is refused here, never sent
    // (the dispatcher checks the envelope against the party's limit first).
    const size_t bytes = delivery.ByteSizeLong();
    const size_t limit = send_limits_.at(recipient.id);
    if (bytes > limit) {
      done(TooLarge("delivery", bytes, limit, absl::StrCat("the push channel to '", recipient.id, "' carries")));
      return;
    }
    struct Call {
      std::shared_ptr<Stub> stub;  // Its channel lives as long as the call.
      grpc::ClientContext context;
      v1::Delivery request;
      v1::DeliverResponse response;
      std::function<void(absl::Status)> done;
    };
    auto* call = new Call;
    call->stub = stub;
    call->request = delivery;
    call->done = std::move(done);
    call->context.set_deadline(std::chrono::system_clock::now() + timeout);
    stub->async()->Deliver(&call->context, &call->request, &call->response, [call, party = recipient.id](grpc::Status s) {
      absl::Status status;
      if (!s.ok()) {
        // The full answer (gRPC core and TLS text: addresses, handshake
        // errors) is for the gateway's log only, escaped (an endpoint chooses
        // its words); the row, Track, dead letters and the audit record get
        // the public words (docs/delivery.md).
        LogLine("push of delivery %s to '%s' failed: %s: %s\n",
                     call->request.delivery_id().c_str(), party.c_str(),
                     absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code())).c_str(),
                     absl::CEscape(s.error_message()).c_str());
        const std::string message = PublicFailureText(s);
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

 private:
  const Config& config_;
  const std::function<void(const mtls::HandshakeRefusal&)> on_refused_;
  std::shared_ptr<mtls::ReloadingTrustStore> trust_;
  uint64_t listener_ = 0;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Stub>> stubs_;
  std::vector<std::shared_ptr<Stub>> retired_;  // Replaced, still used by a call in flight.
  std::map<std::string, size_t> send_limits_;  // Per party: a Delivery carrying its largest envelope. Set once.
};

}  // namespace

absl::StatusOr<std::unique_ptr<DeliveryTransport>> NewGrpcPushTransport(
    const Config& config, std::function<void(const mtls::HandshakeRefusal&)> on_refused) {
  auto transport = std::make_unique<GrpcPushTransport>(config, std::move(on_refused));
  if (absl::Status s = transport->Build(); !s.ok()) return s;
  transport->Watch();
  return std::unique_ptr<DeliveryTransport>(std::move(transport));
}

}  // namespace portcullis
