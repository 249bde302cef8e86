#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "gateway/common/log.h"
#include "gateway/common/refusal.h"
#include "gateway/service/authenticate.h"
#include "gateway/service/officer_identity.h"
#include "gateway/service/peer_trust.h"
#include "mtls/credentials.h"
#include "util/clock.h"

namespace portcullis {

absl::StatusOr<std::shared_ptr<mtls::ReloadingTrustStore>> ListenerTrustStore(const Config& config) {
  mtls::TlsFiles files;
  files.ca_bundle = config.tls.ca_bundle;
  files.crl_dir = config.tls.crl_dir;
  files.reload_interval_seconds = config.tls.reload_interval_seconds;
  return mtls::SharedTrustStore(files);
}

std::string PeerCertificates(const grpc::AuthContext& auth) {
  std::string out;
  for (const char* property : {GRPC_X509_PEM_CERT_PROPERTY_NAME, GRPC_X509_PEM_CERT_CHAIN_PROPERTY_NAME}) {
    std::vector<grpc::string_ref> values = auth.FindPropertyValues(property);
    if (values.empty()) {
      if (out.empty()) return out;  // No leaf: nothing to verify.
      continue;
    }
    out.append(values[0].data(), values[0].size());
    if (!out.empty() && out.back() != '\n') out += '\n';
  }
  return out;
}

std::string PeerCertificates(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  return auth ? PeerCertificates(*auth) : std::string();
}

absl::Status RecheckPeer(const Config& config, absl::string_view certificates) {
  if (certificates.empty()) {
    return Refuse(absl::StatusCode::kUnauthenticated, "PEER_NOT_AUTHENTICATED", "", "no verified client certificate");
  }
  auto trust = ListenerTrustStore(config);
  if (!trust.ok()) {
    LogLine("cannot re-check a caller's certificate: %s\n",
                 std::string(trust.status().message()).c_str());
    return Refuse(absl::StatusCode::kUnauthenticated, "PEER_NOT_AUTHENTICATED", "",
                  "the client certificate cannot be verified now");
  }
  mtls::VerifiedPeer peer;
  mtls::VerifyFailure failure;
  if ((*trust)->VerifyCached(certificates, "", mtls::PeerRole::kClient, &peer, &failure)) return absl::OkStatus();
  // failure.message holds OpenSSL's words: never in a refusal.
  if (failure.code == "CERT_REVOKED") {
    return Refuse(absl::StatusCode::kUnauthenticated, "PEER_REVOKED", "",
                  "a certificate of the caller's chain has been revoked");
  }
  return Refuse(absl::StatusCode::kUnauthenticated, "PEER_CERT_INVALID", "",
                absl::StrCat("the caller's certificate chain no longer verifies (", failure.code, ")"));
}

absl::StatusOr<const Party*> AuthenticatePeer(const grpc::ServerContextBase& context, const Config& config) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) {
    return Refuse(absl::StatusCode::kUnauthenticated, "PEER_NOT_AUTHENTICATED", "", "no verified client certificate");
  }
  // The handshake verified the chain against the store then in force; it
  // may have been revoked since, on a connection that stays open.
  if (absl::Status still = RecheckPeer(config, PeerCertificates(*auth)); !still.ok()) return still;
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

namespace {

// OK if `party` is of `kind`; NOT_AN_OPERATOR / NOT_AN_AUDITOR otherwise.
absl::Status RequireKind(const Party& party, PartyKind kind) {
  if (party.kind == kind) return absl::OkStatus();
  if (kind == PartyKind::kOperator) {
    return Refuse(absl::StatusCode::kPermissionDenied, "NOT_AN_OPERATOR", "",
                  absl::StrCat("'", party.id, "' is not an operator; only operators may use this call"));
  }
  return Refuse(absl::StatusCode::kPermissionDenied, "NOT_AN_AUDITOR", "",
                absl::StrCat("'", party.id, "' is not an auditor; only auditors may use this call"));
}

// The officer `party`'s assertion on the call vouches for, recorded.
absl::StatusOr<Caller> WithOfficer(const grpc::ServerContextBase& context, const Party& party,
                                   const OfficerIdentity* officers, AuditRecord* record) {
  Caller caller{&party, std::nullopt};
  if (officers == nullptr) {  // Nothing verifies assertions here: a party that needs one is refused (fail closed).
    if (party.officer_assertions != OfficerAssertions::kRequired) return caller;
    return Refuse(absl::StatusCode::kUnauthenticated, "ASSERTION_REQUIRED", "authorization",
                  "this party's calls need a verified officer assertion, and none can be verified here");
  }
  auto officer = officers->Verify(context, party, NowMicros());
  if (!officer.ok()) return officer.status();
  caller.officer = *std::move(officer);
  if (caller.officer.has_value()) {
    record->actor_officer = caller.officer->officer;
    record->officer_verified = true;
  }
  return caller;
}

}  // namespace

absl::StatusOr<Caller> IdentifyCaller(const grpc::ServerContextBase& context, const Config& config,
                                      const OfficerIdentity* officers, AuditRecord* record) {
  absl::StatusOr<const Party*> party = AuthenticatePeer(context, config);
  if (!party.ok()) return party.status();
  record->actor_party = (*party)->id;
  return WithOfficer(context, **party, officers, record);
}

absl::StatusOr<Caller> IdentifyCallerAs(const grpc::ServerContextBase& context, const Config& config,
                                        const OfficerIdentity* officers, PartyKind kind, AuditRecord* record) {
  absl::StatusOr<const Party*> party = AuthenticatePeer(context, config);
  if (!party.ok()) return party.status();
  record->actor_party = (*party)->id;
  if (absl::Status kind_ok = RequireKind(**party, kind); !kind_ok.ok()) return kind_ok;
  return WithOfficer(context, **party, officers, record);
}

}  // namespace portcullis
