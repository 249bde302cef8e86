#include "mtls/credentials.h"

#include <unistd.h>

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "absl/strings/str_cat.h"

namespace portcullis::mtls {
using grpc::experimental::FileWatcherCertificateProvider;

absl::StatusOr<std::shared_ptr<ReloadingTrustStore>> SharedTrustStore(const TlsFiles& f) {
  return ReloadingTrustStore::Shared(f.ca_bundle, f.crl_dir,
                                     std::chrono::seconds(std::max(1, f.reload_interval_seconds)));
}

absl::Status CheckReadable(const TlsFiles& f) {
  for (const auto* p : {&f.cert_chain, &f.private_key, &f.ca_bundle}) {
    if (access(p->c_str(), R_OK) != 0) return absl::NotFoundError(absl::StrCat("cannot read TLS file ", *p));
  }
  if (access(f.crl_dir.c_str(), R_OK | X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read CRL directory ", f.crl_dir));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(const ServerTlsOptions& options) {
  if (absl::Status s = CheckReadable(options.files); !s.ok()) return s;
  auto trust = SharedTrustStore(options.files);
  if (!trust.ok()) return trust.status();
  auto provider = std::make_shared<FileWatcherCertificateProvider>(
      options.files.private_key, options.files.cert_chain,
      static_cast<unsigned int>(std::max(1, options.files.reload_interval_seconds)));
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  // The handshake only requires proof of key possession; PeerVerifier decides.
  tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  PeerVerifierOptions v;
  v.trust = *trust;
  v.peer_role = PeerRole::kClient;
  v.identity_check = options.identity_check;
  v.on_refused = options.on_refused;
  tls.set_certificate_verifier(grpc::experimental::ExternalCertificateVerifier::Create<PeerVerifier>(std::move(v)));
  return grpc::experimental::TlsServerCredentials(tls);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const ClientTlsOptions& options) {
  if (absl::Status s = CheckReadable(options.files); !s.ok()) return s;
  std::shared_ptr<ReloadingTrustStore> trust = options.trust;
  if (!trust) {
    auto t = SharedTrustStore(options.files);
    if (!t.ok()) return t.status();
    trust = *t;
  }
  auto provider = std::make_shared<FileWatcherCertificateProvider>(
      options.files.private_key, options.files.cert_chain, options.files.ca_bundle,
      static_cast<unsigned int>(std::max(1, options.files.reload_interval_seconds)));
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_certificate_provider(provider);
  tls.watch_identity_key_cert_pairs();
  tls.watch_root_certs();
  // Hostname checks do not apply: identities are SPIFFE URIs, checked below.
  tls.set_verify_server_certs(false);
  tls.set_check_call_host(false);
  PeerVerifierOptions v;
  v.trust = trust;
  v.peer_role = PeerRole::kServer;
  std::string expected = options.expected_server_identity;
  v.identity_check = [expected](const std::vector<std::string>& sans) { return RequireExactIdentity(sans, expected); };
  v.on_refused = options.on_refused;
  tls.set_certificate_verifier(grpc::experimental::ExternalCertificateVerifier::Create<PeerVerifier>(std::move(v)));
  return grpc::experimental::TlsCredentials(tls);
}

}  // namespace portcullis::mtls
