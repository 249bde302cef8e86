// Test credentials minted from the dev PKI (build/test-pki, certs/gen-dev-pki.sh):
// a party's certificate and key files, its gRPC SSL options, and an mTLS
// channel to the gateway presenting it. One place to extend when parties gain
// more identities (e.g. officers' certificates).
#ifndef PORTCULLIS_TESTS_SUPPORT_CREDENTIALS_H_
#define PORTCULLIS_TESTS_SUPPORT_CREDENTIALS_H_

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

namespace portcullis::testing {

// TLS file paths for a client certificate in the PKI, e.g. "parties/uk-nca"
// or "fixtures/revoked".
struct ClientCert {
  std::string cert, key;
};
ClientCert PkiCert(const std::string& stem);

// The PEM text of the PKI's CA bundle (every root and intermediate).
std::string PkiCaBundle();

// grpc::SslCredentialsOptions presenting the PKI's certificate `stem` and
// trusting the PKI's CA bundle; `stem` "" = no client certificate.
grpc::SslCredentialsOptions PartySslOptions(const std::string& stem);

// A new mTLS channel to the gateway at `address`, presenting the PKI's
// certificate `stem` (e.g. "parties/uk-nca") and requiring the gateway's
// identity, with the project's verifier (CRLs checked). Each call is a
// distinct channel (and handshake).
std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address, const std::string& stem);

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_CREDENTIALS_H_
