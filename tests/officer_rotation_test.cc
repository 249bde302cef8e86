// Issue 13 end to end: an identity provider's key rotation without a restart
// (docs/officer-identity.md, "Keys per party"). The party's key directory
// holds dev-1; dev-2 is published beside it and, within the reload interval,
// tokens of both verify; dev-1 is removed and its tokens become
// ASSERTION_KEY_UNKNOWN while dev-2's still verify; a broken key file dropped
// into the directory is reported and skipped, the other keys staying in force.
// A reload never keeps a key whose file is gone: a key removed in the same
// change as a broken file arrives is refused all the same, and a key
// directory that vanished leaves the party with no keys.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/officer_e2e_support.h"

namespace portcullis::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kBf[] = "uk/border-force";
constexpr char kOfficer[] = "BF-LO-4471";

// Everything written to stderr (fd 2) goes to `path` while this lives: the
// gateway reports a key directory that does not load there.
class StderrToFile {
 public:
  explicit StderrToFile(const std::string& path) {
    std::fflush(stderr);
    saved_ = dup(2);
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT_GE(fd, 0) << path;
    if (fd >= 0) {
      dup2(fd, 2);
      close(fd);
    }
  }
  ~StderrToFile() {
    std::fflush(stderr);
    if (saved_ >= 0) {
      dup2(saved_, 2);
      close(saved_);
    }
  }
  StderrToFile(const StderrToFile&) = delete;
  StderrToFile& operator=(const StderrToFile&) = delete;

 private:
  int saved_ = -1;
};

class OfficerRotation : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = MakeTempDir("officer-rotation-keys");
    idp_ = MakeTempDir("officer-rotation-idp");
    fs::copy_file(OfficerKeysDir(kBf) + "/dev-1.EdDSA.pem", keys_ + "/dev-1.EdDSA.pem");
    HarnessOptions o;
    o.officer_assertions[kBf] = "required";
    o.officer_keys_dirs[kBf] = keys_;
    h_ = std::make_unique<GatewayHarness>("officer-rotation", o);
    // The identity provider's next keys, not yet published to the gateway.
    for (const char* kid : {"dev-2", "dev-4"}) {
      ASSERT_NO_FATAL_FAILURE(WriteEd25519KeyPair(idp_ + "/" + kid + ".key", idp_ + "/" + kid + ".EdDSA.pem"));
    }
  }

  // Puts the public half of `kid` into the party's key directory (whole:
  // copied to a hidden name, which the gateway skips, then renamed).
  void Publish(const std::string& kid) {
    const std::string hidden = keys_ + "/." + kid + ".tmp";
    fs::copy_file(idp_ + "/" + kid + ".EdDSA.pem", hidden);
    fs::rename(hidden, keys_ + "/" + kid + ".EdDSA.pem");
  }

  // A Submit of a new message with a fresh token naming key `kid`, signed
  // with the private key of `signer` (default: kid's own).
  grpc::Status SubmitWithKey(const std::string& kid, std::string signer = "") {
    if (signer.empty()) signer = kid;
    Assertion a = NewAssertion(kBf, kOfficer);
    a.header["kid"] = kid;
    const std::string token = Sign(a, signer == "dev-1" ? IdpKeyPath(kBf) : idp_ + "/" + signer + ".key");
    v1::SubmitRequest req;
    *req.mutable_envelope() = SampleReferral("OFF-ROT-" + std::to_string(++sent_));
    v1::Receipt receipt;
    return h_->Client("parties/uk-border-force")->Submit(ContextWith(token).get(), req, &receipt);
  }
  bool Verifies(const std::string& kid) { return SubmitWithKey(kid).ok(); }
  bool Unknown(const std::string& kid) {
    return IsRefusal(SubmitWithKey(kid), grpc::StatusCode::UNAUTHENTICATED, "ASSERTION_KEY_UNKNOWN");
  }

  std::string keys_, idp_;
  std::unique_ptr<GatewayHarness> h_;
  int sent_ = 0;
};

