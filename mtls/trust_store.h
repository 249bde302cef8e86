// Chain, validity and revocation checks for peer certificates, with OpenSSL.
//
// gRPC 1.51's built-in CRL support checks only the leaf and silently accepts a
// certificate whose issuer has no CRL. TrustStore closes both gaps: every
// certificate in the chain is checked against a CRL from its issuer, and a
// missing or expired CRL fails the verification (fail closed).
//
// A TrustStore is immutable after Load() and safe to use from any thread.
#ifndef PORTCULLIS_MTLS_TRUST_STORE_H_
#define PORTCULLIS_MTLS_TRUST_STORE_H_

#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"

typedef struct x509_store_st X509_STORE;

namespace portcullis::mtls {

// What a successful verification learnt about the peer.
struct VerifiedPeer {
  std::string subject;                 // RFC 2253 subject of the leaf.
  std::vector<std::string> uri_sans;   // All URI SANs of the leaf, in order.
};

enum class PeerRole { kClient, kServer };  // The role the *peer* plays.

// Why a verification failed: a stable machine-readable code and words.
// Codes: CERT_MISSING, CERT_UNPARSABLE, CERT_UNTRUSTED, CERT_EXPIRED,
// CERT_NOT_YET_VALID, CERT_REVOKED, CRL_MISSING, CRL_EXPIRED, CRL_INVALID,
// CERT_PURPOSE, CERT_INVALID.
struct VerifyFailure {
  std::string code;
  std::string message;  // Includes the failing certificate's subject and depth.
};

class TrustStore {
 public:
  // Reads the trust anchors (PEM bundle) and every CRL (PEM or DER, any file
  // name) in crl_dir. Fails if the bundle has no certificate or a file in
  // crl_dir cannot be parsed as a CRL (hash symlinks are followed).
  static absl::StatusOr<std::shared_ptr<const TrustStore>> Load(const std::string& ca_bundle_path,
                                                                const std::string& crl_dir);
  ~TrustStore();
  TrustStore(const TrustStore&) = delete;
  TrustStore& operator=(const TrustStore&) = delete;

  // Verifies `leaf_pem` (PEM; extra certificates after the first are treated
  // as untrusted intermediates) plus `chain_pem` (untrusted intermediates, may
  // be empty or repeat the leaf) for the given peer role, with revocation
  // checked for every certificate of the chain. On failure returns false and
  // fills *failure. *peer names the leaf (subject, URI SANs) whenever it
  // could be parsed, also on failure.
  bool Verify(absl::string_view leaf_pem, absl::string_view chain_pem, PeerRole role,
              VerifiedPeer* peer, VerifyFailure* failure) const;

  int crl_count() const { return crl_count_; }

 private:
  TrustStore() = default;
  X509_STORE* store_ = nullptr;
  int crl_count_ = 0;
};

}  // namespace portcullis::mtls

#endif  // PORTCULLIS_MTLS_TRUST_STORE_H_
