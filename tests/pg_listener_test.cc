// pg::Listener (gateway/pg/pg_listener.h) against a real PostgreSQL started by
// the test: notifications from another connection arrive with their channel
// and payload; after its backend is terminated it reconnects, calls
// on_reconnect and hears notifications again; on_reconnect_at_start; Stop is
// prompt, also while it waits to reconnect to a server that is down. With
// connect_in_background (and so WorkNotifier, a replica's wake-ups) Start
// succeeds while the server is down and listens once it is up.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "gateway/cluster/work_notifier.h"
#include "gateway/pg/pg_connection.h"
#include "gateway/pg/pg_listener.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/poll.h"

namespace portcullis::testing {
namespace {

class PgListenerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto c = PgCluster::Start();
    ASSERT_TRUE(c.ok()) << "PostgreSQL did not start: " << c.status();
    cluster_ = c->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << "PostgreSQL did not start";
    if (!cluster_->running()) {
      ASSERT_TRUE(cluster_->Restart().ok());
    }
    dsn_ = cluster_->dsn();
  }

  // What a listener heard.
  struct Heard {
    std::mutex mu;
    std::vector<std::pair<std::string, std::string>> notes;
    int reconnects = 0;
    size_t count() {
      std::lock_guard<std::mutex> lock(mu);
      return notes.size();
    }
    bool Has(const std::string& channel, const std::string& payload) {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& n : notes) {
        if (n.first == channel && n.second == payload) return true;
      }
      return false;
    }
    int reconnected() {
      std::lock_guard<std::mutex> lock(mu);
      return reconnects;
    }
  };

  std::unique_ptr<pg::Listener> Listen(Heard* heard, std::vector<std::string> channels) {
    pg::ListenerOptions o;
    o.dsn = dsn_;
    o.channels = std::move(channels);
    o.on_notify = [heard](const std::string& channel, const std::string& payload) {
      std::lock_guard<std::mutex> lock(heard->mu);
      heard->notes.emplace_back(channel, payload);
    };
    o.on_reconnect = [heard] {
      std::lock_guard<std::mutex> lock(heard->mu);
      ++heard->reconnects;
    };
    auto l = pg::Listener::Start(std::move(o));
    EXPECT_TRUE(l.ok()) << l.status();
    return l.ok() ? *std::move(l) : nullptr;
  }

  void Notify(const std::string& channel, const std::string& payload) {
    auto c = pg::Connection::Open(dsn_);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE((*c)->Run("SELECT pg_notify($1, $2)", {channel, payload}).ok());
  }

  static PgCluster* cluster_;
  std::string dsn_;
};
PgCluster* PgListenerTest::cluster_ = nullptr;

TEST_F(PgListenerTest, NotificationsFromAnotherConnectionArriveWithChannelAndPayload) {
  Heard heard;
  auto l = Listen(&heard, {"portcullis_work", "portcullis_streams"});
  ASSERT_NE(l, nullptr);
  EXPECT_NE(l->backend_pid(), 0);
  Notify("portcullis_work", "eu/europol");
  Notify("portcullis_streams", "uk/nca");
  Notify("not_listened", "x");
  Notify("portcullis_work", "");
  ASSERT_TRUE(WaitUntil([&] { return heard.count() >= 3; }, std::chrono::seconds(10)));
  EXPECT_TRUE(heard.Has("portcullis_work", "eu/europol"));
  EXPECT_TRUE(heard.Has("portcullis_streams", "uk/nca"));
  EXPECT_TRUE(heard.Has("portcullis_work", ""));
  EXPECT_FALSE(heard.Has("not_listened", "x"));
  EXPECT_EQ(heard.reconnected(), 0);
}

