// Officer assertions (issue 13): JWS parsing and signatures, the key
// directory and its rotation, and every refusal of the verifier.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/common/refusal.h"
#include "gateway/identity/assertion_verifier.h"
#include "gateway/identity/jws.h"
#include "gateway/identity/officer_keys.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace portcullis::identity {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kNow = 1800000000;  // Seconds.
constexpr int64_t kNowMicros = kNow * 1000000;
const char* const kParty = "uk-nca";
const char* const kGateway = "spiffe://portcullis.example/gateway";

std::shared_ptr<EVP_PKEY> NewKey(JwsAlgorithm alg) {
  EVP_PKEY* k = alg == JwsAlgorithm::kEdDSA ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                            : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free);
}

void WritePublicKey(const fs::path& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(PEM_write_PUBKEY(f, key), 1);
  std::fclose(f);
}

std::string Mint(const json& header, const json& payload, JwsAlgorithm alg, EVP_PKEY* key) {
  std::string input = absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(payload.dump()));
  absl::StatusOr<std::string> sig = SignJws(alg, key, input);
  EXPECT_TRUE(sig.ok()) << sig.status();
  return absl::StrCat(input, ".", Base64UrlEncode(sig.value_or("")));
}

json GoodClaims() {
  return json{{"iss", kParty}, {"aud", kGateway}, {"sub", "NCA-4471"}, {"exp", kNow + 300}, {"iat", kNow}};
}

class DirKeys : public OfficerKeyLookup {
 public:
  explicit DirKeys(ReloadingOfficerKeys* keys) : keys_(keys) {}
  std::shared_ptr<const OfficerKeySet> KeysOf(const std::string& party) override {
    return party == kParty ? keys_->Current() : nullptr;
  }

 private:
  ReloadingOfficerKeys* keys_;
};

class OfficerAssertionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("officer-keys-", getpid(), "-", counter_++);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ed_ = NewKey(JwsAlgorithm::kEdDSA);
    ec_ = NewKey(JwsAlgorithm::kES256);
    WritePublicKey(dir_ / "idp-2026.EdDSA.pem", ed_.get());
    WritePublicKey(dir_ / "idp-ec.ES256.pem", ec_.get());
    auto keys = ReloadingOfficerKeys::Create(dir_.string(), std::chrono::milliseconds(0));
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = std::move(*keys);
    lookup_ = std::make_unique<DirKeys>(keys_.get());
    AssertionRules rules;
    rules.audience = kGateway;
    rules.max_clock_skew_seconds = 30;
    rules.check_officer_id = [](const std::string& id) {
      return id.find(' ') == std::string::npos ? absl::OkStatus() : absl::InvalidArgumentError("space");
    };
    verifier_ = std::make_unique<AssertionVerifier>(rules, lookup_.get(), &replay_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Ed(const json& claims, json header = json{{"alg", "EdDSA"}, {"kid", "idp-2026"}, {"typ", "JWT"}}) {
    return Mint(header, claims, JwsAlgorithm::kEdDSA, ed_.get());
  }
  // The reason of a refusal, "" if accepted.
  std::string ReasonOf(const std::string& token, int64_t now_micros = kNowMicros, const std::string& party = kParty) {
    absl::StatusOr<VerifiedOfficer> v = verifier_->Verify(token, party, now_micros);
    if (v.ok()) return "";
    EXPECT_EQ(v.status().code(), absl::StatusCode::kUnauthenticated) << v.status();
    std::optional<v1::Refusal> r = ChosenRefusal(v.status());
    return r ? r->reason() : std::string("(not a refusal)");
  }

  static int counter_;
  fs::path dir_;
  std::shared_ptr<EVP_PKEY> ed_, ec_;
  std::unique_ptr<ReloadingOfficerKeys> keys_;
  std::unique_ptr<DirKeys> lookup_;
  JtiReplayCache replay_;
  std::unique_ptr<AssertionVerifier> verifier_;
};
int OfficerAssertionTest::counter_ = 0;

