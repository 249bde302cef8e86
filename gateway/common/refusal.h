// Refusals: an absl::Status carrying a machine-readable reason and the field
// it concerns, converted to a grpc::Status in exactly one place (ToGrpcStatus)
// at the service edge. The v1::Refusal message travels in the gRPC status
// details (grpc-status-details-bin) so clients can act on `reason`.
#ifndef PORTCULLIS_GATEWAY_COMMON_REFUSAL_H_
#define PORTCULLIS_GATEWAY_COMMON_REFUSAL_H_

#include <string>
#include "absl/strings/string_view.h"

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis {

// A refusal with a stable reason code (e.g. "FIELD_REQUIRED") and field path
// (e.g. "envelope.case_reference"; may be empty).
absl::Status Refuse(absl::StatusCode code, absl::string_view reason, absl::string_view field,
                    absl::string_view message);

// The refusal carried by `status`; for a plain status, reason is derived from
// the code ("INTERNAL", ...) and field is empty.
v1::Refusal RefusalOf(const absl::Status& status);

// The only conversion to gRPC. INTERNAL/UNKNOWN details are not leaked to
// callers: their message becomes a generic one.
grpc::Status ToGrpcStatus(const absl::Status& status);

#define PORTCULLIS_RETURN_IF_ERROR(expr)             \
  do {                                               \
    ::absl::Status portcullis_status_ = (expr);      \
    if (!portcullis_status_.ok()) return portcullis_status_; \
  } while (0)

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_COMMON_REFUSAL_H_
