// portcullis_assertion_bench: what verifying an officer assertion costs the
// gateway per call (docs/benchmarks.md, "Issue 13"), beside the raw Ed25519
// signature check it contains, so that the rest (base64url, two strict JSON
// parses, the claim checks, the jti cache) is visible as the difference.
//
//   build/bench/portcullis_assertion_bench
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <ctime>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gateway/identity/assertion_verifier.h"
#include "gateway/identity/jws.h"
#include "gateway/identity/officer_keys.h"
#include "nlohmann/json.hpp"

namespace portcullis::identity {
namespace {

constexpr char kAudience[] = "spiffe://exchange.gov.uk/gateway";

class OneParty : public OfficerKeyLookup {
 public:
  explicit OneParty(std::shared_ptr<EVP_PKEY> key) {
    std::map<std::string, OfficerKey> keys;
    keys["dev-1"] = OfficerKey{"dev-1", JwsAlgorithm::kEdDSA, std::move(key)};
    set_ = std::make_shared<OfficerKeySet>(std::move(keys));
  }
  std::shared_ptr<const OfficerKeySet> KeysOf(const std::string&) override { return set_; }

 private:
  std::shared_ptr<const OfficerKeySet> set_;
};

struct Fixture {
  Fixture() : key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free), lookup(key) {
    rules.audience = kAudience;
    rules.max_clock_skew_seconds = 300;
    rules.check_officer_id = [](const std::string&) { return absl::OkStatus(); };
  }
  // A token like the demo's: header, the five claims, optionally a jti.
  std::string Token(const std::string& jti, std::string* input = nullptr, std::string* signature = nullptr) const {
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    nlohmann::json header{{"alg", "EdDSA"}, {"kid", "dev-1"}, {"typ", "JWT"}};
    nlohmann::json claims{{"iss", "uk/border-force"}, {"aud", kAudience}, {"sub", "BF-LO-4471"},
                          {"iat", now},               {"exp", now + 300}};
    if (!jti.empty()) claims["jti"] = jti;
    std::string in = absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(claims.dump()));
    std::string sig = SignJws(JwsAlgorithm::kEdDSA, key.get(), in).value();
    if (input != nullptr) *input = in;
    if (signature != nullptr) *signature = sig;
    return absl::StrCat(in, ".", Base64UrlEncode(sig));
  }
  std::shared_ptr<EVP_PKEY> key;
  OneParty lookup;
  AssertionRules rules;
};

int64_t NowMicros() { return static_cast<int64_t>(std::time(nullptr)) * 1000000; }

// The signature alone (OpenSSL's Ed25519 verification of the same bytes).
void BM_Ed25519SignatureOnly(benchmark::State& state) {
  Fixture f;
  std::string input, signature;
  f.Token("", &input, &signature);
  for (auto _ : state) {
    benchmark::DoNotOptimize(VerifyJwsSignature(JwsAlgorithm::kEdDSA, f.key.get(), input, signature));
  }
}
BENCHMARK(BM_Ed25519SignatureOnly);

// A whole verification of a token without jti (reusable, e.g. a liaison session's).
void BM_VerifyWithoutJti(benchmark::State& state) {
  Fixture f;
  JtiReplayCache replay;
  AssertionVerifier verifier(f.rules, &f.lookup, &replay);
  const std::string token = f.Token("");
  for (auto _ : state) {
    auto v = verifier.Verify(token, "uk/border-force", NowMicros());
    if (!v.ok()) state.SkipWithError(std::string(v.status().message()).c_str());
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_VerifyWithoutJti);

// With a fresh jti every call (one-time tokens): verification plus the replay
// cache's insert. Tokens are minted outside the timing.
void BM_VerifyWithJti(benchmark::State& state) {
  Fixture f;
  JtiReplayCache replay;
  AssertionVerifier verifier(f.rules, &f.lookup, &replay);
  int64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string token = f.Token(absl::StrCat("jti-", n++));
    state.ResumeTiming();
    auto v = verifier.Verify(token, "uk/border-force", NowMicros());
    if (!v.ok()) state.SkipWithError(std::string(v.status().message()).c_str());
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_VerifyWithJti)->Iterations(50000);

}  // namespace
}  // namespace portcullis::identity

BENCHMARK_MAIN();
