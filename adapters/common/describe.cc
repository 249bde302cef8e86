#include "adapters/common/describe.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "portcullis/v1/refusal_status.h"

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

std::string DescribeStatus(const grpc::Status& status) {
  std::string code = StatusCodeName(status.error_code());
  if (status.ok()) return code;
  if (std::optional<v1::Refusal> r = v1::RefusalInStatus(status)) {
    std::string text = absl::StrCat(code, " (", r->reason(), ")");
    if (!r->field().empty()) absl::StrAppend(&text, " ", r->field());
    const std::string& message = r->message().empty() ? status.error_message() : r->message();
    if (!message.empty()) absl::StrAppend(&text, ": ", message);
    return text;
  }
  if (status.error_message().empty()) return code;
  // A call credentials plugin's failure (the officer assertion's source, whose
  // words start "officer assertion: ") comes wrapped in whatever words the gRPC
  // version adds ("Getting metadata from plugin failed with error: " in 1.51),
  // or in none: from "officer assertion: " on, if it is there.
  const std::string text = status.error_message();  // A copy: error_message() returns by value.
  absl::string_view message = text;
  const size_t ours = message.find("officer assertion: ");
  if (ours != absl::string_view::npos) message.remove_prefix(ours);
  return absl::StrCat(code, ": ", message);
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

std::string DescribeStoredDelivery(const v1::Delivery& d) {
  const v1::Envelope& e = d.envelope();
  return absl::StrCat("stored delivery ", d.delivery_id(), ": ", BodyTypeName(e), " ", e.message_id(), " case ",
                      e.case_reference(), " from ", e.sender(), ", ", v1::Classification_Name(e.classification()));
}

}  // namespace portcullis::adapters
