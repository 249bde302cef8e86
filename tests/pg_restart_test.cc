// The database restarts under load (issue 14, docs/storage.md "Crash and
// restart tests"): an in-process gateway on a database of a real throw-away
// PostgreSQL cluster started here, clients submitting the whole time.
//   - The server crashes (pg_ctl stop -m immediate) and starts again: while it
//     is down submits are refused UNAVAILABLE with a machine-readable reason
//     and never get a receipt, gRPC health says NOT_SERVING within seconds;
//     after the restart health is SERVING and submits succeed again without
//     restarting the gateway.
//   - Only the writing connection dies (pg_terminate_backend): the same
//     recovery.
// In both, every receipt (before, during, after) is in the database with its
// acceptance record, a refusal other than OUTCOME_UNKNOWN left nothing
// stored, each OUTCOME_UNKNOWN resubmitted gets its original receipt or is
// accepted now (never lost, never twice), and the exported chain verifies.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include "gateway/pg/pg_connection.h"
#include "tests/support/harness.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/pg_receipts.h"

namespace portcullis::testing {
namespace {

using std::chrono::seconds;
const std::set<std::string> kUnavailableReasons = {"AUDIT_UNAVAILABLE", "STORE_UNAVAILABLE", "OUTCOME_UNKNOWN"};

// grpc.health.v1.Health/Check (the gateway's default health service) with an
// empty request: "\x08\x01" is SERVING, "\x08\x02" NOT_SERVING.
std::string HealthOf(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
  grpc::ByteBuffer request(nullptr, 0), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(s); });
  grpc::Status s = done.get_future().get();
  if (!s.ok()) return "error " + std::to_string(s.error_code());
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const auto& slice : slices) bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}
std::string HealthOf(GatewayHarness& h) { return HealthOf(h.Channel("parties/uk-nca")); }
const std::string kServing("\x08\x01", 2), kNotServing("\x08\x02", 2);

// One Submit as a client saw it; phases are the test's, when it started and ended.
struct Outcome {
  v1::Envelope envelope;
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string reason;
  v1::Receipt receipt;
  int started = 0, ended = 0;
};

// Clients submitting new messages until stopped, each on its own channel.
class Load {
 public:
  Load(GatewayHarness& h, int clients, const std::atomic<int>& phase) : phase_(phase) {
    for (int c = 0; c < clients; ++c) {
      threads_.emplace_back([this, &h, c] {
        auto stub = h.Client("parties/uk-border-force");
        for (int seq = 0; !stop_; ++seq) {
          Outcome o;
          o.envelope = SampleReferral("R-" + std::to_string(c) + "-" + std::to_string(seq));
          o.started = phase_;
          grpc::Status s = Submit(*stub, o.envelope, &o.receipt);
          o.ended = phase_;
          o.code = s.error_code();
          o.reason = s.ok() ? "" : ReasonOf(s);
          std::lock_guard<std::mutex> lock(mu_);
          outcomes_.push_back(std::move(o));
          // Pacing only: refusals come back at once while the database is down.
          if (!s.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      });
    }
  }
  ~Load() { Stop(); }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  // How many calls that started in `phase` ended with a receipt (ok) or without.
  int Count(int phase, bool ok) const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(std::count_if(outcomes_.begin(), outcomes_.end(), [&](const Outcome& o) {
      return o.started == phase && (o.code == grpc::StatusCode::OK) == ok;
    }));
  }
  std::vector<Outcome> outcomes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return outcomes_;
  }

 private:
  const std::atomic<int>& phase_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Outcome> outcomes_;
  std::vector<std::thread> threads_;
};

enum Phase { kBefore = 0, kDown = 1, kAfter = 2 };

HarnessOptions OnDatabase(const std::string& dsn) {
  HarnessOptions o;
  o.store_dsn = dsn;
  o.checkpoint_every_records = 25;
  o.witness_dir = MakeTempDir("pg-restart-witness");
  return o;
}

