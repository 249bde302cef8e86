// Receive streams and wake-ups across replicas (docs/cluster.md, "Waking
// other replicas", "Receive streams across replicas"): two in-process
// gateways on one real PostgreSQL database, distinct replica ids.
// - A stream open on A gets a message submitted at B at once although
//   cluster.poll_ms is 60 s (NOTIFY portcullis_work), and not within seconds
//   once A's notifier is stopped (so it was the NOTIFY, not the poll).
// - With A's LISTEN backend terminated, or its notifier stopped, delivery
//   still happens (reconnect rescan; the poll net).
// - A second stream of the party on B ends A's stream ABORTED
//   RECEIVE_STREAM_REPLACED promptly; B's stream starts at the first
//   unconfirmed delivery; confirms made on B settle what A's stream sent and
//   free A's window at once.
// - Claims (PgStreamClaims): a claim after the claims connection's backend
//   was terminated, or after that session turned read-only (25006, as on a
//   standby), succeeds on the next try on a new session; a claim waiting on
//   the database does not hold the party's lock (gRPC's callbacks take it).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/cluster/pg_stream_claims.h"
#include "gateway/pg/pg_connection.h"
#include "tests/support/harness.h"
#include "tests/support/pg_store_fixtures.h"

namespace portcullis::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Two replicas on a fresh database; poll_ms for both.
struct Replicas {
  std::string dsn;
  std::unique_ptr<GatewayHarness> a, b;
};
void StartReplicas(Replicas* r, const std::string& name, int poll_ms) {
  auto dsn = FreshPgDatabase();
  ASSERT_TRUE(dsn.ok()) << "PostgreSQL did not start: " << dsn.status();
  r->dsn = *dsn;
  HarnessOptions o;
  o.store_dsn = r->dsn;
  o.poll_ms = poll_ms;
  o.replica_id = "replica-a";
  r->a = std::make_unique<GatewayHarness>(name + "-a", o);
  o.replica_id = "replica-b";
  r->b = std::make_unique<GatewayHarness>(name + "-b", o);
  ASSERT_NE(r->a->gateway()->cluster_notify(), nullptr);
  ASSERT_NE(r->b->gateway()->cluster_notify(), nullptr);
}

// A Receive stream of uk/bsc read by a thread of its own.
class BackgroundStream {
 public:
  BackgroundStream(GatewayHarness& h, uint32_t max_unconfirmed = 0) : stub_(h.Client("parties/uk-bsc")) {
    ctx_.set_deadline(std::chrono::system_clock::now() + seconds(120));
    v1::ReceiveRequest req;
    req.set_max_unconfirmed(max_unconfirmed);
    reader_ = stub_->Receive(&ctx_, req);
    thread_ = std::thread([this] {
      v1::Delivery d;
      while (reader_->Read(&d)) {
        std::lock_guard<std::mutex> lock(mu_);
        message_ids_.push_back(d.envelope().message_id());
        delivery_ids_.push_back(d.delivery_id());
      }
      grpc::Status s = reader_->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      status_ = s;
      ended_ = true;
    });
  }
  ~BackgroundStream() {
    ctx_.TryCancel();
    thread_.join();
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return message_ids_.size();
  }
  std::vector<std::string> message_ids() {
    std::lock_guard<std::mutex> lock(mu_);
    return message_ids_;
  }
  std::string delivery_id(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return i < delivery_ids_.size() ? delivery_ids_[i] : "";
  }
  bool ended() {
    std::lock_guard<std::mutex> lock(mu_);
    return ended_;
  }
  grpc::Status status() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

 private:
  std::unique_ptr<v1::Exchange::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::Delivery>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> message_ids_;
  std::vector<std::string> delivery_ids_;
  bool ended_ = false;
  grpc::Status status_;
};

void SubmitToBsc(GatewayHarness& h, const std::string& id) {
  v1::Receipt r;
  grpc::Status s = Submit(*h.Client("parties/uk-nca"), SampleReferral(id, {"uk/bsc"}), &r);
  ASSERT_TRUE(s.ok()) << id << ": " << s.error_message();
}

grpc::Status Confirm(GatewayHarness& h, const std::string& through) {
  grpc::ClientContext ctx;
  v1::ConfirmRequest req;
  req.set_through_delivery_id(through);
  v1::ConfirmResponse resp;
  return h.Client("parties/uk-bsc")->Confirm(&ctx, req, &resp);
}

