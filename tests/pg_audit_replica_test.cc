// PgAuditLog with several gateways on one database (issue 15's replicas), and
// the database going away under load: one gap-free chain that verifies, a
// rerun after a rollback that another gateway overtook, checkpoint sizes
// that never decrease with two signers, witness lines in size order in a
// witness folder two signers share, and a server restart (nothing
// acknowledged while it is down, nothing acknowledged lost, appends resume
// without reopening).
#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tests/pg_audit_test_support.h"
#include "tests/support/poll.h"

namespace portcullis::testing {
namespace {

class PgAuditReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = PgCluster::Start();
    ASSERT_TRUE(pg.ok()) << "PostgreSQL could not be started: " << pg.status();
    cluster_ = *std::move(pg);
    dsn_ = FreshDatabase(*cluster_, "audit");
    ASSERT_FALSE(dsn_.empty());
    dir_ = MakeTempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  std::unique_ptr<PgCluster> cluster_;
  std::string dsn_, dir_;
};

TEST_F(PgAuditReplicaTest, TwoGatewaysAppendOneGapFreeChainThatVerifies) {
  std::filesystem::create_directories(dir_ + "/wa");
  PgAuditLogOptions oa = SignedOptions(dir_ + "/wa", 100);
  oa.replica_id = "gw-a";
  PgAuditLogOptions ob = SignedOptions("", 100);
  ob.replica_id = "gw-b";
  PgGateway a = OpenGateway(dsn_, oa);
  PgGateway b = OpenGateway(dsn_, ob);
  ASSERT_TRUE(a.log) << a.open_status;
  ASSERT_TRUE(b.log) << b.open_status;
  constexpr int kThreadsEach = 4, kPerThread = 100, kTotal = 2 * kThreadsEach * kPerThread;
  std::mutex mu;
  std::map<uint64_t, std::string> acked;  // index -> message id
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kThreadsEach; ++t) {
    threads.emplace_back([&, t] {
      PgAuditLog* log = t % 2 == 0 ? a.log.get() : b.log.get();
      for (int i = 0; i < kPerThread; ++i) {
        AuditRecord r = PgSample(t * kPerThread + i);
        auto index = log->AppendAndWait(r);
        ASSERT_TRUE(index.ok()) << index.status();
        std::lock_guard<std::mutex> lock(mu);
        EXPECT_TRUE(acked.emplace(*index, r.message_id).second) << "index " << *index << " given twice";
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(acked.size(), size_t{kTotal});
  EXPECT_EQ(acked.rbegin()->first, uint64_t{kTotal - 1}) << "a gap in the indexes";
  // Each gateway sees every record, its own and the other's.
  EXPECT_EQ(a.log->size(), uint64_t{kTotal});
  EXPECT_EQ(b.log->size(), uint64_t{kTotal});
  auto ca = a.log->CheckpointNow();
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_EQ(ca->size, uint64_t{kTotal});
  auto latest_b = b.log->LatestCheckpoint();
  ASSERT_TRUE(latest_b.has_value());
  EXPECT_EQ(latest_b->root, ca->root) << "gateway b sees the checkpoint gateway a signed";
  auto proof = b.log->InclusionProof(7, kTotal);
  ASSERT_TRUE(proof.ok()) << proof.status();
  // The export (through either gateway) verifies, and every acknowledged index holds its record.
  Exported e = Export(*b.log, dir_ + "/export");
  a.log.reset();  // Copies what the witness still lacks.
  VerifyReport report = VerifyExport(e, {dir_ + "/wa/checkpoints.log"});
  EXPECT_FALSE(report.problem.has_value()) << report.problem->message;
  EXPECT_EQ(report.records, uint64_t{kTotal});
  EXPECT_EQ(report.signed_size, uint64_t{kTotal});
  EXPECT_GE(report.witness_checkpoints, 1u);
  const auto lines = LinesOf(e.log);
  std::set<std::string> replicas;
  for (const auto& [index, id] : acked) {
    ASSERT_LT(index, lines.size());
    auto r = ParseLine(lines[index]);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->message_id, id) << "index " << index;
    replicas.insert(r->replica_id);
  }
  EXPECT_EQ(replicas, (std::set<std::string>{"gw-a", "gw-b"}));
}

// An op that sealed a record at index k in a transaction that rolled back
// runs again after another gateway took k: the tree must learn k from the
// database, not from the rolled-back run.
TEST_F(PgAuditReplicaTest, ARerunOvertakenByAnotherGatewayLeavesNoGapAndTheRightTree) {
  // A serialisation failure makes the writer run a's batch again; between the
  // rollback and the rerun's BEGIN, gateway b takes the index a's first run had.
  std::atomic<bool> rerun_pending{false}, failed_once{false}, b_appended{false};
  PgGateway a = OpenGateway(dsn_, SignedOptions(), [&](absl::string_view point) {
    if (point == "begin" && rerun_pending.exchange(false)) {
      EXPECT_TRUE(WaitUntil([&] { return b_appended.load(); }));
    }
    return absl::OkStatus();
  });
  PgGateway b = OpenGateway(dsn_, SignedOptions());
  ASSERT_TRUE(a.log) << a.open_status;
  ASSERT_TRUE(b.log) << b.open_status;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a.log->AppendAndWait(PgSample(i)).ok());

  std::promise<void> gate, blocking;
  std::shared_future<void> gate_open = gate.get_future().share();
  std::atomic<int> runs{0};
  std::promise<absl::StatusOr<uint64_t>> first_result;
  std::promise<absl::Status> second_result;
  // Holds the writer until op1 and op2 are queued behind it: one batch.
  a.writer->Submit(
      [&](pg::Tx&) {
        blocking.set_value();
        gate_open.wait();
        return absl::OkStatus();
      },
      [](absl::Status) {});
  blocking.get_future().wait();
  auto index = std::make_shared<uint64_t>(0);
  a.writer->Submit(
      [&, index](pg::Tx& tx) -> absl::Status {
        ++runs;
        auto i = a.log->AppendInTx(tx, PgSample(10));
        if (!i.ok()) return i.status();
        *index = *i;
        return absl::OkStatus();
      },
      [&, index](absl::Status s) {
        if (s.ok()) a.log->NoteDurable(*index);
        first_result.set_value(s.ok() ? absl::StatusOr<uint64_t>(*index) : absl::StatusOr<uint64_t>(s));
      });
  a.writer->Submit(
      [&](pg::Tx& tx) -> absl::Status {
        if (failed_once.exchange(true)) return absl::OkStatus();
        rerun_pending = true;
        return tx.conn().RunScript("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'serialization_failure'; END $$");
      },
      [&](absl::Status s) { second_result.set_value(s); });
  gate.set_value();
  ASSERT_TRUE(WaitUntil([&] { return failed_once.load(); }));
  auto b_index = b.log->AppendAndWait(PgSample(20));  // Takes index 3 while a's rerun waits.
  ASSERT_TRUE(b_index.ok()) << b_index.status();
  EXPECT_EQ(*b_index, 3u);
  b_appended = true;
  auto a_index = first_result.get_future().get();
  ASSERT_TRUE(a_index.ok()) << a_index.status();
  EXPECT_EQ(*a_index, 4u);
  EXPECT_EQ(runs.load(), 2);
  EXPECT_TRUE(second_result.get_future().get().ok());

  // a's tree holds b's leaf at 3, not the rolled-back run's: its checkpoint
  // signs the records the database holds.
  auto c = a.log->CheckpointNow();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->size, 5u);
  VerifyReport report = VerifyExport(Export(*a.log, dir_ + "/export"));
  EXPECT_FALSE(report.problem.has_value()) << report.problem->message;
  EXPECT_EQ(report.signed_size, 5u);
}

TEST_F(PgAuditReplicaTest, CheckpointSizesNeverDecreaseWithTwoSigners) {
  std::filesystem::create_directories(dir_ + "/wa");
  std::filesystem::create_directories(dir_ + "/wb");
  PgGateway a = OpenGateway(dsn_, SignedOptions(dir_ + "/wa", 25));
  PgGateway b = OpenGateway(dsn_, SignedOptions(dir_ + "/wb", 25));
  ASSERT_TRUE(a.log) << a.open_status;
  ASSERT_TRUE(b.log) << b.open_status;
  std::atomic<int> appenders{4};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      PgAuditLog* log = t % 2 == 0 ? a.log.get() : b.log.get();
      for (int i = 0; i < 150; ++i) EXPECT_TRUE(log->AppendAndWait(PgSample(i)).ok());
      --appenders;
    });
  }
  for (PgAuditLog* log : {a.log.get(), b.log.get()}) {
    threads.emplace_back([&, log] {
      while (appenders > 0) {
        auto c = log->CheckpointNow();
        EXPECT_TRUE(c.ok() || c.status().code() == absl::StatusCode::kUnavailable) << c.status();
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(a.log->CheckpointNow().ok());
  const uint64_t signed_a = a.log->checkpoints_signed(), signed_b = b.log->checkpoints_signed();
  Exported e = Export(*b.log, dir_ + "/export");
  a.log.reset();
  b.log.reset();
  // In the order they were signed (time), sizes only grow: sorted by size,
  // the times must be sorted too.
  auto conn = pg::Connection::Open(dsn_);
  ASSERT_TRUE(conn.ok());
  auto res = (*conn)->Exec("SELECT line FROM audit_checkpoints ORDER BY tree_size");
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(static_cast<uint64_t>(res->rows()), signed_a + signed_b) << "every checkpoint signed was inserted";
  EXPECT_GE(res->rows(), 4) << "too few checkpoints to mean anything";
  int64_t last_time = 0;
  for (int r = 0; r < res->rows(); ++r) {
    auto c = CheckpointFromLine(res->Text(r, 0));
    ASSERT_TRUE(c.ok());
    EXPECT_GT(c->time_micros, last_time) << "checkpoint of size " << c->size << " was signed before a smaller one";
    last_time = c->time_micros;
  }
  for (const char* w : {"/wa/checkpoints.log", "/wb/checkpoints.log"}) {
    int64_t last = -1;
    for (const auto& line : LinesOf(dir_ + w)) {
      auto c = CheckpointFromLine(line);
      ASSERT_TRUE(c.ok()) << line;
      EXPECT_GT(static_cast<int64_t>(c->size), last) << w;
      last = static_cast<int64_t>(c->size);
    }
  }
  VerifyReport report = VerifyExport(e, {dir_ + "/wa/checkpoints.log", dir_ + "/wb/checkpoints.log"});
  EXPECT_FALSE(report.problem.has_value()) << report.problem->message;
  EXPECT_EQ(report.signed_size, 600u);
}

// Gateway A has committed a checkpoint and is still copying it to the shared
// witness when gateway B appends and signs: B must not get its larger
// checkpoint into the witness first (the verifier would see sizes go
// backwards, a false tamper alarm). A copies while holding the signer lock,
// so B's signer waits (or, periodic, skips) until A is done.
TEST_F(PgAuditReplicaTest, TwoSignersSharingAWitnessWriteItInSizeOrder) {
  const std::string shared = dir_ + "/shared";
  std::filesystem::create_directories(shared);
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false, entered = false, release = false;
  PgAuditLogOptions oa = SignedOptions(shared);
  oa.fault_injector = [&](absl::string_view op) {
    if (op != "witness") return absl::OkStatus();
    std::unique_lock<std::mutex> lock(mu);
    if (!hold) return absl::OkStatus();
    hold = false;
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    return absl::OkStatus();
  };
  PgGateway a = OpenGateway(dsn_, oa);
  PgGateway b = OpenGateway(dsn_, SignedOptions(shared));
  ASSERT_TRUE(a.log) << a.open_status;
  ASSERT_TRUE(b.log) << b.open_status;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a.log->AppendAndWait(PgSample(i)).ok());
  {
    std::lock_guard<std::mutex> lock(mu);
    hold = true;
  }
  auto signed_a = std::async(std::launch::async, [&] { return a.log->CheckpointNow(); });
  const bool a_copying = WaitUntil([&] {
    std::lock_guard<std::mutex> lock(mu);
    return entered;
  });
  if (!a_copying) {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
    cv.notify_all();
  }
  ASSERT_TRUE(a_copying) << "gateway A never copied its checkpoint to the witness";
  for (int i = 3; i < 5; ++i) ASSERT_TRUE(b.log->AppendAndWait(PgSample(i)).ok());
  // B's CheckpointNow waits for the signer lock A holds while it copies (the
  // periodic signer would skip instead).
  auto while_a_copies = std::async(std::launch::async, [&] { return b.log->CheckpointNow(); });
  auto admin = pg::Connection::Open(dsn_);
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_TRUE(WaitUntil([&] {
    auto waiting = (*admin)->Exec("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
    return waiting.ok() && waiting->Int(0, 0) > 0;
  })) << "gateway B never waited for the signer lock";
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  auto ca = signed_a.get();
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_EQ(ca->size, 3u);
  auto b_signed = while_a_copies.get();
  ASSERT_TRUE(b_signed.ok()) << b_signed.status();
  EXPECT_EQ(b_signed->size, 5u) << "gateway B signed after A released the signer lock";
  auto cb = b.log->CheckpointNow();
  ASSERT_TRUE(cb.ok()) << cb.status();
  EXPECT_EQ(cb->size, 5u);
  std::vector<uint64_t> sizes;
  for (const auto& line : LinesOf(shared + "/checkpoints.log")) {
    auto c = CheckpointFromLine(line);
    ASSERT_TRUE(c.ok()) << line;
    sizes.push_back(c->size);
  }
  EXPECT_EQ(sizes, (std::vector<uint64_t>{3, 5}));
  VerifyReport report = VerifyExport(Export(*b.log, dir_ + "/export"), {shared + "/checkpoints.log"});
  EXPECT_FALSE(report.problem.has_value()) << report.problem->message;
  EXPECT_EQ(report.witness_checkpoints, 2u);
}

TEST_F(PgAuditReplicaTest, ServerRestartUnderAppendsLosesNothingAcknowledgedAndResumes) {
  PgGateway g = OpenGateway(dsn_, SignedOptions("", 50));
  ASSERT_TRUE(g.log) << g.open_status;
  std::mutex mu;
  std::map<uint64_t, std::string> acked;
  std::map<absl::StatusCode, int> refusals;
  std::atomic<bool> stop{false};
  std::atomic<int> next_id{0};
  constexpr int kThreads = 4;
  std::atomic<int> refused_by[kThreads] = {};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!stop) {
        AuditRecord r = PgSample(next_id++);
        auto index = g.log->AppendAndWait(r);
        std::lock_guard<std::mutex> lock(mu);
        if (index.ok()) {
          acked.emplace(*index, r.message_id);
        } else {
          ++refusals[index.status().code()];
          ++refused_by[t];
        }
      }
    });
  }
  auto count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return acked.size();
  };
  auto refused = [&] {
    std::lock_guard<std::mutex> lock(mu);
    int n = 0;
    for (const auto& [code, k] : refusals) n += k;
    return n;
  };
  ASSERT_TRUE(WaitUntil([&] { return count() >= 100; }));
  ASSERT_TRUE(cluster_->Stop(/*immediate=*/true).ok());
  ASSERT_TRUE(WaitUntil([&] { return !g.log->Health().ok(); })) << "the log stayed healthy with the server gone";
  EXPECT_EQ(g.log->Health().code(), absl::StatusCode::kUnavailable);
  // Once every writer thread has been refused since, none still holds an
  // acknowledgement of a COMMIT from before the server went away.
  int refused_before[kThreads];
  for (int t = 0; t < kThreads; ++t) refused_before[t] = refused_by[t];
  ASSERT_TRUE(WaitUntil([&] {
    for (int t = 0; t < kThreads; ++t)
      if (refused_by[t] == refused_before[t]) return false;
    return true;
  })) << "appends did not fail at once";
  const size_t acked_when_down = count();
  const int refused_when_down = refused();
  ASSERT_TRUE(WaitUntil([&] { return refused() >= refused_when_down + 50; })) << "appends did not fail at once";
  EXPECT_EQ(count(), acked_when_down) << "an append was acknowledged with the server down";
  ASSERT_TRUE(cluster_->Restart().ok());
  ASSERT_TRUE(WaitUntil([&] { return g.log->Health().ok(); })) << "the writer did not reconnect";
  ASSERT_TRUE(WaitUntil([&] { return count() >= acked_when_down + 100; })) << "appends did not resume";
  stop = true;
  for (auto& t : threads) t.join();
  for (const auto& [code, n] : refusals) {
    EXPECT_TRUE(code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kUnknown)
        << n << " refusal(s) with " << absl::StatusCodeToString(code);
  }
  // Every acknowledged record is at its index; the whole chain verifies.
  ASSERT_TRUE(WaitUntil([&] { return g.log->CheckpointNow().ok(); }));
  Exported e = Export(*g.log, dir_ + "/export");
  const auto lines = LinesOf(e.log);
  uint64_t lost = 0;
  for (const auto& [index, id] : acked) {
    if (index >= lines.size() || lines[index].find("\"message_id\":\"" + id + "\"") == std::string::npos) {
      ++lost;
      ADD_FAILURE() << "acknowledged record " << id << " (index " << index << ") is not there";
    }
  }
  EXPECT_EQ(lost, 0u);
  VerifyReport report = VerifyExport(e);
  EXPECT_FALSE(report.problem.has_value()) << report.problem->message;
  EXPECT_EQ(report.signed_size, report.records);
  std::printf("[ restart ] acknowledged %zu (lost 0), refused while down %d\n", acked.size(), refused());
}

}  // namespace
}  // namespace portcullis::testing
