// Compact JWS (RFC 7515) parsing and signature verification with OpenSSL.
//
// Only what officer assertions need: the compact serialisation
// `base64url(header).base64url(payload).base64url(signature)` with JSON
// objects for header and payload, and the two asymmetric algorithms the
// gateway accepts (EdDSA with Ed25519, ES256 with P-256). No algorithm is
// chosen from the token: the caller names the one the key is configured for.
#ifndef PORTCULLIS_GATEWAY_IDENTITY_JWS_H_
#define PORTCULLIS_GATEWAY_IDENTITY_JWS_H_

#include <openssl/evp.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace portcullis::identity {

enum class JwsAlgorithm { kEdDSA, kES256 };

// "EdDSA" / "ES256".
const char* JwsAlgorithmName(JwsAlgorithm alg);
// Parses a configured algorithm name; anything but "EdDSA" and "ES256" fails.
absl::StatusOr<JwsAlgorithm> ParseJwsAlgorithm(absl::string_view name);

// True if `key` is of the type `alg` verifies with: Ed25519; EC on the named
// curve P-256 (prime256v1), no other curve of 256 bits.
bool KeyFitsAlgorithm(JwsAlgorithm alg, EVP_PKEY* key);

struct CompactJws {
  nlohmann::json header;   // A JSON object.
  nlohmann::json payload;  // A JSON object.
  std::string signing_input;  // The first two parts as sent, with the dot.
  std::string signature;      // Decoded bytes.
};

// Splits and decodes a compact JWS. Fails (InvalidArgument, words for the
// gateway's log only) if it is not three base64url parts without padding, or
// if header or payload is not a strict JSON object (no comments, no duplicate
// keys).
absl::StatusOr<CompactJws> ParseCompactJws(absl::string_view token);

// True if `signature` is a valid `alg` signature of `signing_input` by `key`.
// False also when the key's type does not fit the algorithm.
bool VerifyJwsSignature(JwsAlgorithm alg, EVP_PKEY* key, absl::string_view signing_input,
                        absl::string_view signature);

// The opposite direction, for the development token minter and tests: signs
// `signing_input` with a private `key`. ES256 signatures are returned as
// r||s (64 bytes), as JWS requires.
absl::StatusOr<std::string> SignJws(JwsAlgorithm alg, EVP_PKEY* key, absl::string_view signing_input);

// Unpadded base64url, as JWS uses.
std::string Base64UrlEncode(absl::string_view bytes);

}  // namespace portcullis::identity

#endif  // PORTCULLIS_GATEWAY_IDENTITY_JWS_H_
