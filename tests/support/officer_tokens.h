// Officer assertions for tests (docs/officer-identity.md): compact JWS minted
// with gateway/identity/jws.h from the dev PKI's identity-provider keys
// (idp/<party-stem>/<kid>.key, certs/gen-dev-pki.sh), with every header field
// and claim open to change, and put on a call as `authorization: Bearer ...`.
#ifndef PORTCULLIS_TESTS_SUPPORT_OFFICER_TOKENS_H_
#define PORTCULLIS_TESTS_SUPPORT_OFFICER_TOKENS_H_

#include <cstdint>
#include <string>

#include <grpcpp/client_context.h>

#include "nlohmann/json.hpp"

namespace portcullis::testing {

// The gateway's identity in the dev PKI (the URI SAN of gateway/server.pem):
// the audience every assertion names.
inline constexpr char kGatewayAudience[] = "spiffe://exchange.gov.uk/gateway";

// "uk/nca" -> "uk-nca", the party's file stem in the PKI.
std::string PartyStem(const std::string& party);
// The dev PKI's identity-provider private key of `party` (PEM): idp/<stem>/<kid>.key.
std::string IdpKeyPath(const std::string& party, const std::string& kid = "dev-1");
// The dev PKI's directory of `party`'s public officer keys: officer-keys/<stem>.
std::string OfficerKeysDir(const std::string& party);

// A token's two JSON parts, as a test wants to spoil them.
struct Assertion {
  nlohmann::json header;  // {"alg": "EdDSA", "kid": "dev-1", "typ": "JWT"}
  nlohmann::json claims;  // {"iss", "aud", "sub", "iat", "exp" (now + 300), "jti" (random)}
};

// A valid assertion of `party`'s identity provider for `officer`, issued now.
Assertion NewAssertion(const std::string& party, const std::string& officer);

// The compact JWS of `a`, signed with the private key in `key_pem_path`
// (Ed25519: an EdDSA signature, P-256: ES256), whatever the header says.
// A key that cannot be read or used is a test failure (ADD_FAILURE) and "".
std::string Sign(const Assertion& a, const std::string& key_pem_path);
// Signed with HMAC-SHA256 keyed with `secret` (the "public key as an HMAC
// secret" attack); the header should say HS256.
std::string SignHs256(const Assertion& a, const std::string& secret);
// header.payload.`signature_b64` as given (e.g. "" for alg none).
std::string Unsigned(const Assertion& a, const std::string& signature_b64 = "");

// A valid token: NewAssertion signed with the party's dev-1 key.
std::string ValidToken(const std::string& party, const std::string& officer);

// A new Ed25519 key pair: the private key at `private_pem_path`, the public
// half at `public_pem_path` (e.g. <keys dir>/dev-2.EdDSA.pem). Test failure on error.
void WriteEd25519KeyPair(const std::string& private_pem_path, const std::string& public_pem_path);

// Adds `authorization: Bearer <token>` to the call.
void AddAssertion(grpc::ClientContext* context, const std::string& token);

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_OFFICER_TOKENS_H_