TEST_F(OfficerAssertionTest, EdDSAAssertionVerifiesAndNamesTheOfficer) {
  json claims = GoodClaims();
  claims["roles"] = {"liaison"};
  absl::StatusOr<VerifiedOfficer> v = verifier_->Verify(Ed(claims), kParty, kNowMicros);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->officer, "NCA-4471");
  EXPECT_EQ(v->party, kParty);
  EXPECT_EQ(v->kid, "idp-2026");
  EXPECT_EQ(v->roles, std::vector<std::string>{"liaison"});
  EXPECT_EQ(v->expires_at_seconds, kNow + 300);
}

TEST_F(OfficerAssertionTest, ES256AssertionVerifies) {
  std::string token = Mint(json{{"alg", "ES256"}, {"kid", "idp-ec"}}, GoodClaims(), JwsAlgorithm::kES256, ec_.get());
  EXPECT_EQ(ReasonOf(token), "");
}

TEST_F(OfficerAssertionTest, AudienceMayBeAnArray) {
  json claims = GoodClaims();
  claims["aud"] = {"someone-else", kGateway};
  EXPECT_EQ(ReasonOf(Ed(claims)), "");
}

TEST_F(OfficerAssertionTest, BadSignatureIsRefused) {
  std::string token = Ed(GoodClaims());
  token[token.size() - 5] = token[token.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(ReasonOf(token), "ASSERTION_SIGNATURE");
  // A payload changed after signing.
  json other = GoodClaims();
  other["sub"] = "NCA-0001";
  std::string forged = Ed(GoodClaims());
  size_t first = forged.find('.'), second = forged.find('.', first + 1);
  forged = absl::StrCat(forged.substr(0, first + 1), Base64UrlEncode(other.dump()), forged.substr(second));
  EXPECT_EQ(ReasonOf(forged), "ASSERTION_SIGNATURE");
  // Signed by a key the party did not publish, under a kid it did.
  auto stranger = NewKey(JwsAlgorithm::kEdDSA);
  EXPECT_EQ(ReasonOf(Mint(json{{"alg", "EdDSA"}, {"kid", "idp-2026"}}, GoodClaims(), JwsAlgorithm::kEdDSA,
                          stranger.get())),
            "ASSERTION_SIGNATURE");
}

TEST_F(OfficerAssertionTest, AlgorithmOtherThanTheKeysIsRefused) {
  // The EC key signs, but the token names the Ed25519 key and claims ES256.
  EXPECT_EQ(ReasonOf(Mint(json{{"alg", "ES256"}, {"kid", "idp-2026"}}, GoodClaims(), JwsAlgorithm::kES256, ec_.get())),
            "ASSERTION_ALGORITHM");
  // none: no signature at all.
  std::string none = absl::StrCat(Base64UrlEncode(json{{"alg", "none"}, {"kid", "idp-2026"}}.dump()), ".",
                                  Base64UrlEncode(GoodClaims().dump()), ".");
  EXPECT_EQ(ReasonOf(none), "ASSERTION_MALFORMED");  // An empty signature part is not a JWS.
  std::string none_sig = absl::StrCat(none, "AAAA");
  EXPECT_EQ(ReasonOf(none_sig), "ASSERTION_ALGORITHM");
  // HS256 keyed with the public key's bytes (the classic confusion attack).
  std::string hs = absl::StrCat(Base64UrlEncode(json{{"alg", "HS256"}, {"kid", "idp-2026"}}.dump()), ".",
                                Base64UrlEncode(GoodClaims().dump()), ".", Base64UrlEncode(std::string(32, 'x')));
  EXPECT_EQ(ReasonOf(hs), "ASSERTION_ALGORITHM");
  EXPECT_EQ(ReasonOf(Ed(GoodClaims(), json{{"kid", "idp-2026"}})), "ASSERTION_ALGORITHM");  // No alg.
}

TEST_F(OfficerAssertionTest, UnknownOrMissingKidIsRefused) {
  EXPECT_EQ(ReasonOf(Ed(GoodClaims(), json{{"alg", "EdDSA"}, {"kid", "retired"}})), "ASSERTION_KEY_UNKNOWN");
  EXPECT_EQ(ReasonOf(Ed(GoodClaims(), json{{"alg", "EdDSA"}})), "ASSERTION_KEY_UNKNOWN");
  // Another party's certificate presenting this party's assertion: that party has no such key.
  EXPECT_EQ(ReasonOf(Ed(GoodClaims()), kNowMicros, "eu-europol"), "ASSERTION_KEY_UNKNOWN");
}

TEST_F(OfficerAssertionTest, WrongIssuerOrAudienceIsRefused) {
  json claims = GoodClaims();
  claims["iss"] = "uk-border-force";
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_ISSUER");
  claims = GoodClaims();
  claims.erase("iss");
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_ISSUER");
  claims = GoodClaims();
  claims["aud"] = "spiffe://elsewhere/gateway";
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_AUDIENCE");
  claims.erase("aud");
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_AUDIENCE");
}

TEST_F(OfficerAssertionTest, ExpiryIsRequiredAndBounded) {
  json claims = GoodClaims();
  claims.erase("iat");  // exp against now alone (the rules with iat: LifetimeIsMeasuredFromIatWhenPresent).
  claims["exp"] = kNow - 31;  // Past, beyond the 30 s skew.
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_EXPIRED");
  claims["exp"] = kNow - 10;  // Within the skew.
  EXPECT_EQ(ReasonOf(Ed(claims)), "");
  claims.erase("exp");
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_EXPIRED");
  claims["exp"] = kNow + 900 + 30 + 1;
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_TOO_LONG_LIVED");
  claims["exp"] = kNow + 900;
  EXPECT_EQ(ReasonOf(Ed(claims)), "");
  claims["exp"] = "soon";
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_MALFORMED");
  claims["exp"] = kNow + 60;
  claims["nbf"] = kNow + 120;
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_EXPIRED");
}

TEST_F(OfficerAssertionTest, LifetimeIsMeasuredFromIatWhenPresent) {
  json claims = GoodClaims();
  // A token minted for 24 hours, presented in its last 10 minutes: exp is near,
  // but what the IdP issued is too long-lived.
  claims["iat"] = kNow - 86400 + 600;
  claims["exp"] = kNow + 600;
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_TOO_LONG_LIVED");
  // 900 s from iat is the limit, with no skew added.
  claims["iat"] = kNow - 100;
  claims["exp"] = kNow - 100 + 900;
  EXPECT_EQ(ReasonOf(Ed(claims)), "");
  claims["exp"] = kNow - 100 + 901;
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_TOO_LONG_LIVED");
  // Issued after it expires: nonsense, refused.
  claims["iat"] = kNow + 10;
  claims["exp"] = kNow + 5;
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_EXPIRED");
  // Without iat only exp against now counts (15 minutes + the skew).
  claims.erase("iat");
  claims["exp"] = kNow + 900 + 30;
  EXPECT_EQ(ReasonOf(Ed(claims)), "");
}

TEST_F(OfficerAssertionTest, SubjectMustBeAnOfficerId) {
  json claims = GoodClaims();
  claims["sub"] = "not an id";
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_SUBJECT");
  claims.erase("sub");
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_SUBJECT");
}

TEST_F(OfficerAssertionTest, JtiIsAcceptedOncePerLifetime) {
  json claims = GoodClaims();
  claims["jti"] = "a1b2c3";
  std::string token = Ed(claims);
  EXPECT_EQ(ReasonOf(token), "");
  EXPECT_EQ(ReasonOf(token), "ASSERTION_REPLAYED");
  EXPECT_EQ(replay_.size(), 1u);
  // The same jti from another party is that party's own.
  EXPECT_TRUE(replay_.Remember("eu-europol", "a1b2c3", kNow + 300, kNow).ok());
  // Forgotten once the assertion could no longer be accepted (exp + skew).
  EXPECT_TRUE(replay_.Remember(kParty, "y", kNow + 500, kNow + 331).ok());
  EXPECT_EQ(replay_.size(kParty), 1u);
}

TEST_F(OfficerAssertionTest, FullReplayCacheRefusesRatherThanForgets) {
  JtiReplayCache small(2);
  EXPECT_TRUE(small.Remember("p", "1", kNow + 100, kNow).ok());
  EXPECT_TRUE(small.Remember("p", "2", kNow + 100, kNow).ok());
  EXPECT_TRUE(absl::IsResourceExhausted(small.Remember("p", "3", kNow + 100, kNow)));
  EXPECT_TRUE(absl::IsAlreadyExists(small.Remember("p", "1", kNow + 100, kNow)));
  EXPECT_TRUE(small.Remember("p", "3", kNow + 100, kNow + 101).ok());  // The first two have expired.
}

TEST_F(OfficerAssertionTest, APartyAtItsJtiQuotaDoesNotLockOthersOut) {
  JtiReplayCache cache(3);  // 3 per party.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(cache.Remember("hostile", absl::StrCat("h", i), kNow + 900, kNow).ok());
  EXPECT_TRUE(absl::IsResourceExhausted(cache.Remember("hostile", "h3", kNow + 900, kNow)));
  // Every other party still has its whole quota.
  for (const char* party : {"uk-nca", "eu-europol"}) {
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(cache.Remember(party, absl::StrCat("j", i), kNow + 900, kNow).ok()) << party;
    }
    EXPECT_TRUE(absl::IsResourceExhausted(cache.Remember(party, "j3", kNow + 900, kNow))) << party;
  }
  EXPECT_EQ(cache.size("hostile"), 3u);
  EXPECT_EQ(cache.size(), 9u);
  // The same jti under another party is that party's own; a NUL inside a jti
  // does not make (party, jti) pairs run into each other.
  EXPECT_TRUE(absl::IsAlreadyExists(cache.Remember("uk-nca", "j0", kNow + 900, kNow)));
  JtiReplayCache pairs(4);
  EXPECT_TRUE(pairs.Remember("a", std::string("b\0c", 3), kNow + 9, kNow).ok());
  EXPECT_TRUE(pairs.Remember("a", "b", kNow + 9, kNow).ok());
  EXPECT_TRUE(pairs.Remember("a", std::string("\0c", 2), kNow + 9, kNow).ok());
  // Parties are finite: beyond max_parties a new party is refused, the known ones are not.
  JtiReplayCache two_parties(5, 2);
  EXPECT_TRUE(two_parties.Remember("p1", "x", kNow + 9, kNow).ok());
  EXPECT_TRUE(two_parties.Remember("p2", "x", kNow + 9, kNow).ok());
  EXPECT_TRUE(absl::IsResourceExhausted(two_parties.Remember("p3", "x", kNow + 9, kNow)));
  EXPECT_TRUE(two_parties.Remember("p1", "y", kNow + 9, kNow).ok());
}

