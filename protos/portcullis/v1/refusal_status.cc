#include "portcullis/v1/refusal_status.h"

#include "absl/strings/str_cat.h"

namespace portcullis::v1 {

std::string RefusalText(absl::string_view reason, absl::string_view field, absl::string_view message) {
  return field.empty() ? absl::StrCat(reason, ": ", message) : absl::StrCat(reason, ": ", field, ": ", message);
}

grpc::Status RefusalStatus(grpc::StatusCode code, absl::string_view reason, absl::string_view field,
                           absl::string_view message) {
  Refusal refusal;
  refusal.set_reason(std::string(reason));
  refusal.set_field(std::string(field));
  refusal.set_message(std::string(message));
  return grpc::Status(code, RefusalText(reason, field, message), refusal.SerializeAsString());
}

std::optional<Refusal> RefusalInStatus(const grpc::Status& status) {
  if (status.error_details().empty()) return std::nullopt;
  Refusal refusal;
  if (!refusal.ParseFromString(status.error_details()) || refusal.reason().empty()) return std::nullopt;
  return refusal;
}

}  // namespace portcullis::v1
