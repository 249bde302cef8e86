// Who may send what to whom: the configured routes and the recipients'
// clearances. Stateless over an immutable Config; thread-safe.
//
// Refusals: INVALID_ARGUMENT UNKNOWN_RECIPIENT; PERMISSION_DENIED
// RECIPIENT_NOT_CLEARED, ROUTE_NOT_PERMITTED, CLASSIFICATION_ABOVE_ROUTE;
// INVALID_ARGUMENT MESSAGE_TOO_LARGE (the envelope, as the gateway stores it,
// is larger than the recipient's delivery.max_message_bytes: what is accepted
// must be deliverable); each names the recipient's field (envelope.recipients[i]).
#ifndef PORTCULLIS_GATEWAY_POLICY_ROUTE_POLICY_H_
#define PORTCULLIS_GATEWAY_POLICY_ROUTE_POLICY_H_

#include <cstddef>

#include "absl/status/status.h"
#include "gateway/config/config.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis {

// `envelope` has passed ValidateEnvelope (body set, classification valid).
absl::Status CheckRoutes(const Config& config, const Party& sender, const v1::Envelope& envelope);

// The size of `envelope` once the gateway has completed it for storing:
// v1::StoredEnvelopeBytes (portcullis/v1/message_limits.h) with the sender's id.
size_t StoredEnvelopeBytes(const v1::Envelope& envelope, const Party& sender);

// Classification order: OFFICIAL < OFFICIAL_SENSITIVE < SECRET < TOP_SECRET.
bool ClearedFor(v1::Classification clearance, v1::Classification marking);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_POLICY_ROUTE_POLICY_H_
