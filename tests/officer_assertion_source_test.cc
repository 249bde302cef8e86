// Where clients take their officer assertion: file, environment, command.
#include "mtls/officer_assertion_source.h"

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace portcullis::mtls {
namespace {

namespace fs = std::filesystem;

std::string TokenExpiringAt(int64_t exp, const std::string& more_claims = "") {
  return absl::StrCat(absl::WebSafeBase64Escape("{\"alg\":\"EdDSA\"}"), ".",
                      absl::WebSafeBase64Escape(absl::StrCat("{\"sub\":\"NCA-1\",", more_claims, "\"exp\":", exp, "}")),
                      ".c2ln");
}

// Lines in `file` (0 if missing): how often a test command ran.
int Lines(const fs::path& file) {
  std::ifstream in(file);
  int n = 0;
  for (std::string l; std::getline(in, l);) ++n;
  return n;
}

class AssertionSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("assertion-src-", getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(AssertionSourceTest, NothingConfiguredMeansNoSource) {
  EXPECT_EQ(OfficerAssertionSource::FromOptions({}), nullptr);
}

TEST_F(AssertionSourceTest, FileIsReadAtEachCall) {
  AssertionSourceOptions o;
  o.file = (dir_ / "token").string();
  auto src = OfficerAssertionSource::FromOptions(o);
  EXPECT_FALSE(src->Get().ok());  // Missing file.
  std::ofstream(o.file) << "aaa.bbb.ccc\n";
  EXPECT_EQ(src->Get().value_or(""), "aaa.bbb.ccc");
  std::ofstream(o.file) << "ddd.eee.fff";
  EXPECT_EQ(src->Get().value_or(""), "ddd.eee.fff");
  std::ofstream(o.file) << "aaa.bbb.ccc\r\nX-Injected: 1";
  EXPECT_FALSE(src->Get().ok());  // Never a header's worth of other text.
  std::ofstream(o.file) << "   \n";
  EXPECT_FALSE(src->Get().ok());
}

TEST_F(AssertionSourceTest, EnvironmentVariable) {
  AssertionSourceOptions o;
  o.env_var = "PORTCULLIS_TEST_ASSERTION";
  auto src = OfficerAssertionSource::FromOptions(o);
  unsetenv("PORTCULLIS_TEST_ASSERTION");
  auto missing = src->Get();
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("PORTCULLIS_TEST_ASSERTION"), std::string::npos);
  setenv("PORTCULLIS_TEST_ASSERTION", "x.y.z", 1);
  EXPECT_EQ(src->Get().value_or(""), "x.y.z");
}

TEST_F(AssertionSourceTest, FileComesBeforeCommandBeforeEnvironment) {
  AssertionSourceOptions o;
  o.file = (dir_ / "token").string();
  o.env_var = "PORTCULLIS_TEST_ASSERTION";
  o.command = "echo from.the.command";
  setenv("PORTCULLIS_TEST_ASSERTION", "from.the.env", 1);
  std::ofstream(o.file) << "from.the.file";
  EXPECT_EQ(OfficerAssertionSource::FromOptions(o)->Get().value_or(""), "from.the.file");
  o.file.clear();
  EXPECT_EQ(OfficerAssertionSource::FromOptions(o)->Get().value_or(""), "from.the.command");
  o.command.clear();
  EXPECT_EQ(OfficerAssertionSource::FromOptions(o)->Get().value_or(""), "from.the.env");
}

TEST_F(AssertionSourceTest, CommandTokenIsKeptUntilNearItsExpiry) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  fs::path counter = dir_ / "runs";
  AssertionSourceOptions o;
  // Each run appends a line to `counter` and prints a token valid for 10 minutes.
  o.command = absl::StrCat("echo run >> ", counter.string(), "; echo ", TokenExpiringAt(now + 600));
  auto src = OfficerAssertionSource::FromOptions(o);
  EXPECT_EQ(src->Get().value_or(""), TokenExpiringAt(now + 600));
  EXPECT_TRUE(src->Get().ok());
  EXPECT_TRUE(src->Get().ok());
  auto lines = [&] { return Lines(counter); };
  EXPECT_EQ(lines(), 1);
  // A token within refresh_before_expiry of its exp is fetched again each time.
  o.command = absl::StrCat("echo run >> ", counter.string(), "; echo ", TokenExpiringAt(now + 30));
  auto short_lived = OfficerAssertionSource::FromOptions(o);
  EXPECT_TRUE(short_lived->Get().ok());
  EXPECT_TRUE(short_lived->Get().ok());
  EXPECT_EQ(lines(), 3);
}

TEST_F(AssertionSourceTest, CommandTokenWithJtiIsNeverReused) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  fs::path counter = dir_ / "runs";
  AssertionSourceOptions o;
  // Valid for 10 minutes, but single use at the gateway (its replay cache).
  const std::string token = TokenExpiringAt(now + 600, "\"jti\" : \"7f3a\",");
  o.command = absl::StrCat("echo run >> ", counter.string(), "; echo ", token);
  auto src = OfficerAssertionSource::FromOptions(o);
  EXPECT_EQ(src->Get().value_or(""), token);
  EXPECT_EQ(src->Get().value_or(""), token);
  EXPECT_EQ(src->Get().value_or(""), token);
  EXPECT_EQ(Lines(counter), 3);  // Run again for every call.
}

