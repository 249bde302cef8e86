#include "adapters/common/describe.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace portcullis::adapters {

std::string StatusCodeName(grpc::StatusCode code) {
  const int n = static_cast<int>(code);
  // absl and gRPC share the canonical code numbering (0..16).
  if (n >= 0 && n <= 16) {
    std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(n));
    if (!name.empty()) return name;
  }
  return absl::StrCat("CODE_", n);
}

std::optional<v1::Refusal> RefusalOf(const grpc::Status& status) {
  if (status.error_details().empty()) return std::nullopt;
  v1::Refusal refusal;
  if (!refusal.ParseFromString(status.error_details()) || refusal.reason().empty()) return std::nullopt;
  return refusal;
}

std::string DescribeStatus(const grpc::Status& status) {
  std::string code = StatusCodeName(status.error_code());
  if (status.ok()) return code;
  if (std::optional<v1::Refusal> r = RefusalOf(status)) {
    std::string text = absl::StrCat(code, " (", r->reason(), ")");
    if (!r->field().empty()) absl::StrAppend(&text, " ", r->field());
    const std::string& message = r->message().empty() ? status.error_message() : r->message();
    if (!message.empty()) absl::StrAppend(&text, ": ", message);
    return text;
  }
  if (status.error_message().empty()) return code;
  return absl::StrCat(code, ": ", status.error_message());
}

std::string BodyTypeName(const v1::Envelope& envelope) {
  switch (envelope.body_case()) {
    case v1::Envelope::kCaseReferral:
      return "case referral";
    case v1::Envelope::kIntelligenceReport:
      return "intelligence report";
    case v1::Envelope::kRequestForInformation:
      return "request for information";
    case v1::Envelope::kResponse:
      return "response";
    case v1::Envelope::BODY_NOT_SET:
      break;
  }
  return "no body";
}

grpc::Status RefusalStatus(grpc::StatusCode code, const std::string& reason, const std::string& field,
                           const std::string& message) {
  v1::Refusal refusal;
  refusal.set_reason(reason);
  refusal.set_field(field);
  refusal.set_message(message);
  std::string text = field.empty() ? absl::StrCat(reason, ": ", message)
                                   : absl::StrCat(reason, ": ", field, ": ", message);
  return grpc::Status(code, text, refusal.SerializeAsString());
}

}  // namespace portcullis::adapters
