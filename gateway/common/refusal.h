// Refusals: an absl::Status carrying a machine-readable reason and the field
// it concerns, converted to a grpc::Status in exactly one place (ToGrpcStatus)
// at the service edge. The v1::Refusal message travels in the gRPC status
// details (grpc-status-details-bin) so clients can act on `reason`.
#ifndef PORTCULLIS_GATEWAY_COMMON_REFUSAL_H_
#define PORTCULLIS_GATEWAY_COMMON_REFUSAL_H_

#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "portcullis/v1/exchange.pb.h"
#include "util/status_macros.h"  // PORTCULLIS_RETURN_IF_ERROR, for the users of Refuse.

namespace portcullis {

// A refusal with a stable reason code (e.g. "FIELD_REQUIRED") and field path
// (e.g. "envelope.case_reference"; may be empty).
absl::Status Refuse(absl::StatusCode code, absl::string_view reason, absl::string_view field,
                    absl::string_view message);

// The refusal carried by `status`; for a plain status, reason is derived from
// the code ("INTERNAL", ...) and field is empty.
v1::Refusal RefusalOf(const absl::Status& status);

// The refusal made by Refuse that `status` carries, if any.
std::optional<v1::Refusal> ChosenRefusal(const absl::Status& status);

// What a caller (and the call's audit record) may see of `status`: the
// gateway's own refusal, or for any other failure the generic reason for its
// code (INTERNAL_ERROR, TEMPORARILY_UNAVAILABLE, REQUEST_FAILED) and generic
// words; never the failure's own text.
v1::Refusal PublicRefusal(const absl::Status& status);

// The only conversion to gRPC, an allow-list: a refusal the gateway chose
// (made by Refuse) leaves with its reason, field and words; any other failure
// (a store's SQL error, a file path, OpenSSL's text) leaves as a generic
// refusal for its code (docs/reasons.md: INTERNAL_ERROR, TEMPORARILY_UNAVAILABLE,
// REQUEST_FAILED) carrying an incident id, while its full text goes to the
// gateway's log (stderr) under that id. `request_id`, when given, is the
// incident id (the call's id, also in its audit record); otherwise one is made.
grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view request_id = "");

// A new random call / incident id: 16 lower-case hex digits.
std::string NewRequestId();


}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_COMMON_REFUSAL_H_
