// The delivery transport seam: how a Delivery reaches a push-mode party.
// The default is GrpcPushTransport (PartnerEndpoint.Deliver over mTLS).
#ifndef PORTCULLIS_GATEWAY_DELIVERY_TRANSPORT_H_
#define PORTCULLIS_GATEWAY_DELIVERY_TRANSPORT_H_

#include <chrono>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/config/config.h"
#include "mtls/peer_verifier.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis {

class DeliveryTransport {
 public:
  virtual ~DeliveryTransport() = default;
  // Starts one attempt. `done` is called exactly once, from any thread, with
  // OK when the endpoint confirmed it stored the delivery.
  virtual void Push(const Party& recipient, const v1::Delivery& delivery, std::chrono::milliseconds timeout,
                    std::function<void(absl::Status)> done) = 0;
};

// One mTLS channel per push-mode party, created at startup (connections are
// made lazily). The gateway presents tls.client_cert and requires the
// partner's server certificate to carry exactly the configured identity.
absl::StatusOr<std::unique_ptr<DeliveryTransport>> NewGrpcPushTransport(
    const Config& config, std::function<void(const mtls::HandshakeRefusal&)> on_refused);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_DELIVERY_TRANSPORT_H_
