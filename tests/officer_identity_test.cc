// The gateway's side of officer assertions: per-party keys from the config,
// required vs optional, the authorization header, and OFFICER_MISMATCH.
#include "gateway/service/officer_identity.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"
#include "gateway/identity/jws.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace portcullis {
namespace {

namespace fs = std::filesystem;
using identity::JwsAlgorithm;

constexpr int64_t kNow = 1800000000;
const char* const kAudience = "spiffe://exchange.gov.uk/gateway";

std::string ReasonOf(const absl::Status& s) {
  std::optional<v1::Refusal> r = ChosenRefusal(s);
  return r ? r->reason() : std::string("(not a refusal: ") + s.ToString() + ")";
}

class OfficerIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("officer-identity-", getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "nca");
    fs::create_directories(dir_ / "bf");
    key_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
    FILE* f = std::fopen((dir_ / "nca" / "k1.EdDSA.pem").c_str(), "w");
    ASSERT_NE(f, nullptr);
    PEM_write_PUBKEY(f, key_.get());
    std::fclose(f);
    config_.limits.max_clock_skew_seconds = 60;
    config_.parties.push_back(PartyWith("uk/nca", OfficerAssertions::kRequired, (dir_ / "nca").string()));
    config_.parties.push_back(PartyWith("uk/border-force", OfficerAssertions::kOptional, (dir_ / "bf").string()));
    config_.parties.push_back(PartyWith("eu/europol", OfficerAssertions::kNotConfigured, ""));
    auto id = OfficerIdentity::Create(config_, kAudience);
    ASSERT_TRUE(id.ok()) << id.status();
    id_ = *std::move(id);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static Party PartyWith(const std::string& id, OfficerAssertions mode, const std::string& dir) {
    Party p;
    p.id = id;
    p.officer_assertions = mode;
    p.officer_keys_dir = dir;
    return p;
  }
  std::string Token(const std::string& iss, const std::string& sub) {
    nlohmann::json header{{"alg", "EdDSA"}, {"kid", "k1"}};
    nlohmann::json claims{{"iss", iss}, {"aud", kAudience}, {"sub", sub}, {"exp", kNow + 300}};
    std::string input = absl::StrCat(identity::Base64UrlEncode(header.dump()), ".",
                                     identity::Base64UrlEncode(claims.dump()));
    return absl::StrCat("Bearer ", input, ".",
                        identity::Base64UrlEncode(identity::SignJws(JwsAlgorithm::kEdDSA, key_.get(), input).value()));
  }
  absl::StatusOr<std::optional<identity::VerifiedOfficer>> Verify(std::vector<std::string> header, int party) {
    return id_->VerifyHeader(header, config_.parties[party], kNow * 1000000);
  }

  fs::path dir_;
  std::shared_ptr<EVP_PKEY> key_;
  Config config_;
  std::unique_ptr<OfficerIdentity> id_;
};

TEST_F(OfficerIdentityTest, RequiredPartyWithoutAnAssertionIsRefused) {
  auto v = Verify({}, 0);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonOf(v.status()), "ASSERTION_REQUIRED");
}

TEST_F(OfficerIdentityTest, OptionalOrUnconfiguredPartyMayCallWithoutOne) {
  auto optional = Verify({}, 1);
  ASSERT_TRUE(optional.ok());
  EXPECT_FALSE(optional->has_value());
  auto none = Verify({}, 2);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(OfficerIdentityTest, AVerifiedAssertionNamesTheOfficer) {
  auto v = Verify({Token("uk/nca", "NCA-4471")}, 0);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ((*v)->officer, "NCA-4471");
}

TEST_F(OfficerIdentityTest, AnAssertionThatDoesNotVerifyIsRefusedEvenWhereOptional) {
  // Border Force (optional) has no key k1: an NCA-signed assertion is not its.
  EXPECT_EQ(ReasonOf(Verify({Token("uk/border-force", "BF-1")}, 1).status()), "ASSERTION_KEY_UNKNOWN");
  // Europol has no keys at all.
  EXPECT_EQ(ReasonOf(Verify({Token("eu/europol", "EU-1")}, 2).status()), "ASSERTION_KEY_UNKNOWN");
  // NCA's key, but issued for another party.
  EXPECT_EQ(ReasonOf(Verify({Token("uk/border-force", "NCA-1")}, 0).status()), "ASSERTION_ISSUER");
  // The sub must be an officer id.
  EXPECT_EQ(ReasonOf(Verify({Token("uk/nca", "not an id")}, 0).status()), "ASSERTION_SUBJECT");
}

TEST_F(OfficerIdentityTest, TheHeaderIsOneBearerToken) {
  std::string token = Token("uk/nca", "NCA-1");
  EXPECT_EQ(ReasonOf(Verify({token.substr(7)}, 0).status()), "ASSERTION_MALFORMED");  // No "Bearer ".
  EXPECT_EQ(ReasonOf(Verify({token, token}, 0).status()), "ASSERTION_MALFORMED");
  // The scheme is case-insensitive (RFC 7235): "bearer" from grpcurl verifies.
  auto lower = Verify({"bearer " + token.substr(7)}, 0);
  ASSERT_TRUE(lower.ok()) << lower.status();
  EXPECT_EQ((*lower)->officer, "NCA-1");
}

TEST_F(OfficerIdentityTest, ARequestsOfficerMustBeTheVerifiedOne) {
  auto v = Verify({Token("uk/nca", "NCA-4471")}, 0);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(CheckOfficerClaim(*v, "NCA-4471", "envelope.originating_officer").ok());
  EXPECT_TRUE(CheckOfficerClaim(*v, "", "officer").ok());
  absl::Status mismatch = CheckOfficerClaim(*v, "NCA-0001", "envelope.originating_officer");
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(mismatch), "OFFICER_MISMATCH");
  EXPECT_TRUE(CheckOfficerClaim(std::nullopt, "ANYONE-1", "officer").ok());  // Claimed, not verified.
}

TEST_F(OfficerIdentityTest, AKeyDirectoryThatDoesNotLoadStopsTheStartNamingTheParty) {
  std::ofstream(dir_ / "bf" / "bad.pem") << "x";
  auto id = OfficerIdentity::Create(config_, kAudience);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("uk/border-force"), std::string::npos) << id.status();
  EXPECT_NE(id.status().message().find("bad.pem"), std::string::npos) << id.status();
}

}  // namespace
}  // namespace portcullis
