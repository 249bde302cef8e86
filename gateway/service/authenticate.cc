#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>

#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"
#include "gateway/service/exchange_service.h"

namespace portcullis {

absl::StatusOr<const Party*> AuthenticatePeer(const grpc::ServerContextBase& context, const Config& config) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) {
    return Refuse(absl::StatusCode::kUnauthenticated, "PEER_NOT_AUTHENTICATED", "", "no verified client certificate");
  }
  std::vector<grpc::string_ref> uris = auth->FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME);
  if (uris.size() != 1) {
    return Refuse(absl::StatusCode::kUnauthenticated, uris.empty() ? "IDENTITY_MISSING" : "IDENTITY_AMBIGUOUS", "",
                  absl::StrCat("client certificate carries ", uris.size(), " URI SANs; exactly one is required"));
  }
  std::string uri(uris[0].data(), uris[0].size());
  const Party* party = config.FindPartyByIdentity(uri);
  if (party == nullptr) {
    return Refuse(absl::StatusCode::kUnauthenticated, "IDENTITY_UNKNOWN", "",
                  absl::StrCat("'", uri, "' is not a party of this exchange"));
  }
  return party;
}

}  // namespace portcullis