// Waits until the party's stream was claimed `generation` times in the database.
bool WaitForGeneration(const std::string& dsn, int64_t generation) {
  return WaitUntil([&] {
    auto c = pg::Connection::Open(dsn);
    if (!c.ok()) return false;
    auto r = (*c)->Exec("SELECT generation FROM receive_streams WHERE recipient = 'uk/bsc'");
    return r.ok() && r->rows() == 1 && r->Int(0, 0) == generation;
  });
}

TEST(PgReplicaStreams, AMessageSubmittedAtBReachesAStreamOnAByNotifyNotByThePoll) {
  Replicas r;
  StartReplicas(&r, "notify", /*poll_ms=*/60000);
  BackgroundStream stream(*r.a);
  ASSERT_TRUE(WaitForGeneration(r.dsn, 1));
  for (int i = 0; i < 3; ++i) {
    const auto submitted = std::chrono::steady_clock::now();
    SubmitToBsc(*r.b, "WAKE-" + std::to_string(i));
    ASSERT_TRUE(WaitUntil([&] { return stream.count() == static_cast<size_t>(i + 1); }, seconds(20), milliseconds(5)));
    // Typically milliseconds; the bound leaves room for a loaded machine under sanitizers.
    EXPECT_LT(std::chrono::steady_clock::now() - submitted, seconds(10)) << "far below poll_ms (60 s)";
  }
  // Control: without A's notifier nothing tells A's stream within seconds.
  r.a->gateway()->cluster_notify()->Stop();
  SubmitToBsc(*r.b, "UNHEARD");
  EXPECT_FALSE(WaitUntil([&] { return stream.count() == 4; }, seconds(5)));
  EXPECT_EQ(stream.message_ids(), (std::vector<std::string>{"WAKE-0", "WAKE-1", "WAKE-2"}));
}

TEST(PgReplicaStreams, DeliveryStillHappensWithTheListenerBackendTerminatedOrTheNotifierStopped) {
  Replicas r;
  StartReplicas(&r, "net", /*poll_ms=*/500);
  BackgroundStream stream(*r.a);
  ASSERT_TRUE(WaitForGeneration(r.dsn, 1));
  pg::Listener* listener = r.a->gateway()->cluster_notify()->notifier()->listener();
  const int pid = listener->backend_pid();
  ASSERT_NE(pid, 0);
  {
    auto c = pg::Connection::Open(r.dsn);
    ASSERT_TRUE(c.ok()) << c.status();
    auto t = (*c)->Exec("SELECT pg_terminate_backend($1)", {pid});
    ASSERT_TRUE(t.ok()) << t.status();
  }
  SubmitToBsc(*r.b, "WHILE-AWAY");
  EXPECT_TRUE(WaitUntil([&] { return stream.count() == 1; }, seconds(10)));
  EXPECT_TRUE(WaitUntil([&] { return listener->reconnects() == 1; }, seconds(10)));
  // No LISTEN at all: the poll (500 ms) finds it.
  r.a->gateway()->cluster_notify()->Stop();
  SubmitToBsc(*r.b, "POLLED");
  EXPECT_TRUE(WaitUntil([&] { return stream.count() == 2; }, seconds(10)));
  EXPECT_EQ(stream.message_ids(), (std::vector<std::string>{"WHILE-AWAY", "POLLED"}));
}