TEST_F(PgListenerTest, ReconnectsAfterItsBackendIsTerminatedAndCallsOnReconnect) {
  Heard heard;
  auto l = Listen(&heard, {"portcullis_work"});
  ASSERT_NE(l, nullptr);
  const int pid = l->backend_pid();
  ASSERT_NE(pid, 0);
  {
    auto c = pg::Connection::Open(dsn_);
    ASSERT_TRUE(c.ok()) << c.status();
    auto r = (*c)->Exec("SELECT pg_terminate_backend($1)", {pid});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->Bool(0, 0));
  }
  ASSERT_TRUE(WaitUntil([&] { return heard.reconnected() == 1; }, std::chrono::seconds(15)));
  EXPECT_EQ(l->reconnects(), 1);
  EXPECT_NE(l->backend_pid(), pid);
  Notify("portcullis_work", "after");
  EXPECT_TRUE(WaitUntil([&] { return heard.Has("portcullis_work", "after"); }, std::chrono::seconds(10)));
}

TEST_F(PgListenerTest, ReconnectsAfterAServerRestart) {
  Heard heard;
  auto l = Listen(&heard, {"portcullis_work"});
  ASSERT_NE(l, nullptr);
  ASSERT_TRUE(cluster_->Stop(/*immediate=*/true).ok());
  ASSERT_TRUE(WaitUntil([&] { return l->backend_pid() == 0; }, std::chrono::seconds(15)));
  ASSERT_TRUE(cluster_->Restart().ok());
  ASSERT_TRUE(WaitUntil([&] { return heard.reconnected() >= 1; }, std::chrono::seconds(20)));
  Notify("portcullis_work", "back");
  EXPECT_TRUE(WaitUntil([&] { return heard.Has("portcullis_work", "back"); }, std::chrono::seconds(10)));
}

TEST_F(PgListenerTest, StopIsPromptWhileListeningAndWhileWaitingToReconnect) {
  Heard heard;
  auto l = Listen(&heard, {"portcullis_work"});
  ASSERT_NE(l, nullptr);
  auto start = std::chrono::steady_clock::now();
  l->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  l->Stop();  // Idempotent.

  auto l2 = Listen(&heard, {"portcullis_work"});
  ASSERT_NE(l2, nullptr);
  ASSERT_TRUE(cluster_->Stop(/*immediate=*/true).ok());
  ASSERT_TRUE(WaitUntil([&] { return l2->backend_pid() == 0; }, std::chrono::seconds(15)));
  // Its backoff reaches seconds while the server stays down.
  WaitUntil([] { return false; }, std::chrono::milliseconds(1500));
  start = std::chrono::steady_clock::now();
  l2.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  ASSERT_TRUE(cluster_->Restart().ok());
}

TEST_F(PgListenerTest, OnReconnectAtStartRunsOnceWhenListeningBegins) {
  Heard heard;
  pg::ListenerOptions o;
  o.dsn = dsn_;
  o.channels = {"portcullis_work"};
  o.on_reconnect_at_start = true;
  o.on_reconnect = [&heard] {
    std::lock_guard<std::mutex> lock(heard.mu);
    ++heard.reconnects;
  };
  auto l = pg::Listener::Start(std::move(o));
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_TRUE(WaitUntil([&] { return heard.reconnected() == 1; }, std::chrono::seconds(5)));
  EXPECT_EQ((*l)->reconnects(), 0);
  EXPECT_FALSE(WaitUntil([&] { return heard.reconnected() > 1; }, std::chrono::milliseconds(300)));
}

