// The certificate verifier gRPC calls for every TLS handshake (both as server
// and as client). It re-verifies the full chain with revocation checks for
// every certificate (TrustStore), then applies an identity rule on the URI
// SANs, and reports each refusal so that refused handshakes are audited.
//
// Thread-safe; the callbacks are invoked on gRPC's handshake threads and must
// not block for long.
#ifndef PORTCULLIS_MTLS_PEER_VERIFIER_H_
#define PORTCULLIS_MTLS_PEER_VERIFIER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/security/tls_certificate_verifier.h>

#include "absl/status/status.h"
#include "mtls/reloading_trust_store.h"

namespace portcullis::mtls {

// A refused handshake, as reported to the on_refused hook.
struct HandshakeRefusal {
  std::string code;     // VerifyFailure code, or IDENTITY_UNKNOWN / IDENTITY_AMBIGUOUS / IDENTITY_MISMATCH.
  std::string message;  // In words.
  std::string subject;  // Leaf subject, if it could be parsed.
  std::vector<std::string> uri_sans;
  std::string target;   // Client side: the target name being dialled.
};

struct PeerVerifierOptions {
  std::shared_ptr<ReloadingTrustStore> trust;
  PeerRole peer_role = PeerRole::kClient;
  // Decides whether the verified URI SANs name an acceptable identity.
  // Returns OK, or an error whose message starts with the refusal code and a
  // colon (e.g. "IDENTITY_UNKNOWN: ..."). Required.
  std::function<absl::Status(const std::vector<std::string>& uri_sans)> identity_check;
  // Called for every refused handshake. Optional.
  std::function<void(const HandshakeRefusal&)> on_refused;
};

class PeerVerifier : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit PeerVerifier(PeerVerifierOptions options) : options_(std::move(options)) {}
  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> callback, grpc::Status* sync_status) override;
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

 private:
  PeerVerifierOptions options_;
};

// Identity rules shared by gateway and adapters.
// Exactly one URI SAN, equal to `expected`.
absl::Status RequireExactIdentity(const std::vector<std::string>& uri_sans, const std::string& expected);

}  // namespace portcullis::mtls

#endif  // PORTCULLIS_MTLS_PEER_VERIFIER_H_
