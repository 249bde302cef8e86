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
//   max_message_bytes, checked before sending: TOO_LARGE).
// UNAUTHENTICATED, PERMISSION_DENIED, UNAVAILABLE, DEADLINE_EXCEEDED (and any
// reason not listed) stay transient whatever the reason: a misconfigured
// endpoint must not dead-letter its whole queue.
#ifndef PORTCULLIS_GATEWAY_DELIVERY_PERMANENT_FAILURE_H_
#define PORTCULLIS_GATEWAY_DELIVERY_PERMANENT_FAILURE_H_

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

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_DELIVERY_PERMANENT_FAILURE_H_