TEST_F(OfficerAssertionTest, APartyAtItsQuotaIsToldToRetryOthersAreServed) {
  JtiReplayCache small(1);
  AssertionRules rules;
  rules.audience = kGateway;
  rules.max_clock_skew_seconds = 30;
  verifier_ = std::make_unique<AssertionVerifier>(rules, lookup_.get(), &small);
  // Another party's entry takes nothing of uk-nca's quota.
  EXPECT_TRUE(small.Remember("eu-europol", "e1", kNow + 300, kNow).ok());
  json claims = GoodClaims();
  claims["jti"] = "first";
  EXPECT_EQ(ReasonOf(Ed(claims)), "");
  claims["jti"] = "second";
  absl::StatusOr<VerifiedOfficer> v = verifier_->Verify(Ed(claims), kParty, kNowMicros);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnavailable) << v.status();
  std::optional<v1::Refusal> r = ChosenRefusal(v.status());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->reason(), "TEMPORARILY_UNAVAILABLE");
  EXPECT_EQ(r->field(), "authorization");
  // Once "first" can no longer be accepted (exp + skew), there is room again.
  const int64_t later = kNow + 300 + 30 + 1;
  claims["iat"] = later;
  claims["exp"] = later + 300;
  EXPECT_EQ(ReasonOf(Ed(claims), later * 1000000), "");
}

