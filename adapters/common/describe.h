// Refusals carried by a grpc::Status, as the exchange contract defines them:
// a portcullis.v1.Refusal serialized into the status details
// (grpc-status-details-bin).
//
// DescribeStatus turns any status into one line for people, e.g.
//   PERMISSION_DENIED (ROUTE_NOT_PERMITTED) envelope.recipients[0]: no route lets ...
// and RefusalStatus builds such a status (used by the partner endpoint, so
// the gateway sees the same shape of refusal it gives its own callers).
// Pure functions; thread-safe.
#ifndef PORTCULLIS_ADAPTERS_COMMON_DESCRIBE_H_
#define PORTCULLIS_ADAPTERS_COMMON_DESCRIBE_H_

#include <optional>
#include <string>

#include <grpcpp/support/status.h>

#include "portcullis/v1/exchange.pb.h"

namespace portcullis::adapters {

// The code as a word ("OK", "PERMISSION_DENIED", ...; "CODE_<n>" if unknown).
std::string StatusCodeName(grpc::StatusCode code);

// The Refusal in the status details, if the details hold one with a reason.
std::optional<v1::Refusal> RefusalOf(const grpc::Status& status);

// "CODE (REASON) field: message" when the status carries a Refusal
// ("CODE (REASON): message" without a field); otherwise "CODE: message",
// or just "CODE" when there is no message. "OK" for an OK status.
std::string DescribeStatus(const grpc::Status& status);

// The envelope's body in words: "case referral", "intelligence report",
// "request for information", "response", or "no body".
std::string BodyTypeName(const v1::Envelope& envelope);

// A non-OK status whose message is "REASON: field: message" and whose
// details carry the Refusal. `field` may be empty.
grpc::Status RefusalStatus(grpc::StatusCode code, const std::string& reason, const std::string& field,
                           const std::string& message);

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_DESCRIBE_H_
