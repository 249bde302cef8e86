// A partner's push endpoint: implements portcullis.v1.PartnerEndpoint, the
// service the gateway calls to hand over deliveries.
//
// Only the gateway may call it: the listener requires a client certificate
// that verifies (full chain, CRLs) and carries exactly `gateway_identity` as
// its URI SAN; any other certificate is refused at the handshake.
//
// Deliver stores the delivery in the Inbox (durably) before it answers OK, so
// OK means "the endpoint holds it". A delivery id seen before is answered OK
// with duplicate=true and not stored again. Malformed requests get
// INVALID_ARGUMENT; a failure to store gets UNAVAILABLE (the gateway retries);
// a delivery that can never be rendered (the `complete` hook returns
// UnrenderableError) gets FAILED_PRECONDITION UNRENDERABLE, one of the
// reasons that make the gateway dead-letter it at once instead of retrying
// (docs/delivery.md, "Deliveries that can never succeed"); all carry a
// portcullis.v1.Refusal in the status details.
//
// Sizes: the endpoint receives a Delivery carrying the largest envelope a
// gateway with the default limits accepts (v1::DeliveryBytes of
// v1::MaxEnvelopeBytes(kMaxMessageBytes)); a gateway configured for more must
// set the party's delivery.max_message_bytes to at most that.
//
// With a gateway address and auto_accept, every newly stored delivery is then
// acknowledged (ACCEPT, as `officer`) by a background worker (Acknowledger):
// the handler never waits on the gateway. Duplicates are not acknowledged again.
//
// Thread-safe. Hooks are called on gRPC or worker threads, concurrently, and
// must be thread-safe and quick.
#ifndef PORTCULLIS_ADAPTERS_COMMON_PARTNER_ENDPOINT_H_
#define PORTCULLIS_ADAPTERS_COMMON_PARTNER_ENDPOINT_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/security/credentials.h>
#include <grpcpp/server.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapters/common/acknowledger.h"
#include "adapters/common/gateway_client.h"
#include "adapters/common/inbox.h"
#include "adapters/common/party_tls.h"
#include "mtls/peer_verifier.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis::adapters {

class DeliverService;

// What a fault hook makes Deliver do with one well-formed delivery from the
// gateway (tests and failure drills). The default is no fault.
struct DeliverFault {
  // Slept first, on the handler's thread (e.g. past the gateway's per-attempt
  // deadline: the gateway gives up and retries, the delivery is still stored).
  std::chrono::milliseconds delay{0};
  // Non-OK: returned to the gateway and nothing is stored.
  absl::Status before_store;
  // The Refusal reason the injected status carries.
  std::string reason = "INJECTED_FAULT";
  // Non-OK: the delivery is stored (and counted, reported and acknowledged
  // as usual), then this is returned instead of OK, as if the answer were
  // lost. The gateway's retry is then answered as a duplicate.
  absl::Status after_store;
};

struct PartnerEndpointOptions {
  std::string listen_address = "127.0.0.1:0";
  PartyTls tls;  // The partner's own cert (also used as its server cert).
  std::string gateway_identity = kGatewayIdentity;  // Only this client identity may call Deliver.
  std::string inbox_dir;                            // Required unless `inbox` is given.
  std::shared_ptr<Inbox> inbox;                     // An inbox already open (e.g. a NativeInbox's deliveries).
  std::string gateway_address;  // Where to send acknowledgements; empty = never acknowledge.
  std::string officer = "";     // Officer id used on acknowledgements (required if gateway_address set).
  // Carried by every acknowledgement (the officer's assertion); nullptr: none.
  std::shared_ptr<grpc::CallCredentials> acknowledge_credentials;
  bool auto_accept = true;      // Acknowledge ACCEPT after storing.
  AcknowledgerOptions acknowledger;

  // Optional hooks.
  std::function<void(const v1::Delivery&)> on_stored;  // A delivery was newly stored.
  // Finishes a delivery the inbox holds (new: true; a duplicate: false), on
  // the handler's thread, before the gateway hears OK (e.g. rendering into a
  // native inbox). UnrenderableError (native_inbox.h) makes the answer
  // FAILED_PRECONDITION UNRENDERABLE: the gateway dead-letters it. Any other
  // error makes it UNAVAILABLE INBOX_UNAVAILABLE, so the gateway retries and
  // the duplicate comes back here.
  std::function<absl::Status(const v1::Delivery&, bool is_new)> complete;
  // The final outcome of one acknowledgement (OK: the gateway confirmed it).
  std::function<void(const v1::AcknowledgeRequest&, const grpc::Status&)> on_acknowledged;
  std::function<void(const mtls::HandshakeRefusal&)> on_refused;  // A refused inbound handshake.
  std::function<void(const absl::Status&)> on_error;  // Errors the caller does not see (e.g. inbox failures).
  // Fault injection: called once per well-formed Deliver call (after the
  // peer and fields are checked, before storing). Unlike the other hooks it
  // may block (DeliverFault::delay).
  std::function<DeliverFault(const v1::Delivery&)> fault;
};

class PartnerEndpoint {
 public:
  // Validates the options, opens the inbox, and starts listening. Errors name
  // the bad option, file or address.
  static absl::StatusOr<std::unique_ptr<PartnerEndpoint>> Start(PartnerEndpointOptions options);
  ~PartnerEndpoint();
  PartnerEndpoint(const PartnerEndpoint&) = delete;
  PartnerEndpoint& operator=(const PartnerEndpoint&) = delete;

  int port() const { return port_; }

  // Stops listening (calls in progress get up to 5 s to finish), then gives
  // queued acknowledgements up to 2 s before abandoning them. Idempotent;
  // also called by the destructor.
  void Shutdown();

  int stored_count() const { return stored_count_.load(); }        // Deliveries newly stored.
  int acknowledged_count() const { return acknowledged_count_.load(); }  // Acknowledgements the gateway confirmed OK.
  int duplicate_count() const { return duplicate_count_.load(); }  // Deliveries answered as duplicates (not stored again).
  int unrenderable_count() const { return unrenderable_count_.load(); }  // Answers UNRENDERABLE.

 private:
  friend class DeliverService;  // The gRPC service; calls Deliver.
  explicit PartnerEndpoint(PartnerEndpointOptions options) : options_(std::move(options)) {}
  grpc::Status Deliver(const grpc::ServerContextBase& context, const v1::Delivery& delivery,
                       v1::DeliverResponse* response);
  void ReportError(const absl::Status& status) const;

  const PartnerEndpointOptions options_;
  std::shared_ptr<Inbox> inbox_;
  std::unique_ptr<Acknowledger> acknowledger_;  // Null when not acknowledging.
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;  // Declared last: destroyed first.
  int port_ = 0;
  std::atomic<int> stored_count_{0};
  std::atomic<int> acknowledged_count_{0};
  std::atomic<int> duplicate_count_{0};
  std::atomic<int> unrenderable_count_{0};
  std::once_flag shutdown_once_;
};

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_PARTNER_ENDPOINT_H_
