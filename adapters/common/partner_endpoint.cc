#include "adapters/common/partner_endpoint.h"

#include <grpc/grpc_security_constants.h>

#include <thread>

#include <grpcpp/resource_quota.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "adapters/common/describe.h"
#include "adapters/common/native_inbox.h"
#include "portcullis/v1/message_limits.h"
#include "portcullis/v1/refusal_status.h"
#include "mtls/credentials.h"
#include "portcullis/v1/exchange.grpc.pb.h"

namespace portcullis::adapters {

class DeliverService final : public v1::PartnerEndpoint::CallbackService {
 public:
  explicit DeliverService(PartnerEndpoint* endpoint) : endpoint_(endpoint) {}
  grpc::ServerUnaryReactor* Deliver(grpc::CallbackServerContext* context, const v1::Delivery* request,
                                    v1::DeliverResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    // Runs inline: the only blocking step is the inbox's write and fsync,
    // which must complete before the answer anyway.
    reactor->Finish(endpoint_->Deliver(*context, *request, response));
    return reactor;
  }

 private:
  PartnerEndpoint* const endpoint_;
};

namespace {

// Server limits: one delivery carries at most the largest envelope a gateway
// with the default limits accepts (docs/delivery.md, "Sizes").
constexpr int kMaxConcurrentStreams = 64;
constexpr int kHandshakeTimeoutMs = 10000;
constexpr int kMaxMetadataBytes = 16 * 1024;
constexpr int kMaxConnectionIdleMs = 5 * 60 * 1000;
constexpr size_t kResourceQuotaBytes = 256u * 1024 * 1024;

absl::Status CheckOptions(const PartnerEndpointOptions& o) {
  if (o.listen_address.empty()) return absl::InvalidArgumentError("listen address is empty (expected HOST:PORT)");
  if (o.inbox_dir.empty() && o.inbox == nullptr) return absl::InvalidArgumentError("inbox directory is required");
  if (o.gateway_identity.empty()) return absl::InvalidArgumentError("gateway identity is empty");
  if (!o.gateway_address.empty() && o.auto_accept && o.officer.empty()) {
    return absl::InvalidArgumentError("an officer id is required to acknowledge deliveries to the gateway");
  }
  return mtls::CheckReadable(ToTlsFiles(o.tls));
}

// Defence in depth: the handshake already required exactly this identity.
bool PeerIs(const grpc::ServerContextBase& context, const std::string& identity) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return false;
  std::vector<grpc::string_ref> uris = auth->FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME);
  return uris.size() == 1 && std::string(uris[0].data(), uris[0].size()) == identity;
}

grpc::Status InjectedFault(const absl::Status& status, const std::string& reason) {
  return v1::RefusalStatus(static_cast<grpc::StatusCode>(status.code()), reason, "", std::string(status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PartnerEndpoint>> PartnerEndpoint::Start(PartnerEndpointOptions options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  std::unique_ptr<PartnerEndpoint> e(new PartnerEndpoint(std::move(options)));
  const PartnerEndpointOptions& o = e->options_;

  if (o.inbox != nullptr) {
    e->inbox_ = o.inbox;
  } else {
    auto inbox = Inbox::Open(o.inbox_dir);
    if (!inbox.ok()) return inbox.status();
    e->inbox_ = std::move(*inbox);
  }

  if (!o.gateway_address.empty() && o.auto_accept) {
    auto channel = DialGateway(o.gateway_address, o.tls, o.gateway_identity, o.acknowledge_credentials);
    if (!channel.ok()) return channel.status();
    PartnerEndpoint* self = e.get();
    e->acknowledger_ = std::make_unique<Acknowledger>(
        v1::Exchange::NewStub(*channel), o.acknowledger,
        [self](const v1::AcknowledgeRequest& request, const grpc::Status& status) {
          if (status.ok()) self->acknowledged_count_.fetch_add(1);
          if (self->options_.on_acknowledged) self->options_.on_acknowledged(request, status);
        });
  }

  mtls::ServerTlsOptions tls;
  tls.files = ToTlsFiles(o.tls);
  const std::string gateway_identity = o.gateway_identity;
  tls.identity_check = [gateway_identity](const std::vector<std::string>& sans) {
    return mtls::RequireExactIdentity(sans, gateway_identity);
  };
  tls.on_refused = o.on_refused;
  auto creds = mtls::MakeServerCredentials(tls);
  if (!creds.ok()) return creds.status();

  e->service_ = std::make_unique<DeliverService>(e.get());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(o.listen_address, *creds, &e->port_);
  builder.RegisterService(e->service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(v1::DeliveryBytes(v1::MaxEnvelopeBytes(kMaxMessageBytes))));
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, kHandshakeTimeoutMs);
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, kMaxMetadataBytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, kMaxConnectionIdleMs);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  // gRPC sets SO_REUSEPORT by default, which lets a second process bind the
  // same port and silently take half the connections. A port in use must fail.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  grpc::ResourceQuota quota("portcullis-partner-endpoint");
  quota.Resize(kResourceQuotaBytes);
  builder.SetResourceQuota(quota);
  e->server_ = builder.BuildAndStart();
  if (!e->server_ || e->port_ == 0) {
    e->server_.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", o.listen_address));
  }
  return e;
}

PartnerEndpoint::~PartnerEndpoint() { Shutdown(); }

void PartnerEndpoint::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
      server_->Wait();
    }
    if (acknowledger_) acknowledger_->Shutdown(std::chrono::seconds(2));
  });
}

