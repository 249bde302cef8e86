// The wire form of a refusal, as the contract defines it: a grpc::Status with
// a precise code, a one-line message "REASON: field: words", and a
// portcullis.v1.Refusal serialized into the status details
// (grpc-status-details-bin). Shared by the gateway, the adapters and clients,
// so the form is written and read in exactly one place.
#ifndef PORTCULLIS_PROTOS_PORTCULLIS_V1_REFUSAL_STATUS_H_
#define PORTCULLIS_PROTOS_PORTCULLIS_V1_REFUSAL_STATUS_H_

#include <optional>
#include <string>

#include <grpcpp/support/status.h>

#include "absl/strings/string_view.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis::v1 {

// "REASON: field: message", or "REASON: message" without a field.
std::string RefusalText(absl::string_view reason, absl::string_view field, absl::string_view message);

// A refusal status carrying `reason`, `field` (may be empty) and `message`.
grpc::Status RefusalStatus(grpc::StatusCode code, absl::string_view reason, absl::string_view field,
                           absl::string_view message);

// The Refusal in a status's details, if they hold one with a reason.
std::optional<Refusal> RefusalInStatus(const grpc::Status& status);

}  // namespace portcullis::v1

#endif  // PORTCULLIS_PROTOS_PORTCULLIS_V1_REFUSAL_STATUS_H_
