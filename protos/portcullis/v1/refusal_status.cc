#include "portcullis/v1/refusal_status.h"

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace portcullis::v1 {
namespace {

// The google.rpc.Status in a status's details, if they parse as one.
std::optional<google::rpc::Status> RpcStatusOf(const grpc::Status& status) {
  if (status.error_details().empty()) return std::nullopt;
  google::rpc::Status rpc;
  if (!rpc.ParseFromString(status.error_details())) return std::nullopt;
  if (rpc.code() != static_cast<int>(status.error_code())) return std::nullopt;
  return rpc;
}

std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const google::rpc::Status& rpc) {
  for (const google::protobuf::Any& any : rpc.details()) {
    google::rpc::ErrorInfo info;
    if (any.Is<google::rpc::ErrorInfo>() && any.UnpackTo(&info) && info.domain() == kErrorDomain) return info;
  }
  return std::nullopt;
}

}  // namespace

std::string RefusalText(absl::string_view reason, absl::string_view field, absl::string_view message) {
  return field.empty() ? absl::StrCat(reason, ": ", message) : absl::StrCat(reason, ": ", field, ": ", message);
}

grpc::Status RefusalStatus(grpc::StatusCode code, absl::string_view reason, absl::string_view field,
                           absl::string_view message, const std::map<std::string, std::string>& metadata) {
  const std::string text = RefusalText(reason, field, message);
  google::rpc::Status rpc;
  rpc.set_code(static_cast<int>(code));
  rpc.set_message(text);
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(kErrorDomain);
  for (const auto& [k, v] : metadata) (*info.mutable_metadata())[k] = v;
  if (!field.empty()) (*info.mutable_metadata())["field"] = std::string(field);
  rpc.add_details()->PackFrom(info);
  if (code == grpc::StatusCode::INVALID_ARGUMENT && !field.empty()) {
    google::rpc::BadRequest bad;
    google::rpc::BadRequest::FieldViolation* v = bad.add_field_violations();
    v->set_field(std::string(field));
    v->set_description(std::string(message));
    rpc.add_details()->PackFrom(bad);
  }
  Refusal refusal;
  refusal.set_reason(std::string(reason));
  refusal.set_field(std::string(field));
  refusal.set_message(std::string(message));
  rpc.add_details()->PackFrom(refusal);
  return grpc::Status(code, text, rpc.SerializeAsString());
}

std::optional<Refusal> RefusalInStatus(const grpc::Status& status) {
  if (std::optional<google::rpc::Status> rpc = RpcStatusOf(status)) {
    for (const google::protobuf::Any& any : rpc->details()) {
      Refusal refusal;
      if (any.Is<Refusal>() && any.UnpackTo(&refusal) && !refusal.reason().empty()) return refusal;
    }
    if (std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(*rpc); info && !info->reason().empty()) {
      Refusal refusal;
      refusal.set_reason(info->reason());
      if (auto f = info->metadata().find("field"); f != info->metadata().end()) refusal.set_field(f->second);
      refusal.set_message(rpc->message());
      return refusal;
    }
    if (!rpc->details().empty()) return std::nullopt;
  }
  // Contract versions before google.rpc.Status: a bare Refusal.
  if (status.error_details().empty()) return std::nullopt;
  Refusal refusal;
  if (!refusal.ParseFromString(status.error_details()) || refusal.reason().empty()) return std::nullopt;
  return refusal;
}

std::optional<std::string> RefusalMetadata(const grpc::Status& status, absl::string_view key) {
  std::optional<google::rpc::Status> rpc = RpcStatusOf(status);
  if (!rpc) return std::nullopt;
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(*rpc);
  if (!info) return std::nullopt;
  auto it = info->metadata().find(std::string(key));
  if (it == info->metadata().end()) return std::nullopt;
  return it->second;
}

}  // namespace portcullis::v1
