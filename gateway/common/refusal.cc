#include "gateway/common/refusal.h"

#include <openssl/rand.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gateway/common/log.h"
#include "portcullis/v1/refusal_status.h"
#include "util/hex.h"

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

std::string NewRequestId() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    static std::atomic<uint64_t> fallback{0};  // RAND_bytes does not fail once seeded; never block on it.
    const uint64_t n = fallback.fetch_add(1) ^ static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::memcpy(bytes, &n, sizeof bytes);
  }
  return HexEncode(bytes, sizeof bytes);
}

std::optional<v1::Refusal> ChosenRefusal(const absl::Status& status) {
  auto payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  v1::Refusal refusal;
  if (!refusal.ParseFromString(std::string(*payload)) || refusal.reason().empty()) return std::nullopt;
  return refusal;
}

v1::Refusal PublicRefusal(const absl::Status& status) {
  if (std::optional<v1::Refusal> chosen = ChosenRefusal(status)) return *chosen;
  v1::Refusal refusal;
  switch (status.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      refusal.set_reason("INTERNAL_ERROR");
      refusal.set_message("internal error; the operators have the details in the gateway log");
      break;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
      refusal.set_reason("TEMPORARILY_UNAVAILABLE");
      refusal.set_message("the gateway cannot complete the request now; retry later");
      break;
    default:
      refusal.set_reason("REQUEST_FAILED");
      refusal.set_message("the gateway could not complete the request");
      break;
  }
  return refusal;
}

grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view request_id) {
  if (status.ok()) return grpc::Status::OK;
  if (std::optional<v1::Refusal> chosen = ChosenRefusal(status)) {
    return v1::RefusalStatus(ToGrpcCode(status.code()), chosen->reason(), chosen->field(), chosen->message());
  }
  // Not a refusal the gateway chose: its words stay in the gateway's log.
  const std::string incident = request_id.empty() ? NewRequestId() : std::string(request_id);
  LogLine("incident %s: %s\n", incident.c_str(), status.ToString().c_str());
  const v1::Refusal generic = PublicRefusal(status);
  return v1::RefusalStatus(ToGrpcCode(status.code()), generic.reason(), "",
                           absl::StrCat(generic.message(), " (incident ", incident, ")"), {{"incident_id", incident}});
}

}  // namespace portcullis