TEST_F(AssertionSourceTest, CommandGetsItsContextInItsEnvironmentNotItsText) {
  AssertionSourceOptions o;
  // Prints the three variables as the token's parts (dots and base64url only).
  o.command = "printf '%s.%s.%s' \"$PORTCULLIS_OFFICER\" \"$PORTCULLIS_PARTY\" \"$PORTCULLIS_AUDIENCE\"";
  o.command_env = {{"PORTCULLIS_PARTY", "uk-nca"}, {"PORTCULLIS_AUDIENCE", "gateway"}};
  setenv("PORTCULLIS_OFFICER", "from-our-own-environment", 1);
  auto per_officer = PerOfficerAssertions::FromOptions(o);
  ASSERT_NE(per_officer, nullptr);
  EXPECT_EQ(per_officer->SourceFor("NCA-1")->Get().value_or(""), "NCA-1.uk-nca.gateway");
  EXPECT_EQ(per_officer->SourceFor("NCA-2")->Get().value_or(""), "NCA-2.uk-nca.gateway");
  // An officer id is data: shell syntax in it is never run.
  fs::path marker = dir_ / "ran";
  auto hostile = per_officer->SourceFor(absl::StrCat("x;touch ", marker.string()));
  EXPECT_FALSE(hostile->Get().ok());  // Not a token (a space and a ';'), and nothing ran.
  EXPECT_FALSE(fs::exists(marker));
  unsetenv("PORTCULLIS_OFFICER");
  EXPECT_EQ(PerOfficerAssertions::FromOptions({}), nullptr);
}

TEST_F(AssertionSourceTest, EachOfficerHasItsOwnCachedToken) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  fs::path counter = dir_ / "runs";
  AssertionSourceOptions o;
  // A jti-less token naming the officer, valid for 10 minutes.
  o.command = absl::StrCat("echo \"$PORTCULLIS_OFFICER\" >> ", counter.string(),
                           "; printf '%s.%s.sig' \"$PORTCULLIS_OFFICER\" ", "\"",
                           absl::WebSafeBase64Escape(absl::StrCat("{\"exp\":", now + 600, "}")), "\"");
  auto per_officer = PerOfficerAssertions::FromOptions(o);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(per_officer->SourceFor("NCA-1")->Get().value_or("").substr(0, 6), "NCA-1.");
    EXPECT_EQ(per_officer->SourceFor("NCA-2")->Get().value_or("").substr(0, 6), "NCA-2.");
  }
  EXPECT_EQ(Lines(counter), 2);  // Once per officer.
}

TEST_F(AssertionSourceTest, CommandFailuresSayWhatHappened) {
  AssertionSourceOptions o;
  o.command = "echo 'idp unreachable' >&2; exit 3";
  auto failed = OfficerAssertionSource::FromOptions(o)->Get();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("exited 3: idp unreachable"), std::string::npos) << failed.status();
  o.command = "true";
  EXPECT_FALSE(OfficerAssertionSource::FromOptions(o)->Get().ok());  // Printed nothing.
  o.command = "echo 'not a token'";
  EXPECT_FALSE(OfficerAssertionSource::FromOptions(o)->Get().ok());
  o.command = "sleep 5; echo a.b.c";
  o.command_timeout = std::chrono::milliseconds(200);
  auto slow = OfficerAssertionSource::FromOptions(o)->Get();
  ASSERT_FALSE(slow.ok());
  EXPECT_NE(slow.status().message().find("did not finish"), std::string::npos) << slow.status();
  o.command = "kill -9 $$";
  auto killed = OfficerAssertionSource::FromOptions(o)->Get();
  ASSERT_FALSE(killed.ok());
  EXPECT_NE(killed.status().message().find("killed by signal 9"), std::string::npos) << killed.status();
}

TEST(UnverifiedExpiryTest, ReadsExpOrZero) {
  EXPECT_EQ(UnverifiedExpiry(TokenExpiringAt(1800000123)), 1800000123);
  EXPECT_EQ(UnverifiedExpiry("a.b.c"), 0);
  EXPECT_EQ(UnverifiedExpiry("nonsense"), 0);
}

TEST(UnverifiedHasJtiTest, OnlyAJtiLessReadablePayloadSaysNo) {
  EXPECT_FALSE(UnverifiedHasJti(TokenExpiringAt(1800000123)));
  EXPECT_TRUE(UnverifiedHasJti(TokenExpiringAt(1800000123, "\"jti\":\"a\",")));
  EXPECT_FALSE(UnverifiedHasJti(TokenExpiringAt(1800000123, "\"role\":\"jti\",")));  // A value, not a claim.
  EXPECT_TRUE(UnverifiedHasJti(TokenExpiringAt(1800000123, "\"\\u006ati\":\"a\",")));  // Escaped: assume so.
  EXPECT_TRUE(UnverifiedHasJti("not a token"));
}

}  // namespace
}  // namespace portcullis::mtls
