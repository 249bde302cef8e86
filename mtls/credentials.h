// gRPC credentials for mutual TLS with Portcullis's verification rules.
//
// Server side: the listener presents a certificate that is re-read from disk
// (rotation without restart), requires a client certificate, and leaves every
// decision on it to PeerVerifier (full chain, revocation of every link, fail
// closed on a missing CRL, identity rule), which also sees refused handshakes.
// gRPC 1.51 negotiates TLS 1.2 at minimum and prefers TLS 1.3.
//
// Client side: presents its own certificate (also rotated from disk) and
// verifies the server's chain, revocation and exact URI SAN identity.
#ifndef PORTCULLIS_MTLS_CREDENTIALS_H_
#define PORTCULLIS_MTLS_CREDENTIALS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "absl/status/statusor.h"
#include "mtls/peer_verifier.h"

namespace portcullis::mtls {

struct TlsFiles {
  std::string cert_chain;  // PEM: leaf then intermediates.
  std::string private_key;
  std::string ca_bundle;   // Trust anchors.
  std::string crl_dir;
  int reload_interval_seconds = 5;
};

struct ServerTlsOptions {
  TlsFiles files;
  std::function<absl::Status(const std::vector<std::string>&)> identity_check;
  std::function<void(const HandshakeRefusal&)> on_refused;
};

// Fails if a file cannot be read or the CA/CRL set does not load.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(const ServerTlsOptions& options);

struct ClientTlsOptions {
  TlsFiles files;
  // The URI SAN the server's certificate must carry (exactly, and only it).
  std::string expected_server_identity;
  std::function<void(const HandshakeRefusal&)> on_refused;
  // Optional: share a trust store between many channels.
  std::shared_ptr<ReloadingTrustStore> trust;
};

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const ClientTlsOptions& options);

// The trust store every credential built from `files` uses: one per CA
// bundle, CRL directory and interval in the process (ReloadingTrustStore::
// Shared), so callers re-checking a peer use the store its handshake used.
absl::StatusOr<std::shared_ptr<ReloadingTrustStore>> SharedTrustStore(const TlsFiles& files);

// Checks that the files exist and are readable (the gRPC file watcher only
// logs such errors), so misconfiguration fails at startup with the path.
absl::Status CheckReadable(const TlsFiles& files);

}  // namespace portcullis::mtls

#endif  // PORTCULLIS_MTLS_CREDENTIALS_H_