void PartnerEndpoint::ReportError(const absl::Status& status) const {
  if (options_.on_error) options_.on_error(status);
}

grpc::Status PartnerEndpoint::Deliver(const grpc::ServerContextBase& context, const v1::Delivery& delivery,
                                      v1::DeliverResponse* response) {
  if (!PeerIs(context, options_.gateway_identity)) {
    return v1::RefusalStatus(grpc::StatusCode::UNAUTHENTICATED, "PEER_NOT_GATEWAY", "",
                         "only the gateway may deliver to this endpoint");
  }
  if (delivery.delivery_id().empty()) {
    return v1::RefusalStatus(grpc::StatusCode::INVALID_ARGUMENT, "FIELD_REQUIRED", "delivery_id", "is required");
  }
  if (absl::Status s = Inbox::CheckDeliveryId(delivery.delivery_id()); !s.ok()) {
    return v1::RefusalStatus(grpc::StatusCode::INVALID_ARGUMENT, "FIELD_INVALID", "delivery_id", std::string(s.message()));
  }
  if (!delivery.has_envelope()) {
    return v1::RefusalStatus(grpc::StatusCode::INVALID_ARGUMENT, "FIELD_REQUIRED", "envelope", "is required");
  }
  // Sender and message id name the message in the acknowledgement.
  if (delivery.envelope().sender().empty()) {
    return v1::RefusalStatus(grpc::StatusCode::INVALID_ARGUMENT, "FIELD_REQUIRED", "envelope.sender", "is required");
  }
  if (delivery.envelope().message_id().empty()) {
    return v1::RefusalStatus(grpc::StatusCode::INVALID_ARGUMENT, "FIELD_REQUIRED", "envelope.message_id", "is required");
  }

  DeliverFault fault;
  if (options_.fault) fault = options_.fault(delivery);
  if (fault.delay > std::chrono::milliseconds(0)) std::this_thread::sleep_for(fault.delay);
  if (!fault.before_store.ok()) return InjectedFault(fault.before_store, fault.reason);

  absl::StatusOr<bool> stored = inbox_->Store(delivery);
  if (!stored.ok()) {
    ReportError(absl::Status(stored.status().code(),
                             absl::StrCat("delivery ", delivery.delivery_id(), ": ", stored.status().message())));
    return v1::RefusalStatus(grpc::StatusCode::UNAVAILABLE, "INBOX_UNAVAILABLE", "",
                         "the endpoint could not store the delivery; retry later");
  }
  if (options_.complete) {
    if (absl::Status done = options_.complete(delivery, *stored); !done.ok()) {
      ReportError(absl::Status(done.code(), absl::StrCat("delivery ", delivery.delivery_id(), ": ", done.message())));
      if (IsUnrenderable(done)) {
        // Never renderable: retrying cannot help. Kept in the inbox with its
        // reason; the gateway records a dead letter.
        unrenderable_count_.fetch_add(1);
        return v1::RefusalStatus(grpc::StatusCode::FAILED_PRECONDITION, "UNRENDERABLE", "envelope",
                                 "the endpoint's format cannot express this delivery");
      }
      return v1::RefusalStatus(grpc::StatusCode::UNAVAILABLE, "INBOX_UNAVAILABLE", "",
                               "the endpoint could not finish storing the delivery; retry later");
    }
  }
  response->set_delivery_id(delivery.delivery_id());
  response->set_duplicate(!*stored);
  if (!*stored) {
    duplicate_count_.fetch_add(1);
    return fault.after_store.ok() ? grpc::Status::OK : InjectedFault(fault.after_store, fault.reason);
  }

  stored_count_.fetch_add(1);
  if (options_.on_stored) options_.on_stored(delivery);
  if (acknowledger_) {
    v1::AcknowledgeRequest ack;
    ack.set_sender(delivery.envelope().sender());
    ack.set_message_id(delivery.envelope().message_id());
    ack.set_decision(v1::ACCEPT);
    ack.set_officer(options_.officer);
    if (!acknowledger_->Enqueue(ack)) {
      ReportError(absl::ResourceExhaustedError(
          absl::StrCat("acknowledgement of ", ack.message_id(), " not queued (queue full or shutting down)")));
    }
  }
  return fault.after_store.ok() ? grpc::Status::OK : InjectedFault(fault.after_store, fault.reason);
}

}  // namespace portcullis::adapters
