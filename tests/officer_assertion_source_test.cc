// Where clients take their officer assertion: file, environment, command.
#include "mtls/officer_assertion_source.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/poll.h"

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

// The pid a test command wrote to `file` (0 if none).
pid_t PidIn(const fs::path& file) {
  std::ifstream in(file);
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

// Whether process `pid` is gone (or a zombie: dead, waiting for a parent that
// may never reap it, e.g. a container's init).
bool Dead(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  if (!in) return true;
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || stat.size() < paren + 3 || stat[paren + 2] == 'Z';
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST_F(AssertionSourceTest, AtItsTimeoutTheCommandIsKilledWithEverythingItStarted) {
  const fs::path marker = dir_ / "marker", pid_file = dir_ / "pid";
  AssertionSourceOptions o;
  // A helper in the background that would create the marker 3 s later; the shell waits for it.
  o.command = absl::StrCat("(sleep 3; touch '", marker.string(), "') & echo $! > '", pid_file.string(), "'; wait");
  o.command_timeout = std::chrono::seconds(1);
  auto slow = OfficerAssertionSource::FromOptions(o)->Get();
  ASSERT_FALSE(slow.ok());
  EXPECT_NE(slow.status().message().find("did not finish within 1000 ms"), std::string::npos) << slow.status();
  const pid_t helper = PidIn(pid_file);
  ASSERT_GT(helper, 0);
  // The helper went with the shell's process group: it can never create the marker.
  EXPECT_TRUE(portcullis::testing::WaitUntil([&] { return Dead(helper); }, std::chrono::seconds(5)));
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(AssertionSourceTest, ACommandThatClosesItsOutputAndLingersEndsAtItsTimeout) {
  AssertionSourceOptions o;
  // Its pipes reach end of file at once, but the shell lives on.
  o.command = "echo a.b.c; exec >/dev/null 2>&1; sleep 30";
  o.command_timeout = std::chrono::milliseconds(300);
  const auto start = std::chrono::steady_clock::now();
  auto lingering = OfficerAssertionSource::FromOptions(o)->Get();
  EXPECT_LT(SecondsSince(start), 5.0);  // Not the 30 s of its sleep.
  ASSERT_FALSE(lingering.ok());
  EXPECT_NE(lingering.status().message().find("did not finish"), std::string::npos) << lingering.status();
}

TEST_F(AssertionSourceTest, ABackgroundHelperHoldingStdoutDoesNotHoldBackTheToken) {
  const fs::path pid_file = dir_ / "pid";
  AssertionSourceOptions o;
  // The hook starts an agent (which inherits stdout) and prints its token.
  o.command = absl::StrCat("sleep 30 & echo $! > '", pid_file.string(), "'; echo a.b.c");
  o.command_timeout = std::chrono::seconds(5);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(OfficerAssertionSource::FromOptions(o)->Get().value_or("timed out"), "a.b.c");
  EXPECT_LT(SecondsSince(start), 4.0);  // Taken when the shell exited, not at the timeout.
  const pid_t agent = PidIn(pid_file);
  ASSERT_GT(agent, 0);
  EXPECT_TRUE(portcullis::testing::WaitUntil([&] { return Dead(agent); }, std::chrono::seconds(5)));
}

TEST_F(AssertionSourceTest, TheCommandGetsNoDescriptorOfOursAndDevNullForStdin) {
  // A descriptor of ours without close-on-exec, and our stdin a file of ours.
  const int held = open((dir_ / "held").c_str(), O_CREAT | O_RDWR, 0600);
  ASSERT_GE(held, 3);
  const int saved_stdin = dup(0);
  ASSERT_GE(saved_stdin, 0);
  const int stdin_file = open((dir_ / "stdin").c_str(), O_CREAT | O_RDONLY, 0600);
  ASSERT_GE(stdin_file, 0);
  ASSERT_EQ(dup2(stdin_file, 0), 0);
  AssertionSourceOptions o;
  // The token's parts say what the shell holds: descriptor `held` and what its stdin is.
  o.command = absl::StrCat("if [ -e /proc/$$/fd/", held, " ]; then a=leaked; else a=closed; fi; ",
                           "if [ \"$(readlink /proc/$$/fd/0)\" = /dev/null ]; then b=devnull; else b=ours; fi; ",
                           "echo \"$a.$b.x\"");
  auto seen = OfficerAssertionSource::FromOptions(o)->Get();
  dup2(saved_stdin, 0);
  for (int fd : {saved_stdin, stdin_file, held}) close(fd);
  EXPECT_EQ(seen.value_or(""), "closed.devnull.x") << seen.status();
}

// A daemon blocks SIGTERM and ignores SIGPIPE in its threads (sigwait); its
// identity-provider hook gets an empty mask and default dispositions, so a
// `timeout`/`curl` inside it can be stopped as usual.
TEST_F(AssertionSourceTest, TheCommandGetsNoBlockedOrIgnoredSignalOfOurs) {
  sigset_t term, saved;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &saved), 0);
  struct sigaction ignore = {}, saved_pipe = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGPIPE, &ignore, &saved_pipe), 0);
  AssertionSourceOptions o;
  // SigBlk and SigIgn of the shell itself (/proc/$$): all zero, or the token says which.
  o.command = "b=$(sed -n 's/^SigBlk:[[:space:]]*//p' /proc/$$/status); "
              "i=$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/$$/status); echo \"$b.$i.x\"";
  auto seen = OfficerAssertionSource::FromOptions(o)->Get();
  sigaction(SIGPIPE, &saved_pipe, nullptr);
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  EXPECT_EQ(seen.value_or(""), "0000000000000000.0000000000000000.x") << seen.status();
}

TEST_F(AssertionSourceTest, NoTokenFailsTheCallUnavailableNamingTheSource) {
  AssertionSourceOptions o;
  o.command = "echo 'identity provider down' >&2; exit 3";
  std::multimap<grpc::string, grpc::string> metadata;
  grpc::Status failed = AddAssertionMetadata(*OfficerAssertionSource::FromOptions(o), &metadata);
  // Transient (docs/tools.md): an outbox keeps the file and tries again.
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(failed.error_message(), "officer assertion: the assertion command exited 3: identity provider down");
  EXPECT_TRUE(metadata.empty());
  o.command = "echo a.b.c";
  EXPECT_TRUE(AddAssertionMetadata(*OfficerAssertionSource::FromOptions(o), &metadata).ok());
  ASSERT_EQ(metadata.count("authorization"), 1u);
  EXPECT_EQ(metadata.find("authorization")->second, "Bearer a.b.c");
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
