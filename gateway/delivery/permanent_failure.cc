#include "gateway/delivery/permanent_failure.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "portcullis/v1/refusal_status.h"

namespace portcullis {
namespace {

constexpr char kPayloadUrl[] = "type.portcullis.gov.uk/portcullis.delivery.PermanentFailure";

// gRPC's own answer when a message exceeds the receiver's limit
// (grpc 1.51 src/core/ext/filters/message_size: "Received message larger
// than max (N vs. M)").
constexpr char kGrpcReceiveLimit[] = "Received message larger than max";

bool Listed(const std::string& reason) {
  for (const char* listed : kPermanentRefusalReasons) {
    if (reason == listed) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> PermanentRefusalReason(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::UNIMPLEMENTED:
      break;
    default:
      return std::nullopt;  // Transient, whatever the reason says.
  }
  std::optional<v1::Refusal> refusal = v1::RefusalInStatus(status);
  if (!refusal.has_value()) {
    // An endpoint's gRPC receive limit: the delivery is larger than it will
    // ever take (a Portcullis endpoint's limit always fits what the gateway
    // sends; another's may not).
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
        absl::StartsWith(status.error_message(), kGrpcReceiveLimit)) {
      return std::string("TOO_LARGE");
    }
    return std::nullopt;
  }
  if (!Listed(refusal->reason())) return std::nullopt;
  return refusal->reason();
}

std::string PublicFailureText(const grpc::Status& status) {
  if (std::optional<v1::Refusal> refusal = v1::RefusalInStatus(status)) {
    // The endpoint's own words (its Refusal), which it chose to send.
    const std::string& message = refusal->message();
    if (absl::StartsWith(message, absl::StrCat(refusal->reason(), ":"))) return message;
    return v1::RefusalText(refusal->reason(), refusal->field(), message);
  }
  const std::string code = absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return absl::StrCat("the endpoint could not be reached (", code, ")");
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StrCat("the endpoint did not answer in time (", code, ")");
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::StrCat("the endpoint refused the gateway's identity (", code, ")");
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      if (absl::StartsWith(status.error_message(), kGrpcReceiveLimit)) {
        return absl::StrCat("TOO_LARGE: the endpoint's receive limit refused a delivery of this size (", code, ")");
      }
      return absl::StrCat("the endpoint is out of resources (", code, ")");
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::StrCat("the endpoint does not offer PartnerEndpoint.Deliver (", code, ")");
    case grpc::StatusCode::CANCELLED:
      return absl::StrCat("the delivery was cancelled (", code, ")");
    default:
      return absl::StrCat("the endpoint failed the delivery (", code, ")");
  }
}

absl::Status TooLarge(const std::string& thing, size_t bytes, size_t limit, const std::string& what) {
  return PermanentFailure(absl::StatusCode::kResourceExhausted, "TOO_LARGE",
                          absl::StrCat("TOO_LARGE: the ", thing, " is ", bytes, " bytes; ", what, " at most ", limit));
}

absl::Status PermanentFailure(absl::StatusCode code, const std::string& reason, const std::string& message) {
  absl::Status status(code, message);
  status.SetPayload(kPayloadUrl, absl::Cord(reason));
  return status;
}

std::optional<std::string> PermanentReasonOf(const absl::Status& status) {
  if (status.ok()) return std::nullopt;
  auto reason = status.GetPayload(kPayloadUrl);  // absl::optional<absl::Cord>.
  if (!reason.has_value()) return std::nullopt;
  return std::string(*reason);
}

}  // namespace portcullis