// The checks after the load, shared by both tests; prints the counts under `name`.
void CheckAfterwards(const char* name, GatewayHarness& h, const std::string& dsn, const HarnessOptions& options,
                     const std::vector<Outcome>& outcomes) {
  std::map<MessageKey, v1::Receipt> receipts;
  std::vector<const Outcome*> unknown, refused;
  std::map<std::string, int> reasons;
  for (const Outcome& o : outcomes) {
    if (o.code == grpc::StatusCode::OK) {
      receipts[{o.receipt.sender(), o.receipt.message_id()}] = o.receipt;
      continue;
    }
    ++reasons[o.reason];
    EXPECT_EQ(o.code, grpc::StatusCode::UNAVAILABLE) << o.envelope.message_id() << " " << o.reason;
    EXPECT_TRUE(kUnavailableReasons.count(o.reason)) << o.envelope.message_id() << ": reason '" << o.reason << "'";
    (o.reason == "OUTCOME_UNKNOWN" ? unknown : refused).push_back(&o);
  }

  // Each OUTCOME_UNKNOWN again: its original receipt, or accepted now.
  int original = 0, accepted_now = 0;
  auto stub = h.Client("parties/uk-border-force");
  for (const Outcome* o : unknown) {
    v1::Receipt r;
    grpc::Status s = Submit(*stub, o->envelope, &r);
    ASSERT_TRUE(s.ok()) << o->envelope.message_id() << ": " << ReasonOf(s) << " " << s.error_message();
    (r.duplicate() ? original : accepted_now) += 1;
    receipts[{r.sender(), r.message_id()}] = r;
  }
  h.Stop();  // Signs the tail.

  const StoredMessages db = ReadStoredMessages(dsn);
  const ReceiptCheck check = CheckReceipts(db, receipts);
  for (const std::string& p : check.problems) ADD_FAILURE() << p;
  size_t refused_but_stored = 0;
  for (const Outcome* o : refused) {
    const MessageKey key{"uk/border-force", o->envelope.message_id()};
    refused_but_stored += db.audit_index.count(key);
    EXPECT_EQ(db.audit_index.count(key), 0u) << o->envelope.message_id() << " was refused " << o->reason
                                             << " but is stored";
  }
  EXPECT_EQ(db.audit_index.size(), receipts.size()) << "every stored message has a receipt now";
  const VerifyReport report = VerifyExportedLog(db, h.dir() + "/export", {options.witness_dir + "/checkpoints.log"});
  EXPECT_FALSE(report.problem.has_value()) << report.problem->message;
  EXPECT_EQ(report.signed_size, db.line.size());

  std::string reason_counts;
  for (const auto& [reason, n] : reasons) reason_counts += " " + reason + "=" + std::to_string(n);
  std::printf("[ %s ] submits %zu, receipts %zu (before %d, during %d, after %d), refused:%s; outcome unknown "
              "resubmitted: original receipt %d, accepted now %d; in the database %zu, lost %zu, wrong index %zu, "
              "wrong record %zu, accepted twice %zu, refused but stored %zu; chain verified %s\n",
              name, outcomes.size(), receipts.size(),
              static_cast<int>(std::count_if(outcomes.begin(), outcomes.end(),
                                             [](const Outcome& o) { return o.started == kBefore && o.code == grpc::StatusCode::OK; })),
              static_cast<int>(std::count_if(outcomes.begin(), outcomes.end(),
                                             [](const Outcome& o) { return o.started == kDown && o.code == grpc::StatusCode::OK; })),
              static_cast<int>(std::count_if(outcomes.begin(), outcomes.end(),
                                             [](const Outcome& o) { return o.started == kAfter && o.code == grpc::StatusCode::OK; })),
              reason_counts.c_str(), original, accepted_now, db.audit_index.size(), check.lost, check.wrong_index,
              check.wrong_record, check.accepted_twice, refused_but_stored, report.problem ? "NO" : "yes");
  EXPECT_EQ(check.lost + check.wrong_index + check.wrong_record + check.accepted_twice, 0u);
}

TEST(PgRestart, ServerCrashUnderLoadFailsClosedAndRecoversWithoutRestartingTheGateway) {
  auto pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << "PostgreSQL did not start: " << pg.status();
  auto dsn = (*pg)->CreateDatabase("restart");
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  const HarnessOptions options = OnDatabase(*dsn);
  GatewayHarness h("pg-restart", options);
  std::atomic<int> phase{kBefore};
  Load load(h, 4, phase);

  ASSERT_TRUE(WaitUntil([&] { return load.Count(kBefore, true) >= 30; }, seconds(60)));
  EXPECT_EQ(HealthOf(h), kServing);
  ASSERT_TRUE((*pg)->Stop(/*immediate=*/true).ok());
  phase = kDown;
  const auto down = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitUntil([&] { return HealthOf(h) == kNotServing; }, seconds(10))) << "health: " << HealthOf(h);
  const double not_serving_after = std::chrono::duration<double>(std::chrono::steady_clock::now() - down).count();
  EXPECT_TRUE(WaitUntil([&] { return load.Count(kDown, false) >= 20; }, seconds(20)));

  phase = kAfter;  // From here on calls may succeed; a call that ended before this did not.
  ASSERT_TRUE((*pg)->Restart().ok());
  const auto up = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitUntil([&] { return HealthOf(h) == kServing; }, seconds(30))) << "health: " << HealthOf(h);
  const double serving_after = std::chrono::duration<double>(std::chrono::steady_clock::now() - up).count();
  EXPECT_TRUE(WaitUntil([&] { return load.Count(kAfter, true) >= 30; }, seconds(30)))
      << "no receipts after the restart";
  load.Stop();

  const std::vector<Outcome> outcomes = load.outcomes();
  int down_calls = 0;
  for (const Outcome& o : outcomes) {
    if (o.started != kDown || o.ended != kDown) continue;
    ++down_calls;
    EXPECT_NE(o.code, grpc::StatusCode::OK) << o.envelope.message_id() << " got a receipt while the database was down";
  }
  EXPECT_GE(down_calls, 20);
  std::printf("[ pg restart ] NOT_SERVING %.1f s after the crash, SERVING %.1f s after the restart; %d submits "
              "while down, none receipted\n",
              not_serving_after, serving_after, down_calls);
  CheckAfterwards("pg restart", h, *dsn, options, outcomes);
}