TEST_F(OfficerRotation, TheNewKeyJoinsTheOldOneIsRetiredAndABrokenFileChangesNothing) {
  ASSERT_TRUE(Verifies("dev-1"));
  EXPECT_TRUE(IsRefusal(SubmitWithKey("dev-2"), grpc::StatusCode::UNAUTHENTICATED, "ASSERTION_KEY_UNKNOWN"))
      << "dev-2 is not published yet";

  // Publish dev-2: both keys are valid at once.
  Publish("dev-2");
  ASSERT_TRUE(WaitUntil([&] { return Verifies("dev-2"); }, std::chrono::seconds(15)))
      << "dev-2 was not picked up within the reload interval";
  grpc::Status s = SubmitWithKey("dev-1");
  EXPECT_TRUE(s.ok()) << "dev-1 during the rotation: " << s.error_message();
  s = SubmitWithKey("dev-2");
  EXPECT_TRUE(s.ok()) << "dev-2 during the rotation: " << s.error_message();
  EXPECT_TRUE(RecordsOfficer(LastRecord(*h_, "submit"), kOfficer, true));

  // Retire dev-1.
  fs::remove(keys_ + "/dev-1.EdDSA.pem");
  ASSERT_TRUE(WaitUntil([&] { return Unknown("dev-1"); }, std::chrono::seconds(15)))
      << "dev-1 was still accepted after its file was removed";
  s = SubmitWithKey("dev-2");
  EXPECT_TRUE(s.ok()) << "dev-2 after dev-1 was retired: " << s.error_message();
  const std::string log = h_->dir() + "/stderr-broken-key.txt";
  {
    // A broken key file: the gateway skips it and says so (naming the file);
    // dev-2 stays in force.
    StderrToFile capture(log);
    std::ofstream(keys_ + "/dev-3.EdDSA.pem") << "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n";
    ASSERT_TRUE(WaitUntil(
        [&] {
          const std::string text = ReadFile(log);
          return text.find("officer keys of uk/border-force") != std::string::npos &&
                 text.find("dev-3.EdDSA.pem") != std::string::npos;
        },
        std::chrono::seconds(15)))
        << "the gateway did not report the broken key file: " << ReadFile(log);
    s = SubmitWithKey("dev-2");
    EXPECT_TRUE(s.ok()) << "dev-2 with a broken file beside it: " << s.error_message();
    EXPECT_TRUE(Unknown("dev-1")) << "a failed reload brought a retired key back";
    EXPECT_TRUE(IsRefusal(SubmitWithKey("dev-3", "dev-2"), grpc::StatusCode::UNAUTHENTICATED,
                          "ASSERTION_KEY_UNKNOWN"));
  }
  // The broken file removed: dev-2 alone, as before, and a new key joins.
  fs::remove(keys_ + "/dev-3.EdDSA.pem");
  Publish("dev-4");
  ASSERT_TRUE(WaitUntil([&] { return Verifies("dev-4"); }, std::chrono::seconds(15)))
      << "a new key was not picked up once the broken file was gone";
  s = SubmitWithKey("dev-2");
  EXPECT_TRUE(s.ok()) << s.error_message();
}

