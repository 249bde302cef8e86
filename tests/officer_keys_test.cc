// Officer keys (issue 13 review): ES256 means the P-256 curve only, and a key
// directory's reload never keeps a key whose file is gone or changed
// (docs/officer-identity.md, "Keys per party").
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <fcntl.h>
#include <openssl/bio.h>
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

// A key directory with keys `a` and `b` (Ed25519), followed by a reloader.
class OfficerKeysReload : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir("officer-keys-reload");
    WritePublicKey(dir_ / "a.EdDSA.pem", a_.get());
    WritePublicKey(dir_ / "b.EdDSA.pem", b_.get());
    auto keys = ReloadingOfficerKeys::Create(dir_.string(), std::chrono::hours(1));
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = *std::move(keys);
    ASSERT_TRUE(Has("a", a_.get()));
    ASSERT_TRUE(Has("b", b_.get()));
  }
  void TearDown() override {
    fs::remove_all(dir_);
  }

  // The key in force under `kid` is `key`.
  ::testing::AssertionResult Has(const std::string& kid, EVP_PKEY* key) {
    const OfficerKey* k = keys_->Current()->Find(kid);
    if (k == nullptr) return ::testing::AssertionFailure() << "no key '" << kid << "'";
    if (EVP_PKEY_eq(k->key.get(), key) != 1) return ::testing::AssertionFailure() << "'" << kid << "' is another key";
    return ::testing::AssertionSuccess();
  }
  bool Gone(const std::string& kid) { return keys_->Current()->Find(kid) == nullptr; }
  std::string Status() { return keys_->last_reload_status().ToString(); }

  fs::path dir_;
  Key a_ = NewKey("ED25519"), b_ = NewKey("ED25519");
  std::unique_ptr<ReloadingOfficerKeys> keys_;
};

std::string PemOf(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

// The compromised key's file is deleted and, in the same change, its
// replacement arrives half-copied and another under a bad name: the
// compromised key goes at once, the others stay, the bad files are named.
TEST_F(OfficerKeysReload, ARemovedKeyGoesEvenWhenANewFileBesideItIsBroken) {
  const Key c = NewKey("ED25519");
  fs::remove(dir_ / "a.EdDSA.pem");
  const std::string pem = PemOf(c.get());
  std::ofstream(dir_ / "c.EdDSA.pem") << pem.substr(0, pem.size() / 2);
  WritePublicKey(dir_ / "replacement.pem", c.get());
  keys_->Refresh();
  EXPECT_TRUE(Gone("a")) << "a key whose file was deleted is still in force";
  EXPECT_TRUE(Has("b", b_.get()));
  EXPECT_TRUE(Gone("c"));
  EXPECT_NE(Status().find("c.EdDSA.pem"), std::string::npos) << Status();
  EXPECT_NE(Status().find("replacement.pem"), std::string::npos) << Status();
  // The replacement completed: it joins, and the status is clean again.
  std::ofstream(dir_ / "c.EdDSA.pem") << pem;
  fs::remove(dir_ / "replacement.pem");
  keys_->Refresh();
  EXPECT_TRUE(Has("c", c.get()));
  EXPECT_TRUE(Has("b", b_.get()));
  EXPECT_TRUE(keys_->last_reload_status().ok()) << Status();
}

TEST_F(OfficerKeysReload, AChangedFileThatNoLongerLoadsTakesItsKeyAway) {
  const std::shared_ptr<const OfficerKeySet> before_set = keys_->Current();  // Keeps `before` alive.
  const OfficerKey* before = before_set->Find("b");
  std::ofstream(dir_ / "a.EdDSA.pem") << "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n";
  keys_->Refresh();
  EXPECT_TRUE(Gone("a"));
  EXPECT_NE(Status().find("a.EdDSA.pem"), std::string::npos) << Status();
  EXPECT_TRUE(Has("b", b_.get()));
  EXPECT_EQ(keys_->Current()->Find("b")->key.get(), before->key.get()) << "an unchanged file is not read as new";
  // Two files naming one key id: neither is trusted.
  WritePublicKey(dir_ / "b.ES256.pem", NewKey("EC", "P-256").get());
  keys_->Refresh();
  EXPECT_TRUE(Gone("b"));
  EXPECT_NE(Status().find("two files"), std::string::npos) << Status();
}

TEST_F(OfficerKeysReload, AVanishedDirectoryLeavesThePartyWithNoKeys) {
  fs::remove_all(dir_);
  keys_->Refresh();
  EXPECT_EQ(keys_->Current()->size(), 0u);
  EXPECT_FALSE(keys_->last_reload_status().ok());
  EXPECT_NE(Status().find(dir_.string()), std::string::npos) << Status();
  EXPECT_NE(Status().find("no officer keys"), std::string::npos) << Status();
  // Back, with b only: b verifies again, a does not.
  fs::create_directories(dir_);
  WritePublicKey(dir_ / "b.EdDSA.pem", b_.get());
  keys_->Refresh();
  EXPECT_TRUE(Has("b", b_.get()));
  EXPECT_TRUE(Gone("a"));
  EXPECT_TRUE(keys_->last_reload_status().ok()) << Status();
  // A path that is no longer a directory counts as vanished.
  fs::remove_all(dir_);
  std::ofstream(dir_.string()) << "not a directory\n";
  keys_->Refresh();
  EXPECT_EQ(keys_->Current()->size(), 0u);
  fs::remove(dir_);
  fs::create_directories(dir_);
}

// A same-size rewrite in place (same inode) within the file system's mtime
// granularity: name, size, mtime and inode all unchanged, the key is not.
TEST_F(OfficerKeysReload, ASameSizeRewriteInPlaceIsNoticed) {
  const Key a2 = NewKey("ED25519");
  const fs::path path = dir_ / "a.EdDSA.pem";
  struct stat before {};
  ASSERT_EQ(stat(path.c_str(), &before), 0);
  const std::string pem = PemOf(a2.get());
  ASSERT_EQ(pem.size(), static_cast<size_t>(before.st_size));
  {
    std::ofstream out(path, std::ios::in | std::ios::out | std::ios::binary);  // No truncation, same inode.
    out << pem;
  }
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  struct stat after {};
  ASSERT_EQ(stat(path.c_str(), &after), 0);
  ASSERT_EQ(after.st_ino, before.st_ino);
  ASSERT_EQ(after.st_size, before.st_size);
  ASSERT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  ASSERT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  keys_->Refresh();
  EXPECT_TRUE(Has("a", a2.get())) << "the rewritten key was not noticed";
  EXPECT_TRUE(Has("b", b_.get()));
}

TEST_F(OfficerKeysReload, StartUpStillFailsOnAnyBadFileNamingIt) {
  std::ofstream(dir_ / "broken.EdDSA.pem") << "-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----\n";
  auto keys = ReloadingOfficerKeys::Create(dir_.string(), std::chrono::hours(1));
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.status().message().find("broken.EdDSA.pem"), std::string::npos) << keys.status();
  auto missing = ReloadingOfficerKeys::Create((dir_ / "missing").string(), std::chrono::hours(1));
  EXPECT_FALSE(missing.ok());
}

}  // namespace
}  // namespace portcullis::identity
