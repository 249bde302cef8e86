// The replica's id in the gateway's log lines (gateway/common/log.h, issue 15):
// "portcullis[<replica_id>]: " before every line once set, "portcullis: "
// without one; and a real gateway started with cluster.replica_id (here the
// older spelling audit.replica_id) logs an incident (a push that fails) under
// its id. stderr is captured into a file (dup2) for the check.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "gateway/common/log.h"
#include "tests/support/harness.h"
#include "tests/support/partners.h"

namespace portcullis::testing {
namespace {

// Sends stderr to a file until destroyed.
class CapturedStderr {
 public:
  explicit CapturedStderr(const std::string& path) : path_(path) {
    std::fflush(stderr);
    saved_ = dup(2);
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT_GE(fd, 0);
    dup2(fd, 2);
    close(fd);
  }
  ~CapturedStderr() { Restore(); }
  void Restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    saved_ = -1;
  }
  std::string Text() const {
    std::fflush(stderr);
    return ReadFile(path_);
  }

 private:
  std::string path_;
  int saved_ = -1;
};

TEST(LogReplica, EveryLineCarriesTheReplicaIdOnceSet) {
  const std::string dir = MakeTempDir("log-replica");
  {
    CapturedStderr err(dir + "/err");
    SetLogReplica("");
    LogLine("before: %d\n", 1);
    SetLogReplica("replica-7");
    LogLine("storage: %s\n", "reconnected to the database");
    EXPECT_EQ(LogPrefix(), "portcullis[replica-7]: ");
    SetLogReplica("");
    LogLine("after\n");
    err.Restore();
    EXPECT_EQ(err.Text(),
              "portcullis: before: 1\nportcullis[replica-7]: storage: reconnected to the database\nportcullis: after\n");
  }
}

TEST(LogReplica, AGatewayWithAReplicaIdLogsAnIncidentUnderIt) {
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("log-replica");
  HarnessOptions o;
  o.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));  // Nobody listens: pushes fail.
  o.replica_id = "replica-log";
  GatewayHarness h("log-replica-gw", o);
  CapturedStderr err(h.dir() + "/stderr");
  v1::Receipt r;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("LOG-1"), &r).ok());
  const bool logged = WaitUntil([&] {
    return err.Text().find("portcullis[replica-log]: push of delivery ") != std::string::npos;
  });
  err.Restore();
  EXPECT_TRUE(logged) << err.Text();
  EXPECT_EQ(err.Text().find("portcullis: push of delivery"), std::string::npos) << err.Text();
  SetLogReplica("");
}

}  // namespace
}  // namespace portcullis::testing
