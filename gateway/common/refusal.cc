#include "gateway/common/refusal.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "portcullis/v1/refusal_status.h"

namespace portcullis {
namespace {
constexpr char kPayloadUrl[] = "type.googleapis.com/portcullis.v1.Refusal";

grpc::StatusCode ToGrpcCode(absl::StatusCode code) {
  // absl and gRPC share the canonical code numbering.
  return static_cast<grpc::StatusCode>(static_cast<int>(code));
}
}  // namespace

absl::Status Refuse(absl::StatusCode code, absl::string_view reason, absl::string_view field,
                    absl::string_view message) {
  absl::Status status(code, v1::RefusalText(reason, field, message));
  v1::Refusal refusal;
  refusal.set_reason(std::string(reason));
  refusal.set_field(std::string(field));
  refusal.set_message(std::string(message));
  status.SetPayload(kPayloadUrl, absl::Cord(refusal.SerializeAsString()));
  return status;
}

v1::Refusal RefusalOf(const absl::Status& status) {
  v1::Refusal refusal;
  if (auto payload = status.GetPayload(kPayloadUrl); payload.has_value()) {
    refusal.ParseFromString(std::string(*payload));
    return refusal;
  }
  refusal.set_reason(absl::StatusCodeToString(status.code()));
  refusal.set_message(std::string(status.message()));
  return refusal;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  v1::Refusal refusal = RefusalOf(status);
  std::string message(status.message());
  if (status.code() == absl::StatusCode::kInternal || status.code() == absl::StatusCode::kUnknown) {
    refusal.set_reason("INTERNAL");
    refusal.set_message("internal error; the operator has the details in the gateway log");
    message = "INTERNAL: internal error";
  }
  return grpc::Status(ToGrpcCode(status.code()), message, refusal.SerializeAsString());
}

}  // namespace portcullis