// An IdP key is compromised: the operator deletes its file and, in the same
// change, the replacement arrives half-copied and another copy under a bad
// name. The compromised key is refused within the reload interval anyway.
TEST_F(OfficerRotation, ARemovedKeyIsRefusedEvenWhenABrokenFileArrivesInTheSameChange) {
  Publish("dev-2");
  ASSERT_TRUE(WaitUntil([&] { return Verifies("dev-2"); }, std::chrono::seconds(15)));
  ASSERT_TRUE(Verifies("dev-1"));
  const std::string pem = ReadFile(idp_ + "/dev-4.EdDSA.pem");
  ASSERT_FALSE(pem.empty());
  const std::string log = h_->dir() + "/stderr-compromised.txt";
  StderrToFile capture(log);
  fs::remove(keys_ + "/dev-1.EdDSA.pem");
  std::ofstream(keys_ + "/dev-4.EdDSA.pem") << pem.substr(0, pem.size() / 2);
  fs::copy_file(idp_ + "/dev-4.EdDSA.pem", keys_ + "/dev-4-replacement.pem");
  ASSERT_TRUE(WaitUntil([&] { return Unknown("dev-1"); }, std::chrono::seconds(15)))
      << "the deleted (compromised) key dev-1 was still accepted";
  grpc::Status s = SubmitWithKey("dev-2");
  EXPECT_TRUE(s.ok()) << "dev-2 beside the broken files: " << s.error_message();
  EXPECT_TRUE(Unknown("dev-4")) << "a half-copied key file was used";
  ASSERT_TRUE(WaitUntil(
      [&] {
        const std::string text = ReadFile(log);
        return text.find("dev-4.EdDSA.pem") != std::string::npos &&
               text.find("dev-4-replacement.pem") != std::string::npos;
      },
      std::chrono::seconds(15)))
      << "the gateway did not name the skipped files: " << ReadFile(log);
}

// The party's key directory vanishes: no key of it is known to be published
// any more, so every token of the party is refused until it is back.
TEST_F(OfficerRotation, AVanishedKeyDirectoryRefusesEveryTokenOfTheParty) {
  Publish("dev-2");
  ASSERT_TRUE(WaitUntil([&] { return Verifies("dev-2"); }, std::chrono::seconds(15)));
  const std::string log = h_->dir() + "/stderr-vanished.txt";
  {
    StderrToFile capture(log);
    fs::remove_all(keys_);
    ASSERT_TRUE(WaitUntil([&] { return Unknown("dev-1") && Unknown("dev-2"); }, std::chrono::seconds(15)))
        << "tokens of a party whose key directory is gone were still accepted";
    EXPECT_TRUE(Unknown("dev-1"));
    EXPECT_TRUE(Unknown("dev-2"));
    ASSERT_TRUE(WaitUntil([&] { return ReadFile(log).find("no officer keys") != std::string::npos; },
                          std::chrono::seconds(15)))
        << "the gateway did not say the party has no keys: " << ReadFile(log);
  }
  // Back with dev-2 only.
  fs::create_directories(keys_);
  Publish("dev-2");
  ASSERT_TRUE(WaitUntil([&] { return Verifies("dev-2"); }, std::chrono::seconds(15)))
      << "the directory was not read again once back";
  EXPECT_TRUE(Unknown("dev-1"));
}

// dev-1's file rewritten in place with another key of the same size, its
// mtime put back (a rewrite within the file system's mtime granularity): the
// gateway compares contents, so the new key is in force within the interval.
TEST_F(OfficerRotation, ASameSizeInPlaceRewriteIsNoticed) {
  ASSERT_TRUE(Verifies("dev-1"));
  const std::string path = keys_ + "/dev-1.EdDSA.pem";
  const std::string replacement = ReadFile(idp_ + "/dev-2.EdDSA.pem");  // dev-2's public key, under kid dev-1.
  struct stat before {};
  ASSERT_EQ(stat(path.c_str(), &before), 0);
  ASSERT_EQ(replacement.size(), static_cast<size_t>(before.st_size));
  {
    std::fstream out(path, std::ios::in | std::ios::out | std::ios::binary);  // Same inode, no truncation.
    out << replacement;
  }
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  struct stat after {};
  ASSERT_EQ(stat(path.c_str(), &after), 0);
  ASSERT_EQ(after.st_ino, before.st_ino);
  ASSERT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  ASSERT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  ASSERT_TRUE(WaitUntil([&] { return SubmitWithKey("dev-1", "dev-2").ok(); }, std::chrono::seconds(15)))
      << "the rewritten key was not noticed";
  EXPECT_TRUE(IsRefusal(SubmitWithKey("dev-1"), grpc::StatusCode::UNAUTHENTICATED, "ASSERTION_SIGNATURE"))
      << "the key that was overwritten still verifies";
}

}  // namespace
}  // namespace portcullis::testing
