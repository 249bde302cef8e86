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

std::string TokenExpiringAt(int64_t exp) {
  return absl::StrCat(absl::WebSafeBase64Escape("{\"alg\":\"EdDSA\"}"), ".",
                      absl::WebSafeBase64Escape(absl::StrCat("{\"sub\":\"NCA-1\",\"exp\":", exp, "}")), ".c2ln");
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

TEST_F(AssertionSourceTest, FileComesBeforeEnvironmentAndCommand) {
  AssertionSourceOptions o;
  o.file = (dir_ / "token").string();
  o.env_var = "PORTCULLIS_TEST_ASSERTION";
  o.command = "echo from.the.command";
  setenv("PORTCULLIS_TEST_ASSERTION", "from.the.env", 1);
  std::ofstream(o.file) << "from.the.file";
  EXPECT_EQ(OfficerAssertionSource::FromOptions(o)->Get().value_or(""), "from.the.file");
  o.file.clear();
  EXPECT_EQ(OfficerAssertionSource::FromOptions(o)->Get().value_or(""), "from.the.env");
  o.env_var.clear();
  EXPECT_EQ(OfficerAssertionSource::FromOptions(o)->Get().value_or(""), "from.the.command");
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
  auto lines = [&] {
    std::ifstream in(counter);
    int n = 0;
    for (std::string l; std::getline(in, l);) ++n;
    return n;
  };
  EXPECT_EQ(lines(), 1);
  // A token within refresh_before_expiry of its exp is fetched again each time.
  o.command = absl::StrCat("echo run >> ", counter.string(), "; echo ", TokenExpiringAt(now + 30));
  auto short_lived = OfficerAssertionSource::FromOptions(o);
  EXPECT_TRUE(short_lived->Get().ok());
  EXPECT_TRUE(short_lived->Get().ok());
  EXPECT_EQ(lines(), 3);
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
}

TEST(UnverifiedExpiryTest, ReadsExpOrZero) {
  EXPECT_EQ(UnverifiedExpiry(TokenExpiringAt(1800000123)), 1800000123);
  EXPECT_EQ(UnverifiedExpiry("a.b.c"), 0);
  EXPECT_EQ(UnverifiedExpiry("nonsense"), 0);
}

}  // namespace
}  // namespace portcullis::mtls
