// Issue 13 end to end, Submit (a real gateway, real mTLS, the dev PKI's
// identity-provider keys): every refusal of an officer assertion, each with
// its gRPC code, its reason and a refused record naming the caller's party;
// a replayed jti; OFFICER_MISMATCH; ASSERTION_REQUIRED for a `required` party;
// and the same party `optional`: no assertion accepted as claimed, a valid one
// as verified, an invalid one refused.
// The other RPCs: officer_rpcs_e2e_test.cc, officer_admin_e2e_test.cc; key
// rotation: officer_rotation_test.cc.
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_split.h"
#include "gateway/config/config_loader.h"
#include "tests/officer_e2e_support.h"

namespace portcullis::testing {
namespace {

constexpr char kBf[] = "uk/border-force";
constexpr char kBfStem[] = "parties/uk-border-force";
constexpr char kOfficer[] = "BF-LO-4471";  // SampleReferral's originating_officer.

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

HarnessOptions BorderForce(const std::string& mode) {
  HarnessOptions o;
  o.officer_assertions[kBf] = mode;
  return o;
}

grpc::Status SubmitWith(const GatewayHarness& h, const std::string& token, const v1::Envelope& envelope,
                        v1::Receipt* receipt = nullptr) {
  v1::SubmitRequest req;
  *req.mutable_envelope() = envelope;
  v1::Receipt ignored;
  return h.Client(kBfStem)->Submit(ContextWith(token).get(), req, receipt != nullptr ? receipt : &ignored);
}

// The accepted submit record of `message_id`.
AuditRecord AcceptedRecord(const GatewayHarness& h, const std::string& message_id) {
  for (const AuditRecord& r : h.AuditRecords("submit")) {
    if (r.message_id == message_id && r.outcome == "accepted") return r;
  }
  ADD_FAILURE() << "no accepted submit record of " << message_id;
  return AuditRecord();
}

// A token whose signature is another token's: header and claims changed after signing.
std::string WithSignatureOf(const Assertion& changed, const std::string& signed_token) {
  std::vector<std::string> parts = absl::StrSplit(signed_token, '.');
  return Unsigned(changed, parts.size() == 3 ? parts[2] : "");
}

struct RefusalCase {
  std::string name;
  std::function<std::string()> token;  // "" = no assertion.
  grpc::StatusCode code;
  std::string reason;
};

std::vector<RefusalCase> RefusalCases() {
  const grpc::StatusCode unauth = grpc::StatusCode::UNAUTHENTICATED;
  auto assertion = [] { return NewAssertion(kBf, kOfficer); };
  auto signed_by_bf = [](const Assertion& a) { return Sign(a, IdpKeyPath(kBf)); };
  return {
      {"no assertion, required party", [] { return std::string(); }, unauth, "ASSERTION_REQUIRED"},
      {"not a JWS", [] { return std::string("not-a-jws"); }, unauth, "ASSERTION_MALFORMED"},
      {"claims changed after signing (bad signature)",
       [=] {
         Assertion a = assertion();
         const std::string token = signed_by_bf(a);
         a.claims["sub"] = "BF-LO-0001";
         return WithSignatureOf(a, token);
       },
       unauth, "ASSERTION_SIGNATURE"},
      {"signed with another party's key under this party's kid",
       [=] { return Sign(assertion(), IdpKeyPath("eu/europol")); }, unauth, "ASSERTION_SIGNATURE"},
      {"another party's assertion, signed with its key (iss = it; keys are the caller's)",
       [] { return Sign(NewAssertion("uk/nca", kOfficer), IdpKeyPath("uk/nca")); }, unauth, "ASSERTION_SIGNATURE"},
      {"wrong alg: ES256 header on the EdDSA key",
       [=] {
         Assertion a = assertion();
         a.header["alg"] = "ES256";
         return signed_by_bf(a);
       },
       unauth, "ASSERTION_ALGORITHM"},
      {"alg none, no signature",
       [=] {
         Assertion a = assertion();
         a.header["alg"] = "none";
         return Unsigned(a);
       },
       unauth, "ASSERTION_MALFORMED"},
      {"alg none, with a signature part",
       [=] {
         Assertion a = assertion();
         a.header["alg"] = "none";
         return WithSignatureOf(a, signed_by_bf(assertion()));
       },
       unauth, "ASSERTION_ALGORITHM"},
      {"HS256 keyed with the party's public key",
       [=] {
         Assertion a = assertion();
         a.header["alg"] = "HS256";
         return SignHs256(a, ReadFile(OfficerKeysDir(kBf) + "/dev-1.EdDSA.pem"));
       },
       unauth, "ASSERTION_ALGORITHM"},
      {"no alg",
       [=] {
         Assertion a = assertion();
         a.header.erase("alg");
         return signed_by_bf(a);
       },
       unauth, "ASSERTION_ALGORITHM"},
      {"expired",
       [=] {
         Assertion a = assertion();
         a.claims["iat"] = Now() - 4000;
         a.claims["exp"] = Now() - 3600;
         return signed_by_bf(a);
       },
       unauth, "ASSERTION_EXPIRED"},
      {"no exp",
       [=] {
         Assertion a = assertion();
         a.claims.erase("exp");
         return signed_by_bf(a);
       },
       unauth, "ASSERTION_EXPIRED"},
      {"too long-lived: exp beyond 15 min + the 300 s skew",
       [=] {
         Assertion a = assertion();
         a.claims["exp"] = Now() + 900 + 300 + 120;
         return signed_by_bf(a);
       },
       unauth, "ASSERTION_TOO_LONG_LIVED"},
      {"wrong iss: another party, signed with this party's key",
       [=] {
         Assertion a = assertion();
         a.claims["iss"] = "uk/nca";
         return signed_by_bf(a);
       },
       unauth, "ASSERTION_ISSUER"},
      {"wrong aud",
       [=] {
         Assertion a = assertion();
         a.claims["aud"] = "spiffe://exchange.gov.uk/another-gateway";
         return signed_by_bf(a);
       },
       unauth, "ASSERTION_AUDIENCE"},
      {"unknown kid",
       [=] {
         Assertion a = assertion();
         a.header["kid"] = "dev-9";
         return signed_by_bf(a);
       },
       unauth, "ASSERTION_KEY_UNKNOWN"},
      {"no sub",
       [=] {
         Assertion a = assertion();
         a.claims.erase("sub");
         return signed_by_bf(a);
       },
       unauth, "ASSERTION_SUBJECT"},
      {"sub not an officer id",
       [=] {
         Assertion a = assertion();
         a.claims["sub"] = "BF LO 4471\x1b[31m";
         return signed_by_bf(a);
       },
       unauth, "ASSERTION_SUBJECT"},
      {"valid, for another officer than the envelope's",
       [] { return ValidToken(kBf, "BF-LO-9999"); }, grpc::StatusCode::PERMISSION_DENIED, "OFFICER_MISMATCH"},
  };
}

TEST(OfficerSubmit, EveryRefusalHasItsCodeReasonAndARecordOfTheCaller) {
  GatewayHarness h("officer-submit-refusals", BorderForce("required"));
  int n = 0;
  for (const RefusalCase& c : RefusalCases()) {
    SCOPED_TRACE(c.name);
    const std::string id = "OFF-REFUSED-" + std::to_string(++n);
    const std::string token = c.token();
    EXPECT_TRUE(RefusedAndAudited(h, "submit", kBf, c.code, c.reason,
                                  [&] { return SubmitWith(h, token, SampleReferral(id)); }));
    grpc::Status again = SubmitWith(h, c.token(), SampleReferral(id));  // A fresh token: the jti is new.
    EXPECT_EQ(FieldOf(again), c.reason == "OFFICER_MISMATCH" ? "envelope.originating_officer" : "authorization");
  }
  // Nothing refused was stored: the valid submit of the same id is new.
  v1::Receipt receipt;
  grpc::Status s = SubmitWith(h, ValidToken(kBf, kOfficer), SampleReferral("OFF-REFUSED-1"), &receipt);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(receipt.duplicate());
}

TEST(OfficerSubmit, AVerifiedSubmitIsRecordedAsVerifiedAndItsJtiCannotBeReplayed) {
  GatewayHarness h("officer-submit-replay", BorderForce("required"));
  const std::string token = ValidToken(kBf, kOfficer);
  v1::Receipt receipt;
  grpc::Status s = SubmitWith(h, token, SampleReferral("OFF-JTI-1"), &receipt);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(RecordsOfficer(AcceptedRecord(h, "OFF-JTI-1"), kOfficer, true));
  EXPECT_EQ(AcceptedRecord(h, "OFF-JTI-1").actor_party, kBf);
  EXPECT_TRUE(BoolFieldIs(receipt, "originating_officer_verified", true));

  // The same token again, even for another message: replayed.
  EXPECT_TRUE(RefusedAndAudited(h, "submit", kBf, grpc::StatusCode::UNAUTHENTICATED, "ASSERTION_REPLAYED",
                                [&] { return SubmitWith(h, token, SampleReferral("OFF-JTI-2")); }));
  // The envelope must still name its officer: a verified one does not fill it in.
  v1::Envelope unnamed = SampleReferral("OFF-JTI-0");
  unnamed.clear_originating_officer();
  s = SubmitWith(h, ValidToken(kBf, kOfficer), unnamed);
  EXPECT_TRUE(IsRefusal(s, grpc::StatusCode::INVALID_ARGUMENT, "FIELD_REQUIRED"));
  EXPECT_EQ(FieldOf(s), "envelope.originating_officer");
  // A token without a jti may be sent again (nothing to replay-check).
  Assertion no_jti = NewAssertion(kBf, kOfficer);
  no_jti.claims.erase("jti");
  const std::string reusable = Sign(no_jti, IdpKeyPath(kBf));
  for (const char* id : {"OFF-JTI-3", "OFF-JTI-4"}) {
    s = SubmitWith(h, reusable, SampleReferral(id));
    EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
    EXPECT_TRUE(RecordsOfficer(AcceptedRecord(h, id), kOfficer, true)) << id;
  }
}

TEST(OfficerSubmit, AnOptionalPartyMayOmitTheAssertionButNotSendABadOne) {
  GatewayHarness h("officer-submit-optional", BorderForce("optional"));
  // None: accepted, the officer recorded as claimed.
  v1::Receipt claimed;
  grpc::Status s = SubmitWith(h, "", SampleReferral("OFF-OPT-1"), &claimed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(RecordsOfficer(AcceptedRecord(h, "OFF-OPT-1"), kOfficer, false));
  EXPECT_TRUE(BoolFieldIs(claimed, "originating_officer_verified", false));
  // A valid one: accepted, verified.
  v1::Receipt verified;
  s = SubmitWith(h, ValidToken(kBf, kOfficer), SampleReferral("OFF-OPT-2"), &verified);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(RecordsOfficer(AcceptedRecord(h, "OFF-OPT-2"), kOfficer, true));
  EXPECT_TRUE(BoolFieldIs(verified, "originating_officer_verified", true));
  // An invalid one is refused as in `required` mode, never downgraded to a claim.
  for (const RefusalCase& c : RefusalCases()) {
    if (c.reason == "ASSERTION_REQUIRED") continue;
    SCOPED_TRACE(c.name);
    const std::string token = c.token();
    EXPECT_TRUE(RefusedAndAudited(h, "submit", kBf, c.code, c.reason,
                                  [&] { return SubmitWith(h, token, SampleReferral("OFF-OPT-BAD")); }));
  }
  EXPECT_EQ(h.CountAudit({"OFF-OPT-BAD", "\"outcome\":\"accepted\""}), 0);
}

// A party that has no officer_assertions at all (every test before issue 13)
// is unchanged: no assertion, claimed officer.
TEST(OfficerSubmit, APartyWithoutOfficerAssertionsIsUnchanged) {
  GatewayHarness h("officer-submit-unconfigured");
  v1::Receipt receipt;
  grpc::Status s = SubmitWith(h, "", SampleReferral("OFF-NONE-1"), &receipt);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(RecordsOfficer(AcceptedRecord(h, "OFF-NONE-1"), kOfficer, false));
}

// The harness writes officer settings only for the parties a test names, so
// every test before issue 13 runs on the same config as before.
TEST(OfficerHarness, OfficerSettingsAreWrittenOnlyForTheNamedParties) {
  const std::string dir = MakeTempDir("officer-harness-config");
  const std::string plain = ReadFile(WriteTestConfig(dir, HarnessOptions()));
  EXPECT_EQ(plain.find("officer_"), std::string::npos) << plain;

  HarnessOptions o = BorderForce("required");
  o.officer_assertions["eu/europol"] = "optional";
  o.officer_keys_dirs["eu/europol"] = dir;
  auto config = LoadConfigFile(WriteTestConfig(dir, o));
  ASSERT_TRUE(config.ok()) << config.status();
  for (const Party& p : (*config)->parties) {
    SCOPED_TRACE(p.id);
    if (p.id == kBf) {
      EXPECT_EQ(p.officer_assertions, OfficerAssertions::kRequired);
      EXPECT_EQ(p.officer_keys_dir, OfficerKeysDir(kBf));
    } else if (p.id == "eu/europol") {
      EXPECT_EQ(p.officer_assertions, OfficerAssertions::kOptional);
      EXPECT_EQ(p.officer_keys_dir, dir);
    } else {
      EXPECT_EQ(p.officer_assertions, OfficerAssertions::kNotConfigured);
      EXPECT_EQ(p.officer_keys_dir, "");
    }
  }
}

}  // namespace
}  // namespace portcullis::testing