TEST_F(OfficerAssertionTest, JtiLongerThan128BytesIsMalformed) {
  json claims = GoodClaims();
  claims["jti"] = std::string(128, 'j');
  EXPECT_EQ(ReasonOf(Ed(claims)), "");
  claims["jti"] = std::string(129, 'k');
  absl::StatusOr<VerifiedOfficer> v = verifier_->Verify(Ed(claims), kParty, kNowMicros);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_MALFORMED");
  EXPECT_NE(v.status().message().find("128 bytes"), std::string::npos) << v.status();
  EXPECT_EQ(replay_.size(), 1u);  // Only the 128-byte one was remembered.
}

TEST_F(OfficerAssertionTest, MalformedTokensAreRefused) {
  for (const std::string& token : {std::string(""), std::string("abc"), std::string("a.b"), std::string("a.b.c.d"),
                                   std::string("!!!.e30.AAAA"), std::string("e30=.e30.AAAA")}) {
    EXPECT_EQ(ReasonOf(token), "ASSERTION_MALFORMED") << token;
  }
  // Header not strict JSON: comment, duplicate key, not an object.
  for (const std::string& header : {std::string("{\"alg\":\"EdDSA\" /* c */}"),
                                    std::string("{\"alg\":\"EdDSA\",\"alg\":\"none\"}"), std::string("[1]")}) {
    std::string token = absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(GoodClaims().dump()), ".AAAA");
    EXPECT_EQ(ReasonOf(token), "ASSERTION_MALFORMED") << header;
  }
  json claims = GoodClaims();
  claims["roles"] = "admin";
  EXPECT_EQ(ReasonOf(Ed(claims)), "ASSERTION_MALFORMED");
  json header{{"alg", "EdDSA"}, {"kid", "idp-2026"}, {"crit", {"exp"}}};
  EXPECT_EQ(ReasonOf(Ed(GoodClaims(), header)), "ASSERTION_MALFORMED");
}

