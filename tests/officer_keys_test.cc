// Officer keys (issue 13 review): ES256 means the P-256 curve only, and a key
// directory's reload never keeps a key whose file is gone or changed
// (docs/officer-identity.md, "Keys per party").
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gateway/identity/jws.h"
#include "gateway/identity/officer_keys.h"
#include "gtest/gtest.h"

namespace portcullis::identity {
namespace {

namespace fs = std::filesystem;

using Key = std::shared_ptr<EVP_PKEY>;

Key NewKey(const char* type, const char* curve = nullptr) {
  EVP_PKEY* k = curve == nullptr ? EVP_PKEY_Q_keygen(nullptr, nullptr, type)
                                 : EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve);
  return Key(k, EVP_PKEY_free);
}

void WritePublicKey(const fs::path& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(PEM_write_PUBKEY(f, key), 1);
  std::fclose(f);
}

fs::path FreshDir(const std::string& name) {
  static int counter = 0;
  fs::path dir = fs::temp_directory_path() / absl::StrCat(name, "-", getpid(), "-", counter++);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// An ECDSA-with-SHA-256 signature of `input` in the JWS form (r||s, 32 bytes
// each), made with OpenSSL directly, whatever the key's curve.
std::string EcdsaRaw(EVP_PKEY* key, const std::string& input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1) {
    ADD_FAILURE() << "cannot sign";
    return "";
  }
  std::string der(len, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len, in, input.size()), 1);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  unsigned char raw[64];
  EXPECT_EQ(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32), 32);
  EXPECT_EQ(BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32), 32);
  ECDSA_SIG_free(sig);
  return std::string(reinterpret_cast<const char*>(raw), sizeof raw);
}

TEST(OfficerKeys, ES256IsTheP256CurveOnlyAtLoadAndWhenVerifying) {
  const Key p256 = NewKey("EC", "P-256");
  const Key k1 = NewKey("EC", "secp256k1");  // 256 bits too, but not P-256.
  ASSERT_NE(p256, nullptr);
  ASSERT_NE(k1, nullptr);
  EXPECT_TRUE(KeyFitsAlgorithm(JwsAlgorithm::kES256, p256.get()));
  EXPECT_FALSE(KeyFitsAlgorithm(JwsAlgorithm::kES256, k1.get()));

  // Load: the directory names the file.
  const fs::path dir = FreshDir("officer-keys-k1");
  WritePublicKey(dir / "x.ES256.pem", k1.get());
  auto loaded = LoadOfficerKeyDir(dir.string());
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("x.ES256.pem"), std::string::npos) << loaded.status();
  EXPECT_NE(loaded.status().message().find("P-256"), std::string::npos) << loaded.status();
  EXPECT_FALSE(ReloadingOfficerKeys::Create(dir.string(), std::chrono::milliseconds(0)).ok());
  fs::remove(dir / "x.ES256.pem");
  WritePublicKey(dir / "x.ES256.pem", p256.get());
  EXPECT_TRUE(LoadOfficerKeyDir(dir.string()).ok());
  fs::remove_all(dir);

  // Verify: a genuine secp256k1 signature does not verify as ES256; the same
  // signing with a P-256 key does (so the refusal is the curve's).
  const std::string input = "eyJhbGciOiJFUzI1NiJ9.e30";
  EXPECT_TRUE(VerifyJwsSignature(JwsAlgorithm::kES256, p256.get(), input, EcdsaRaw(p256.get(), input)));
  EXPECT_FALSE(VerifyJwsSignature(JwsAlgorithm::kES256, k1.get(), input, EcdsaRaw(k1.get(), input)));
  EXPECT_FALSE(SignJws(JwsAlgorithm::kES256, k1.get(), input).ok());
}

}  // namespace
}  // namespace portcullis::identity
