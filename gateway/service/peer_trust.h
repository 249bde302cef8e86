// Revocation cuts a party off at once (docs/architecture.md, "Revocation"):
// a caller's certificate chain, as presented in its handshake, is verified
// again on every call against the trust store in force, so a certificate
// revoked (or expired, or whose CA left the bundle) while its connection is
// open gets nothing more on that connection. The verification is cached by
// (chain hash, trust-store generation): per call a hash and a map lookup.
//
// The store is the listener's own (mtls::SharedTrustStore of tls.*), which
// the gateway re-reads on a timer (Gateway, every tls.reload_interval_seconds).
#ifndef PORTCULLIS_GATEWAY_SERVICE_PEER_TRUST_H_
#define PORTCULLIS_GATEWAY_SERVICE_PEER_TRUST_H_

#include <memory>
#include <string>

#include <grpcpp/security/auth_context.h>
#include <grpcpp/support/server_callback.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/config/config.h"
#include "mtls/reloading_trust_store.h"

namespace portcullis {

// The trust store the gateway's listener verifies clients with.
absl::StatusOr<std::shared_ptr<mtls::ReloadingTrustStore>> ListenerTrustStore(const Config& config);

// The caller's certificates as its handshake presented them: the leaf PEM
// (AuthContext x509_pem_cert) followed by the rest of its chain
// (x509_pem_cert_chain; on the server side OpenSSL gives it without the
// leaf). "" when there is none.
std::string PeerCertificates(const grpc::AuthContext& auth);
std::string PeerCertificates(const grpc::ServerContextBase& context);

// OK if `certificates` (PeerCertificates) verify against the listener's
// trust store in force; otherwise UNAUTHENTICATED with reason PEER_REVOKED
// (a certificate of the chain is revoked) or PEER_CERT_INVALID (expired, CA
// no longer trusted, CRL missing or expired, ...).
absl::Status RecheckPeer(const Config& config, absl::string_view certificates);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_PEER_TRUST_H_