TEST_F(OfficerAssertionTest, RotationKeepsTwoKeysAndDropsTheRetiredOne) {
  auto next = NewKey(JwsAlgorithm::kEdDSA);
  std::string old_token = Ed(GoodClaims());
  std::string new_token = Mint(json{{"alg", "EdDSA"}, {"kid", "idp-2027"}}, GoodClaims(), JwsAlgorithm::kEdDSA,
                               next.get());
  EXPECT_EQ(ReasonOf(new_token), "ASSERTION_KEY_UNKNOWN");
  WritePublicKey(dir_ / "idp-2027.EdDSA.pem", next.get());
  keys_->Refresh();
  EXPECT_EQ(ReasonOf(old_token), "");
  EXPECT_EQ(ReasonOf(new_token), "");
  fs::remove(dir_ / "idp-2026.EdDSA.pem");
  keys_->Refresh();
  EXPECT_EQ(ReasonOf(old_token), "ASSERTION_KEY_UNKNOWN");
  EXPECT_EQ(ReasonOf(new_token), "");
}

TEST_F(OfficerAssertionTest, ABadKeyFileKeepsTheKeysInForceAndSaysWhy) {
  {
    std::ofstream bad(dir_ / "broken.EdDSA.pem");
    bad << "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n";
  }
  keys_->Refresh();
  EXPECT_FALSE(keys_->last_reload_status().ok());
  EXPECT_NE(keys_->last_reload_status().message().find("broken.EdDSA.pem"), std::string::npos);
  EXPECT_EQ(ReasonOf(Ed(GoodClaims())), "");
  fs::remove(dir_ / "broken.EdDSA.pem");
  keys_->Refresh();
  EXPECT_TRUE(keys_->last_reload_status().ok());
}

