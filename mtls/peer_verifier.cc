#include "mtls/peer_verifier.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace portcullis::mtls {

bool PeerVerifier::Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
                          std::function<void(grpc::Status)>, grpc::Status* sync_status) {
  std::string leaf(request->peer_cert().data(), request->peer_cert().size());
  std::string chain(request->peer_cert_full_chain().data(), request->peer_cert_full_chain().size());
  VerifiedPeer peer;
  VerifyFailure failure;
  HandshakeRefusal refusal;
  refusal.target.assign(request->target_name().data(), request->target_name().size());
  bool ok = options_.trust->Current()->Verify(leaf, chain, options_.peer_role, &peer, &failure);
  if (ok) {
    absl::Status id = options_.identity_check(peer.uri_sans);
    if (id.ok()) {
      *sync_status = grpc::Status::OK;
      return true;
    }
    std::string msg(id.message());
    size_t colon = msg.find(':');
    failure.code = colon == std::string::npos ? "IDENTITY_REFUSED" : msg.substr(0, colon);
    failure.message = colon == std::string::npos ? msg : msg.substr(colon + 2 <= msg.size() ? colon + 2 : colon + 1);
  }
  refusal.code = failure.code;
  refusal.message = failure.message;
  refusal.subject = peer.subject;
  refusal.uri_sans = peer.uri_sans;
  if (options_.on_refused) options_.on_refused(refusal);
  *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, absl::StrCat(failure.code, ": ", failure.message));
  return true;
}

absl::Status RequireExactIdentity(const std::vector<std::string>& uri_sans, const std::string& expected) {
  if (uri_sans.size() == 1 && uri_sans[0] == expected) return absl::OkStatus();
  if (uri_sans.size() > 1) {
    return absl::PermissionDeniedError(absl::StrCat("IDENTITY_AMBIGUOUS: certificate has ", uri_sans.size(),
                                                    " URI SANs (", absl::StrJoin(uri_sans, ", "), "), expected only ",
                                                    expected));
  }
  return absl::PermissionDeniedError(absl::StrCat("IDENTITY_MISMATCH: certificate identity '",
                                                  uri_sans.empty() ? "" : uri_sans[0], "' is not the expected ",
                                                  expected));
}

}  // namespace portcullis::mtls
