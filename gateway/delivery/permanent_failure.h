// Which delivery failures can never succeed (docs/delivery.md, "Deliveries
// that can never succeed"). Such a delivery becomes a dead letter (FAILED with
// its reason) at once and never holds up the deliveries behind it; every
// other failure is transient and retried.
//
// The contract:
// - an endpoint's refusal whose Refusal reason is one of
//   kPermanentRefusalReasons, with a code that says the request itself is at
//   fault (INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE,
//   RESOURCE_EXHAUSTED, UNIMPLEMENTED);
// - a delivery larger than the transport may carry to the party (its
//   max_message_bytes, checked before sending: TOO_LARGE);
// - an endpoint's own gRPC receive limit: RESOURCE_EXHAUSTED whose message
//   starts "Received message larger than max" (gRPC's wording, sent by an
//   endpoint that is not Portcullis and carries no Refusal): TOO_LARGE.
// UNAUTHENTICATED, PERMISSION_DENIED, UNAVAILABLE, DEADLINE_EXCEEDED (and any
// reason not listed) stay transient whatever the reason: a misconfigured
// endpoint must not dead-letter its whole queue.
#ifndef PORTCULLIS_GATEWAY_DELIVERY_PERMANENT_FAILURE_H_
#define PORTCULLIS_GATEWAY_DELIVERY_PERMANENT_FAILURE_H_

#include <cstddef>
#include <optional>
#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace portcullis {

// UNRENDERABLE: the endpoint can never render the delivery into its system.
// TOO_LARGE: larger than the endpoint (or the transport) can ever take.
// INVALID_DELIVERY: the endpoint can never store it as it is.
inline constexpr const char* kPermanentRefusalReasons[] = {"UNRENDERABLE", "TOO_LARGE", "INVALID_DELIVERY"};

// The listed reason if `status` (an endpoint's answer to
// PartnerEndpoint.Deliver) says the delivery can never succeed; nullopt if it
// is transient. The one place that reads a refusal's details for this.
std::optional<std::string> PermanentRefusalReason(const grpc::Status& status);

// A failure that can never succeed, with its listed reason (carried as a
// payload of the absl::Status); `message` is what Track and the dead letter show.
absl::Status PermanentFailure(absl::StatusCode code, const std::string& reason, const std::string& message);
// The reason of a PermanentFailure; nullopt for any other status.
std::optional<std::string> PermanentReasonOf(const absl::Status& status);

// The PermanentFailure of a delivery of `bytes` that `what` (e.g. "'eu/europol'
// accepts", "a Receive stream carries") takes at most `limit` of:
// RESOURCE_EXHAUSTED TOO_LARGE "TOO_LARGE: the <thing> is N bytes; <what> at most M".
absl::Status TooLarge(const std::string& thing, size_t bytes, size_t limit, const std::string& what);

// What a party may read of an endpoint's failed answer (the recipient row's
// reason, shown by Track, ListCase, dead letters, and the deliver audit
// record): the endpoint's own refusal "REASON: words" when it sent one, else
// a fixed phrase for the code, e.g. "the endpoint could not be reached
// (UNAVAILABLE)". Never gRPC core or TLS library text (addresses, handshake
// errors): that goes to the gateway's log only.
std::string PublicFailureText(const grpc::Status& status);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_DELIVERY_PERMANENT_FAILURE_H_