TEST(OfficerKeyDirTest, FileNamesAreTheKeysConfiguration) {
  fs::path dir = fs::temp_directory_path() / absl::StrCat("officer-keydir-", getpid());
  auto load_with = [&](const std::string& name, EVP_PKEY* key) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    WritePublicKey(dir / name, key);
    return LoadOfficerKeyDir(dir.string());
  };
  auto ed = NewKey(JwsAlgorithm::kEdDSA);
  auto ec = NewKey(JwsAlgorithm::kES256);
  EXPECT_TRUE(load_with("k1.EdDSA.pem", ed.get()).ok());
  EXPECT_TRUE(load_with("k1.ES256.pem", ec.get()).ok());
  for (const char* name : {"k1.pem", "k1.HS256.pem", "k1.EdDSA.key", "bad kid.EdDSA.pem"}) {
    auto loaded = load_with(name, ed.get());
    ASSERT_FALSE(loaded.ok()) << name;
    EXPECT_NE(loaded.status().message().find(name), std::string::npos) << loaded.status();
  }
  auto mismatch = load_with("k1.ES256.pem", ed.get());  // An Ed25519 key named ES256.
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("P-256"), std::string::npos) << mismatch.status();
  ASSERT_TRUE(load_with("k1.ES256.pem", ec.get()).ok());
  WritePublicKey(dir / "k1.EdDSA.pem", ed.get());  // Two files, one kid.
  auto twice = LoadOfficerKeyDir(dir.string());
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("two files"), std::string::npos);
  EXPECT_FALSE(LoadOfficerKeyDir((dir / "missing").string()).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace portcullis::identity

namespace portcullis::identity {
namespace {

class FixedKeys : public OfficerKeyLookup {
 public:
  explicit FixedKeys(std::shared_ptr<const OfficerKeySet> keys) : keys_(std::move(keys)) {}
  std::shared_ptr<const OfficerKeySet> KeysOf(const std::string& party) override {
    return party == "uk-nca" ? keys_ : nullptr;
  }

 private:
  std::shared_ptr<const OfficerKeySet> keys_;
};

std::string RunTool(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// The development identity provider (dev PKI key + portcullis-devtoken) mints
// what the gateway's verifier accepts with the dev PKI's published key.
TEST(DevTokenTest, MintsWhatTheVerifierAcceptsWithTheDevPkiKeys) {
  const std::string pki = std::string(PORTCULLIS_BINARY_DIR) + "/test-pki";
  auto keys = LoadOfficerKeyDir(pki + "/officer-keys/uk-nca");
  ASSERT_TRUE(keys.ok()) << keys.status();
  FixedKeys lookup(*keys);
  AssertionRules rules;
  rules.audience = "spiffe://portcullis.example/gateway";
  JtiReplayCache replay;
  AssertionVerifier verifier(rules, &lookup, &replay);
  const std::string tool = std::string(PORTCULLIS_BINARY_DIR) + "/tools/portcullis-devtoken";
  std::string token = RunTool(tool + " --key " + pki + "/idp/uk-nca/dev-1.key --kid dev-1 --issuer uk-nca" +
                          " --audience spiffe://portcullis.example/gateway --officer NCA-4471 --ttl 600");
  absl::StatusOr<VerifiedOfficer> v = verifier.Verify(token, "uk-nca", absl::ToUnixMicros(absl::Now()));
  ASSERT_TRUE(v.ok()) << v.status() << " token: " << token;
  EXPECT_EQ(v->officer, "NCA-4471");
  EXPECT_FALSE(v->jti.empty());
  // Another party's key does not vouch for uk-nca's officers.
  std::string other = RunTool(tool + " --key " + pki + "/idp/uk-border-force/dev-1.key --kid dev-1 --issuer uk-nca" +
                          " --audience spiffe://portcullis.example/gateway --officer NCA-4471");
  absl::StatusOr<VerifiedOfficer> forged = verifier.Verify(other, "uk-nca", absl::ToUnixMicros(absl::Now()));
  EXPECT_FALSE(forged.ok());
  // What an assertion command's environment gives (PORTCULLIS_PARTY,
  // PORTCULLIS_AUDIENCE, PORTCULLIS_OFFICER) fills the claims, and the kid is
  // the key file's name: a config's command names only the key.
  std::string from_env = RunTool("PORTCULLIS_PARTY=uk-nca PORTCULLIS_AUDIENCE=spiffe://portcullis.example/gateway "
                                 "PORTCULLIS_OFFICER=NCA-0042 " + tool + " --key " + pki + "/idp/uk-nca/dev-1.key");
  absl::StatusOr<VerifiedOfficer> env = verifier.Verify(from_env, "uk-nca", absl::ToUnixMicros(absl::Now()));
  ASSERT_TRUE(env.ok()) << env.status() << " token: " << from_env;
  EXPECT_EQ(env->officer, "NCA-0042");
  EXPECT_EQ(env->kid, "dev-1");
  // Usage errors exit 2.
  EXPECT_EQ(WEXITSTATUS(system((tool + " --kid dev-1 >/dev/null 2>&1").c_str())), 2);
  EXPECT_EQ(WEXITSTATUS(system((tool + " --bogus >/dev/null 2>&1").c_str())), 2);
  EXPECT_EQ(WEXITSTATUS(system((tool + " --help >/dev/null 2>&1").c_str())), 0);
}

}  // namespace
}  // namespace portcullis::identity
