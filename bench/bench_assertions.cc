#include "bench/bench_assertions.h"

#include <openssl/pem.h>

#include <cstdio>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "gateway/identity/jws.h"
#include "nlohmann/json.hpp"

namespace portcullis::bench {

std::unique_ptr<BenchAssertions> BenchAssertions::Load(const std::string& key_pem, std::string issuer,
                                                       std::string audience) {
  FILE* f = std::fopen(key_pem.c_str(), "r");
  EVP_PKEY* key = f == nullptr ? nullptr : PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  if (f != nullptr) std::fclose(f);
  if (key == nullptr || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    std::fprintf(stderr, "officer assertions: %s is not an Ed25519 PEM private key\n", key_pem.c_str());
    EVP_PKEY_free(key);
    return nullptr;
  }
  std::unique_ptr<BenchAssertions> a(new BenchAssertions());
  a->key_ = key;
  a->issuer_ = std::move(issuer);
  a->audience_ = std::move(audience);
  return a;
}

BenchAssertions::~BenchAssertions() { EVP_PKEY_free(key_); }

std::string BenchAssertions::Mint(const std::string& officer) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const nlohmann::json header{{"alg", "EdDSA"}, {"kid", "dev-1"}, {"typ", "JWT"}};
  const nlohmann::json claims{{"iss", issuer_},   {"aud", audience_},  {"sub", officer},
                              {"iat", now},       {"exp", now + 300},  {"jti", absl::StrCat("bench-", now, "-", next_jti_++)}};
  const std::string input =
      absl::StrCat(identity::Base64UrlEncode(header.dump()), ".", identity::Base64UrlEncode(claims.dump()));
  absl::StatusOr<std::string> sig = identity::SignJws(identity::JwsAlgorithm::kEdDSA, key_, input);
  if (!sig.ok()) return "";
  return absl::StrCat(input, ".", identity::Base64UrlEncode(*sig));
}

}  // namespace portcullis::bench
