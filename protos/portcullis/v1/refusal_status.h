// The wire form of a refusal, as the contract defines it (docs/reasons.md):
// a grpc::Status with a precise code, a one-line message
// "REASON: field: words", and in its details (grpc-status-details-bin) a
// google.rpc.Status whose `details` carry, in this order:
//   - google.rpc.ErrorInfo: reason, domain "portcullis.v1", metadata
//     ("field" = the field path when there is one, "incident_id" for a
//     generic refusal, plus any the refusal adds);
//   - google.rpc.BadRequest with one field violation, for INVALID_ARGUMENT
//     refusals that name a field;
//   - portcullis.v1.Refusal (reason, field, message).
// Shared by the gateway, the adapters and every client, so the form is written
// and read in exactly one place.
#ifndef PORTCULLIS_PROTOS_PORTCULLIS_V1_REFUSAL_STATUS_H_
#define PORTCULLIS_PROTOS_PORTCULLIS_V1_REFUSAL_STATUS_H_

#include <map>
#include <optional>
#include <string>

#include <grpcpp/support/status.h>

#include "absl/strings/string_view.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis::v1 {

// ErrorInfo.domain of every refusal the project writes.
inline constexpr char kErrorDomain[] = "portcullis.v1";

// "REASON: field: message", or "REASON: message" without a field.
std::string RefusalText(absl::string_view reason, absl::string_view field, absl::string_view message);

// A refusal status carrying `reason`, `field` (may be empty), `message` and
// extra ErrorInfo metadata.
grpc::Status RefusalStatus(grpc::StatusCode code, absl::string_view reason, absl::string_view field,
                           absl::string_view message, const std::map<std::string, std::string>& metadata = {});

// The Refusal in a status's details, if they hold one with a reason: the
// portcullis.v1.Refusal detail, else one made from the ErrorInfo of domain
// portcullis.v1 (and the status message). Also reads the form of contract
// versions before google.rpc.Status (a bare Refusal).
std::optional<Refusal> RefusalInStatus(const grpc::Status& status);

// One ErrorInfo metadata value of a refusal (e.g. "incident_id"), if present.
std::optional<std::string> RefusalMetadata(const grpc::Status& status, absl::string_view key);

}  // namespace portcullis::v1

#endif  // PORTCULLIS_PROTOS_PORTCULLIS_V1_REFUSAL_STATUS_H_
