#include "tests/support/officer_tokens.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gateway/identity/jws.h"
#include "tests/support/files.h"

namespace portcullis::testing {
namespace {

using identity::Base64UrlEncode;

std::string SigningInput(const Assertion& a) {
  return absl::StrCat(Base64UrlEncode(a.header.dump()), ".", Base64UrlEncode(a.claims.dump()));
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    ADD_FAILURE() << "no randomness";
  }
  return absl::BytesToHexString(raw);
}

}  // namespace

std::string PartyStem(const std::string& party) {
  std::string stem = party;
  std::replace(stem.begin(), stem.end(), '/', '-');
  return stem;
}

std::string IdpKeyPath(const std::string& party, const std::string& kid) {
  return PkiDir() + "/idp/" + PartyStem(party) + "/" + kid + ".key";
}

std::string OfficerKeysDir(const std::string& party) { return PkiDir() + "/officer-keys/" + PartyStem(party); }

Assertion NewAssertion(const std::string& party, const std::string& officer) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  Assertion a;
  a.header = {{"alg", "EdDSA"}, {"kid", "dev-1"}, {"typ", "JWT"}};
  a.claims = {{"iss", party}, {"aud", kGatewayAudience}, {"sub", officer},
              {"iat", now},   {"exp", now + 300},        {"jti", RandomHex(16)}};
  return a;
}

std::string Sign(const Assertion& a, const std::string& key_pem_path) {
  FILE* f = std::fopen(key_pem_path.c_str(), "r");
  if (f == nullptr) {
    ADD_FAILURE() << "cannot open " << key_pem_path;
    return "";
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr),
                                                           EVP_PKEY_free);
  std::fclose(f);
  if (key == nullptr) {
    ADD_FAILURE() << key_pem_path << " is not a PEM private key";
    return "";
  }
  const identity::JwsAlgorithm alg =
      EVP_PKEY_get_id(key.get()) == EVP_PKEY_ED25519 ? identity::JwsAlgorithm::kEdDSA : identity::JwsAlgorithm::kES256;
  const std::string input = SigningInput(a);
  absl::StatusOr<std::string> sig = identity::SignJws(alg, key.get(), input);
  if (!sig.ok()) {
    ADD_FAILURE() << key_pem_path << ": " << sig.status();
    return "";
  }
  return absl::StrCat(input, ".", Base64UrlEncode(*sig));
}

std::string SignHs256(const Assertion& a, const std::string& secret) {
  const std::string input = SigningInput(a);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len) == nullptr) {
    ADD_FAILURE() << "HMAC failed";
    return "";
  }
  return absl::StrCat(input, ".", Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len)));
}

std::string Unsigned(const Assertion& a, const std::string& signature_b64) {
  return absl::StrCat(SigningInput(a), ".", signature_b64);
}

std::string ValidToken(const std::string& party, const std::string& officer) {
  return Sign(NewAssertion(party, officer), IdpKeyPath(party));
}

void WriteEd25519KeyPair(const std::string& private_pem_path, const std::string& public_pem_path) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"),
                                                           EVP_PKEY_free);
  ASSERT_NE(key, nullptr);
  FILE* priv = std::fopen(private_pem_path.c_str(), "w");
  ASSERT_NE(priv, nullptr) << private_pem_path;
  const bool wrote_private = PEM_write_PrivateKey(priv, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(priv);
  ASSERT_TRUE(wrote_private) << private_pem_path;
  // Written beside the private key and renamed: a key directory never holds
  // half a key file (nor a file not named <kid>.<alg>.pem).
  const std::string tmp = private_pem_path + ".pub.tmp";
  FILE* pub = std::fopen(tmp.c_str(), "w");
  ASSERT_NE(pub, nullptr) << tmp;
  const bool wrote_public = PEM_write_PUBKEY(pub, key.get()) == 1;
  std::fclose(pub);
  ASSERT_TRUE(wrote_public) << tmp;
  ASSERT_EQ(std::rename(tmp.c_str(), public_pem_path.c_str()), 0) << public_pem_path;
}

void AddAssertion(grpc::ClientContext* context, const std::string& token) {
  context->AddMetadata("authorization", "Bearer " + token);
}

}  // namespace portcullis::testing
