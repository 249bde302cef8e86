#include "gateway/delivery/permanent_failure.h"

#include "absl/strings/cord.h"
#include "portcullis/v1/refusal_status.h"

namespace portcullis {
namespace {

constexpr char kPayloadUrl[] = "type.portcullis.gov.uk/portcullis.delivery.PermanentFailure";

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
  if (!refusal.has_value() || !Listed(refusal->reason())) return std::nullopt;
  return refusal->reason();
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