TEST_F(PgListenerTest, RefusesABadChannelNameAndAnUnreachableServer) {
  pg::ListenerOptions o;
  o.dsn = dsn_;
  o.channels = {"work; DROP TABLE x"};
  auto bad = pg::Listener::Start(o);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  o.channels = {"portcullis_work"};
  o.dsn = "host=127.0.0.1 port=1 dbname=postgres user=portcullis";
  o.connect_timeout_seconds = 2;
  auto down = pg::Listener::Start(o);
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(PgListenerTest, ConnectInBackgroundStartsWhileTheServerIsDownAndListensOnceItIsUp) {
  ASSERT_TRUE(cluster_->Stop(/*immediate=*/true).ok());
  Heard heard;
  pg::ListenerOptions o;
  o.dsn = dsn_;
  o.channels = {"portcullis_work"};
  o.connect_timeout_seconds = 2;
  o.connect_in_background = true;
  o.on_reconnect_at_start = true;
  o.on_notify = [&heard](const std::string& channel, const std::string& payload) {
    std::lock_guard<std::mutex> lock(heard.mu);
    heard.notes.emplace_back(channel, payload);
  };
  o.on_reconnect = [&heard] {
    std::lock_guard<std::mutex> lock(heard.mu);
    ++heard.reconnects;
  };
  auto l = pg::Listener::Start(o);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ((*l)->backend_pid(), 0);
  EXPECT_EQ(heard.reconnected(), 0) << "on_reconnect before it listens";
  ASSERT_TRUE(cluster_->Restart().ok());
  ASSERT_TRUE(WaitUntil([&] { return heard.reconnected() == 1; }, std::chrono::seconds(15)));
  EXPECT_NE((*l)->backend_pid(), 0);
  Notify("portcullis_work", "eu/europol");
  EXPECT_TRUE(WaitUntil([&] { return heard.Has("portcullis_work", "eu/europol"); }, std::chrono::seconds(5)));
  EXPECT_FALSE(WaitUntil([&] { return heard.reconnected() > 1; }, std::chrono::milliseconds(300)));
  // Still refused: a bad channel name (no retry mends it).
  o.channels = {"Bad-Name"};
  EXPECT_EQ(pg::Listener::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
}

// A replica's wake-ups (WorkNotifier) start without a LISTEN connection (no
// crash, no error: polling is the net) and wake every party once listening.
TEST_F(PgListenerTest, WorkNotifierStartsWithoutTheDatabaseAndWakesEveryPartyOnceListening) {
  ASSERT_TRUE(cluster_->Stop(/*immediate=*/true).ok());
  std::mutex mu;
  std::vector<std::string> woken, changed;
  WorkNotifier::Options o;
  o.dsn = dsn_;
  o.connect_timeout_seconds = 2;
  o.parties = {"eu/europol", "fr/dnpaf"};
  o.wake = [&](const std::string& r) {
    std::lock_guard<std::mutex> lock(mu);
    woken.push_back(r);
  };
  o.streams_changed = [&](const std::string& p) {
    std::lock_guard<std::mutex> lock(mu);
    changed.push_back(p);
  };
  auto n = WorkNotifier::Start(std::move(o));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ((*n)->listener()->backend_pid(), 0);
  ASSERT_TRUE(cluster_->Restart().ok());
  auto count = [&](const std::vector<std::string>& v, const std::string& x) {
    std::lock_guard<std::mutex> lock(mu);
    return std::count(v.begin(), v.end(), x);
  };
  ASSERT_TRUE(WaitUntil([&] {
    return count(woken, "eu/europol") == 1 && count(woken, "fr/dnpaf") == 1 && count(changed, "fr/dnpaf") == 1;
  }, std::chrono::seconds(15)));
  Notify(WorkNotifier::kWorkChannel, "fr/dnpaf");
  EXPECT_TRUE(WaitUntil([&] { return count(woken, "fr/dnpaf") == 2; }, std::chrono::seconds(5)));
  (*n)->Stop();
  (*n)->Stop();
  // Stopped before it ever listened: prompt, and the destructor after Stop is harmless.
  ASSERT_TRUE(cluster_->Stop(/*immediate=*/true).ok());
  WorkNotifier::Options again;
  again.dsn = dsn_;
  again.connect_timeout_seconds = 1;
  auto m = WorkNotifier::Start(std::move(again));
  ASSERT_TRUE(m.ok()) << m.status();
  const auto stopping = std::chrono::steady_clock::now();
  m->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, std::chrono::seconds(3));
}

}  // namespace
}  // namespace portcullis::testing