TEST(PgReplicaStreams, AStreamOnBReplacesTheStreamOnAAndConfirmsOnBSettleWhatASent) {
  Replicas r;
  StartReplicas(&r, "replace", /*poll_ms=*/60000);
  for (int i = 0; i < 4; ++i) SubmitToBsc(*r.a, "MSG-" + std::to_string(i));
  auto on_a = std::make_unique<BackgroundStream>(*r.a);
  ASSERT_TRUE(WaitUntil([&] { return on_a->count() == 4; }));
  // B never held a stream of uk/bsc: the confirm is rows in the database.
  ASSERT_TRUE(Confirm(*r.b, on_a->delivery_id(1)).ok());
  EXPECT_EQ(StateOf(*r.b, "MSG-1", "parties/uk-nca"), v1::DELIVERED);
  EXPECT_EQ(StateOf(*r.a, "MSG-0", "parties/uk-nca"), v1::DELIVERED);
  EXPECT_EQ(StateOf(*r.a, "MSG-2", "parties/uk-nca"), v1::ACCEPTED);

  const auto opened = std::chrono::steady_clock::now();
  BackgroundStream on_b(*r.b);
  ASSERT_TRUE(WaitUntil([&] { return on_a->ended(); }, seconds(20)));
  EXPECT_LT(std::chrono::steady_clock::now() - opened, seconds(10)) << "told by NOTIFY, not at the 60 s poll";
  EXPECT_EQ(on_a->status().error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(ReasonOf(on_a->status()), "RECEIVE_STREAM_REPLACED");
  // B's stream starts at the first unconfirmed delivery.
  ASSERT_TRUE(WaitUntil([&] { return on_b.count() == 2; }));
  EXPECT_EQ(on_b.message_ids(), (std::vector<std::string>{"MSG-2", "MSG-3"}));
  EXPECT_FALSE(on_b.ended());
  ASSERT_TRUE(WaitForGeneration(r.dsn, 2));
  // A confirm on A (which no longer holds the stream) settles what B sent.
  ASSERT_TRUE(Confirm(*r.a, on_b.delivery_id(1)).ok());
  EXPECT_EQ(StateOf(*r.b, "MSG-3", "parties/uk-nca"), v1::DELIVERED);
  // And a new message reaches B's stream, not a second one.
  SubmitToBsc(*r.a, "MSG-4");
  EXPECT_TRUE(WaitUntil([&] { return on_b.count() == 3; }, seconds(10)));
}

TEST(PgReplicaStreams, ConfirmsOnAnotherReplicaFreeTheStreamsWindowAtOnce) {
  Replicas r;
  StartReplicas(&r, "window", /*poll_ms=*/60000);
  for (int i = 0; i < 4; ++i) SubmitToBsc(*r.b, "MSG-" + std::to_string(i));
  BackgroundStream on_a(*r.a, /*max_unconfirmed=*/2);
  ASSERT_TRUE(WaitUntil([&] { return on_a.count() == 2; }));
  EXPECT_FALSE(WaitUntil([&] { return on_a.count() > 2; }, milliseconds(500))) << "the window is 2";
  const auto confirmed = std::chrono::steady_clock::now();
  ASSERT_TRUE(Confirm(*r.b, on_a.delivery_id(1)).ok());
  ASSERT_TRUE(WaitUntil([&] { return on_a.count() == 4; }, seconds(20)));
  EXPECT_LT(std::chrono::steady_clock::now() - confirmed, seconds(10)) << "announced, not found at the 60 s poll";
  EXPECT_EQ(on_a.message_ids(), (std::vector<std::string>{"MSG-0", "MSG-1", "MSG-2", "MSG-3"}));
}

// Runs `sql` (one or more statements) on a connection of its own.
void Admin(const std::string& dsn, const char* sql) {
  auto c = pg::Connection::Open(dsn);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE((*c)->RunScript(sql).ok()) << sql;
}

TEST(PgReplicaStreams, AClaimSucceedsOnTheNextTryAfterItsSessionWasTerminatedOrTurnedReadOnly) {
  auto dsn = FreshPgDatabase();
  ASSERT_TRUE(dsn.ok()) << "PostgreSQL did not start: " << dsn.status();
  PgStreamClaims claims(*dsn, "replica-a", seconds(1), 5, seconds(5));
  auto first = claims.Claim("uk/bsc");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 1);
  // Its backend terminated (a failover, an administrator): at most this try fails.
  ASSERT_NO_FATAL_FAILURE(Admin(*dsn, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE datname = current_database() AND pid <> pg_backend_pid()"));
  auto broken = claims.Claim("uk/bsc");
  if (!broken.ok()) {
    EXPECT_EQ(broken.status().code(), absl::StatusCode::kUnavailable) << broken.status();
  }
  auto again = claims.Claim("uk/bsc");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, broken.ok() ? 3 : 2);

  // The session turns read-only (as a server demoted to a standby): every
  // write answers 25006 on it, while a new session may write (here: the
  // database's own setting, which new sessions take, overrides the file's).
  {
    auto c = pg::Connection::Open(*dsn);
    ASSERT_TRUE(c.ok()) << c.status();
    auto db = (*c)->Exec("SELECT current_database()");
    ASSERT_TRUE(db.ok()) << db.status();
    const std::string alter = "ALTER DATABASE \"" + std::string(db->Text(0, 0)) +
                              "\" SET default_transaction_read_only = off";
    ASSERT_TRUE((*c)->RunScript(alter.c_str()).ok());
    ASSERT_TRUE((*c)->RunScript("ALTER SYSTEM SET default_transaction_read_only = on").ok());
    ASSERT_TRUE((*c)->RunScript("SELECT pg_reload_conf()").ok());
  }
  struct Reset {
    std::string dsn;
    ~Reset() {
      auto c = pg::Connection::Open(dsn);
      // One statement at a time: ALTER SYSTEM refuses to run in a transaction block.
      EXPECT_TRUE(c.ok()) << c.status();
      if (!c.ok()) return;
      EXPECT_TRUE((*c)->RunScript("SET default_transaction_read_only = off").ok());
      EXPECT_TRUE((*c)->RunScript("ALTER SYSTEM RESET default_transaction_read_only").ok());
      EXPECT_TRUE((*c)->RunScript("SELECT pg_reload_conf()").ok());
    }
  } reset{*dsn};
  // The claims session sees the reload at its next statement: 25006.
  absl::Status read_only;
  ASSERT_TRUE(WaitUntil([&] {
    auto c = claims.Claim("uk/bsc");
    read_only = c.status();
    return !c.ok();
  })) << "the session never turned read-only";
  EXPECT_EQ(read_only.code(), absl::StatusCode::kUnavailable) << read_only;
  EXPECT_EQ(pg::SqlState(read_only), "25006") << read_only;
  // Dropped on 25006: the next try opens a new (writable) session.
  auto after = claims.Claim("uk/bsc");
  EXPECT_TRUE(after.ok()) << after.status() << " (the read-only session was kept)";
}

TEST(PgReplicaStreams, AClaimWaitingOnTheDatabaseDoesNotHoldThePartysLock) {
  Replicas r;
  StartReplicas(&r, "unlocked", /*poll_ms=*/60000);
  // An administrator's transaction holds uk/bsc's row: a claim waits for it.
  auto holder = pg::Connection::Open(r.dsn);
  ASSERT_TRUE(holder.ok()) << holder.status();
  ASSERT_TRUE((*holder)->RunScript("INSERT INTO receive_streams (recipient, holder, generation, opened_micros) "
                                   "VALUES ('uk/bsc', 'admin', 5, 0); BEGIN; "
                                   "SELECT 1 FROM receive_streams WHERE recipient = 'uk/bsc' FOR UPDATE").ok());
  BackgroundStream stream(*r.a);
  // A's pump is in Claim, waiting for the row lock.
  ASSERT_TRUE(WaitUntil([&] {
    auto c = pg::Connection::Open(r.dsn);
    if (!c.ok()) return false;
    auto w = (*c)->Exec("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND query LIKE '%receive_streams%'");
    return w.ok() && w->Int(0, 0) == 1;
  })) << "the claim is not waiting";
  // Meanwhile what takes the party's lock (as gRPC's callbacks and Confirmed do) is not held up.
  PullStreams* streams = r.a->gateway()->dispatcher()->pull_streams();
  const auto start = std::chrono::steady_clock::now();
  auto slowest = std::chrono::steady_clock::duration::zero();
  while (std::chrono::steady_clock::now() - start < milliseconds(500)) {
    const auto asked = std::chrono::steady_clock::now();
    EXPECT_EQ(streams->unconfirmed("uk/bsc"), 0u);
    slowest = std::max(slowest, std::chrono::steady_clock::now() - asked);
  }
  EXPECT_LT(std::chrono::duration_cast<milliseconds>(slowest).count(), 250) << "ms: waited for the claim";
  ASSERT_TRUE((*holder)->RunScript("COMMIT").ok());
  // The claim goes through (or, had it timed out, is made again when the submission wakes the party).
  SubmitToBsc(*r.b, "AFTER-WAIT");
  EXPECT_TRUE(WaitForGeneration(r.dsn, 6));
  EXPECT_TRUE(WaitUntil([&] { return stream.count() == 1; }, seconds(10)));
}

}  // namespace
}  // namespace portcullis::testing