// No load at all: the gateway must still notice that the database is gone
// (gRPC health NOT_SERVING), not only when a write fails, so that a load
// balancer stops sending it work; and SERVING again once it is back.
TEST(PgRestart, IdleGatewayReportsNotServingWhileTheServerIsDown) {
  auto pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << "PostgreSQL did not start: " << pg.status();
  auto dsn = (*pg)->CreateDatabase("idle");
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  GatewayHarness h("pg-idle", OnDatabase(*dsn));
  auto stub = h.Client("parties/uk-border-force");
  v1::Receipt r;
  ASSERT_TRUE(Submit(*stub, SampleReferral("IDLE-1"), &r).ok());
  // One channel, as a load balancer's health checker keeps: no new handshakes.
  const std::shared_ptr<grpc::Channel> checker = h.Channel("parties/uk-nca");
  EXPECT_EQ(HealthOf(checker), kServing);

  ASSERT_TRUE((*pg)->Stop(/*immediate=*/true).ok());
  const auto down = std::chrono::steady_clock::now();
  // The health check runs every second, the writer checks an idle connection every second (~2 s in
  // runs). Without that check only the next write noticed: the delivery sweeper's, up to 10 s later.
  EXPECT_TRUE(WaitUntil([&] { return HealthOf(checker) == kNotServing; }, seconds(5)))
      << "an idle gateway still says " << (HealthOf(checker) == kServing ? "SERVING" : HealthOf(checker))
      << " with its database down";
  std::printf("[ pg idle ] NOT_SERVING %.1f s after the crash\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - down).count());
  ASSERT_TRUE((*pg)->Restart().ok());
  EXPECT_TRUE(WaitUntil([&] { return HealthOf(h) == kServing; }, seconds(30))) << "health: " << HealthOf(h);
  grpc::Status s = Submit(*stub, SampleReferral("IDLE-2"), &r);
  EXPECT_TRUE(s.ok()) << ReasonOf(s) << " " << s.error_message();
}

// The writing connection's server process, found by the lock it takes on the
// head row in its transactions (SELECT ... FOR UPDATE: RowShareLock on the
// table; the readers' plain SELECTs take AccessShareLock); 0 if none seen.
int WriterPid(const std::string& dsn) {
  auto conn = pg::Connection::Open(dsn);
  if (!conn.ok()) return 0;
  int pid = 0;
  WaitUntil([&] {
    auto res = (*conn)->Exec(
        "SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE c.relname = 'portcullis_head' AND l.mode = 'RowShareLock' AND l.pid <> pg_backend_pid()");
    if (res.ok() && res->rows() > 0) pid = static_cast<int>(res->Int(0, 0));
    return pid != 0;
  }, seconds(10), std::chrono::milliseconds(1));
  return pid;
}

TEST(PgRestart, WriterConnectionTerminatedUnderLoadRecoversByItself) {
  auto pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << "PostgreSQL did not start: " << pg.status();
  auto dsn = (*pg)->CreateDatabase("terminate");
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  const HarnessOptions options = OnDatabase(*dsn);
  GatewayHarness h("pg-terminate", options);
  std::atomic<int> phase{kBefore};
  Load load(h, 4, phase);
  ASSERT_TRUE(WaitUntil([&] { return load.Count(kBefore, true) >= 30; }, seconds(60)));

  auto admin = pg::Connection::Open(*dsn);
  ASSERT_TRUE(admin.ok()) << admin.status();
  std::set<int> writers;
  const int kTerminations = 3;
  for (int i = 0; i < kTerminations; ++i) {
    const int pid = WriterPid(*dsn);
    ASSERT_NE(pid, 0) << "no writer holding the head row under load";
    EXPECT_EQ(writers.count(pid), 0u) << "the writer did not reconnect (same server process " << pid << ")";
    writers.insert(pid);
    // Waits (up to 10 s) until that process has exited, so that its lock is gone.
    auto killed = (*admin)->Exec("SELECT pg_terminate_backend($1::int, 10000)", {std::to_string(pid)});
    ASSERT_TRUE(killed.ok()) << killed.status();
    EXPECT_EQ(killed->Text(0, 0), "t");
    phase = kAfter;
    const int before = load.Count(kAfter, true);
    EXPECT_TRUE(WaitUntil([&] { return load.Count(kAfter, true) >= before + 20; }, seconds(30)))
        << "no receipts after terminating the writer";
  }
  const int last = WriterPid(*dsn);
  EXPECT_NE(last, 0);
  EXPECT_EQ(writers.count(last), 0u) << "the writer did not reconnect after the last termination";
  // Health is checked once a second: it may still say NOT_SERVING from the last termination.
  EXPECT_TRUE(WaitUntil([&] { return HealthOf(h) == kServing; }, seconds(10))) << "health: " << HealthOf(h);
  load.Stop();
  std::printf("[ pg terminate ] writer connections terminated %d (server processes %zu)\n", kTerminations,
              writers.size());
  CheckAfterwards("pg terminate", h, *dsn, options, load.outcomes());
}

}  // namespace
}  // namespace portcullis::testing
