// gateway/pg (docs/storage.md) against a real PostgreSQL started by the test:
// parameters and results, SQLSTATE-mapped errors, the schema, the pool, and
// the GroupWriter's group commit, head-row numbering, per-op failure and
// reconnection after the server goes away.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "gateway/pg/pg_connection.h"
#include "gateway/pg/pg_pool.h"
#include "gateway/pg/pg_schema.h"
#include "gateway/pg/pg_writer.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/poll.h"

namespace portcullis::testing {
namespace {

class PgLayer : public ::testing::Test {
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
    static int n = 0;
    auto dsn = cluster_->CreateDatabase("layer_" + std::to_string(++n));
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    dsn_ = *dsn;
  }
  std::unique_ptr<pg::Connection> Connect() {
    auto c = pg::Connection::Open(dsn_);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }
  std::unique_ptr<pg::GroupWriter> Writer(pg::GroupWriter::Options o = {}) {
    auto conn = Connect();
    EXPECT_TRUE(pg::PrepareSchema(*conn).ok());
    o.dsn = dsn_;
    auto w = pg::GroupWriter::Start(std::move(o));
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? *std::move(w) : nullptr;
  }
  static PgCluster* cluster_;
  std::string dsn_;
};
PgCluster* PgLayer::cluster_ = nullptr;

TEST_F(PgLayer, ParametersAndResultsRoundTripIncludingBytesAndNull) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Run("CREATE TABLE t(a bigint, b text, c bytea, d boolean)").ok());
  std::string bytes("\0\x01\xff\x7f" "ab", 6);
  ASSERT_TRUE(c->Run("INSERT INTO t VALUES ($1, $2, $3, $4)",
                     {int64_t{-9000000000}, "it's \"quoted\" ✓", pg::Param::Bytes(bytes), true})
                  .ok());
  ASSERT_TRUE(c->Run("INSERT INTO t VALUES ($1, $2, $3, $4)", {nullptr, nullptr, nullptr, nullptr}).ok());
  auto r = c->Exec("SELECT a, b, c, d FROM t ORDER BY a NULLS LAST");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows(), 2);
  EXPECT_EQ(r->Int(0, 0), -9000000000);
  EXPECT_EQ(r->Text(0, 1), "it's \"quoted\" ✓");
  EXPECT_EQ(r->Bytes(0, 2), bytes);
  EXPECT_TRUE(r->Bool(0, 3));
  for (int col = 0; col < 4; ++col) EXPECT_TRUE(r->IsNull(1, col));
  EXPECT_EQ(r->Bytes(1, 2), "");
  auto upd = c->Exec("UPDATE t SET b = 'x'");
  ASSERT_TRUE(upd.ok());
  EXPECT_EQ(upd->affected(), 2);
}

TEST_F(PgLayer, ErrorsAreMappedBySqlState) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Run("CREATE TABLE u(k text PRIMARY KEY, n int NOT NULL)").ok());
  ASSERT_TRUE(c->Run("INSERT INTO u VALUES ($1, 1)", {"a"}).ok());
  absl::Status dup = c->Run("INSERT INTO u VALUES ($1, 1)", {"a"});
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;
  EXPECT_EQ(pg::SqlState(dup), "23505");
  absl::Status null = c->Run("INSERT INTO u VALUES ($1, NULL)", {"b"});
  EXPECT_EQ(null.code(), absl::StatusCode::kFailedPrecondition) << null;
  absl::Status bad = c->Run("SELEC nonsense");
  EXPECT_EQ(bad.code(), absl::StatusCode::kInternal) << bad;
  EXPECT_EQ(pg::SqlState(bad), "42601");
  auto refused = pg::Connection::Open("host=127.0.0.1 port=1 dbname=x user=x", 2);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(PgLayer, ATextParameterWithANulByteIsRefusedNotCut) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  absl::Status s = c->Run("SELECT $1::text", {std::string("ab\0cd", 5)});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(c->Run("SELECT $1::bytea", {pg::Param::Bytes(std::string("ab\0cd", 5))}).ok());
}

TEST(PgDsn, PasswordsAreRedacted) {
  EXPECT_EQ(pg::RedactDsn("host=db password=s3cret user=gw"), "host=db password=*** user=gw");
  EXPECT_EQ(pg::RedactDsn("host=db password = 'a b\\'c' user=gw"), "host=db password = *** user=gw");
  EXPECT_EQ(pg::RedactDsn("postgresql://gw:s3cret@db:5433/p"), "postgresql://gw:***@db:5433/p");
  EXPECT_EQ(pg::RedactDsn("postgresql://gw@db/p"), "postgresql://gw@db/p");
}

TEST_F(PgLayer, SchemaIsCreatedOnceAndCheckedAfter) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(pg::PrepareSchema(*c).ok());
  ASSERT_TRUE(pg::PrepareSchema(*c).ok());  // Again: checked, unchanged.
  auto head = c->Exec("SELECT audit_size, audit_head, next_seq, next_position FROM portcullis_head");
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->rows(), 1);
  EXPECT_EQ(head->Int(0, 0), 0);
  ASSERT_TRUE(c->Run("UPDATE portcullis_meta SET value = '99' WHERE key = 'schema_version'").ok());
  absl::Status newer = pg::PrepareSchema(*c);
  EXPECT_EQ(newer.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(newer.message().find("schema version 99"), std::string::npos) << newer;
}

TEST_F(PgLayer, SomeoneElsesDatabaseIsNotTouched) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Run("CREATE TABLE messages(x int)").ok());
  absl::Status s = pg::PrepareSchema(*c);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  auto meta = c->Exec("SELECT to_regclass('portcullis_meta') IS NULL");
  ASSERT_TRUE(meta.ok());
  EXPECT_TRUE(meta->Bool(0, 0));  // Rolled back: nothing created.
}

TEST_F(PgLayer, GroupCommitNumbersGapFreeUnderTheHeadLock) {
  auto w = Writer();
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->Run([](pg::Tx& tx) { return tx.conn().Run("CREATE TABLE n(seq bigint PRIMARY KEY)"); }).ok());
  constexpr int kThreads = 8, kEach = 50;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        absl::Status s = w->Run([](pg::Tx& tx) -> absl::Status {
          auto head = tx.head();
          if (!head.ok()) return head.status();
          return tx.conn().Run("INSERT INTO n VALUES ($1)", {(*head)->next_seq++});
        });
        if (s.ok()) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kEach);
  EXPECT_LT(w->batches(), w->ops()) << "no two ops ever shared a transaction";
  auto c = Connect();
  auto r = c->Exec("SELECT count(*), min(seq), max(seq) FROM n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Int(0, 0), kThreads * kEach);
  EXPECT_EQ(r->Int(0, 1), 1);
  EXPECT_EQ(r->Int(0, 2), kThreads * kEach);
  auto head = c->Exec("SELECT next_seq FROM portcullis_head");
  EXPECT_EQ(head->Int(0, 0), kThreads * kEach + 1);
}

TEST_F(PgLayer, AFailedOpIsRolledBackAloneAndItsNeighboursCommit) {
  std::mutex gate;
  gate.lock();  // Holds the first batch so the next ops queue up together.
  auto w = Writer();
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->Run([](pg::Tx& tx) { return tx.conn().Run("CREATE TABLE v(k text PRIMARY KEY)"); }).ok());
  std::atomic<int> done{0};
  std::vector<absl::Status> outcomes(4);
  w->Submit([&](pg::Tx&) { std::lock_guard<std::mutex> l(gate); return absl::OkStatus(); },
            [&](absl::Status s) { outcomes[0] = s; ++done; });
  auto insert = [](const char* k, bool fail) {
    return [k, fail](pg::Tx& tx) -> absl::Status {
      auto head = tx.head();  // Takes a number, which the failure must give back.
      if (!head.ok()) return head.status();
      ++(*head)->next_seq;
      absl::Status s = tx.conn().Run("INSERT INTO v VALUES ($1)", {k});
      if (!s.ok()) return s;
      return fail ? absl::FailedPreconditionError("refused after writing") : absl::OkStatus();
    };
  };
  w->Submit(insert("a", false), [&](absl::Status s) { outcomes[1] = s; ++done; });
  w->Submit(insert("b", true), [&](absl::Status s) { outcomes[2] = s; ++done; });
  w->Submit(insert("c", false), [&](absl::Status s) { outcomes[3] = s; ++done; });
  gate.unlock();
  ASSERT_TRUE(WaitUntil([&] { return done.load() == 4; }));
  EXPECT_TRUE(outcomes[1].ok()) << outcomes[1];
  EXPECT_EQ(outcomes[2].code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(outcomes[3].ok()) << outcomes[3];
  auto c = Connect();
  auto r = c->Exec("SELECT string_agg(k, ',' ORDER BY k) FROM v");
  EXPECT_EQ(r->Text(0, 0), "a,c");
  auto head = c->Exec("SELECT next_seq FROM portcullis_head");
  EXPECT_EQ(head->Int(0, 0), 3);  // Two numbers taken, none lost to the failed op.
}

TEST_F(PgLayer, AFailedOpDoesNotRunItsNeighboursAgain) {
  std::mutex gate;
  gate.lock();
  auto w = Writer();
  ASSERT_NE(w, nullptr);
  std::atomic<int> runs{0}, done{0};
  w->Submit([&](pg::Tx&) { std::lock_guard<std::mutex> l(gate); return absl::OkStatus(); }, [&](absl::Status) { ++done; });
  for (int i = 0; i < 10; ++i) {
    const bool fail = i % 3 == 0;
    w->Submit([&runs, fail](pg::Tx&) {
      ++runs;
      return fail ? absl::FailedPreconditionError("refused") : absl::OkStatus();
    }, [&](absl::Status) { ++done; });
  }
  gate.unlock();
  ASSERT_TRUE(WaitUntil([&] { return done.load() == 11; }));
  EXPECT_EQ(runs.load(), 10) << "a refusal made its batch run again";
}

TEST_F(PgLayer, FlushWaitsForEveryQueuedAnswer) {
  auto w = Writer();
  ASSERT_NE(w, nullptr);
  std::atomic<int> answered{0};
  for (int i = 0; i < 50; ++i) {
    w->Submit([](pg::Tx& tx) { return tx.conn().Run("SELECT pg_sleep(0.001)"); }, [&](absl::Status) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ++answered;
    });
  }
  w->Flush();
  EXPECT_EQ(answered.load(), 50);
}

TEST_F(PgLayer, TheWriterOnlyWritesToAServerThatTakesWrites) {
  pg::GroupWriter::Options o;
  o.reconnect_max = std::chrono::milliseconds(200);
  o.idle_probe = std::chrono::hours(1);
  auto w = Writer(o);
  ASSERT_NE(w, nullptr);
  auto admin = pg::Connection::Open(cluster_->dsn("postgres"));
  ASSERT_TRUE(admin.ok()) << admin.status();
  const std::string db = dsn_.substr(dsn_.find("dbname=") + 7);
  // As a standby would: every new session of the database is read-only.
  ASSERT_TRUE((*admin)->RunScript(("ALTER DATABASE " + db + " SET default_transaction_read_only = on").c_str()).ok());
  ASSERT_TRUE((*admin)->Run("SELECT pg_terminate_backend($1)", {w->backend_pid()}).ok());
  EXPECT_FALSE(w->Run([](pg::Tx& tx) { return tx.conn().Run("SELECT 1"); }).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // Several reconnection attempts.
  EXPECT_EQ(w->Health().code(), absl::StatusCode::kUnavailable) << "connected to a server that cannot write";
  ASSERT_TRUE((*admin)->RunScript(("ALTER DATABASE " + db + " SET default_transaction_read_only = off").c_str()).ok());
  EXPECT_TRUE(WaitUntil([&] { return w->Health().ok(); })) << w->Health();
  EXPECT_TRUE(w->Run([](pg::Tx& tx) { return tx.conn().Run("SELECT 1"); }).ok());
}

TEST_F(PgLayer, TheWriterFailsClosedWhileTheServerIsDownAndRecoversByItself) {
  pg::GroupWriter::Options o;
  o.reconnect_max = std::chrono::milliseconds(200);
  o.connect_timeout_seconds = 2;
  auto w = Writer(o);
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->Run([](pg::Tx& tx) { return tx.conn().Run("CREATE TABLE r(k int)"); }).ok());
  ASSERT_TRUE(cluster_->Stop(/*immediate=*/true).ok());
  // The first op finds the connection gone; from then on ops are refused at once.
  absl::Status lost = w->Run([](pg::Tx& tx) { return tx.conn().Run("INSERT INTO r VALUES (1)"); });
  EXPECT_EQ(lost.code(), absl::StatusCode::kUnavailable) << lost;
  EXPECT_EQ(w->Health().code(), absl::StatusCode::kUnavailable);
  absl::Status refused = w->Run([](pg::Tx& tx) { return tx.conn().Run("INSERT INTO r VALUES (2)"); });
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(cluster_->Restart().ok());
  ASSERT_TRUE(WaitUntil([&] { return w->Health().ok(); }, std::chrono::seconds(20))) << w->Health();
  ASSERT_TRUE(w->Run([](pg::Tx& tx) { return tx.conn().Run("INSERT INTO r VALUES (3)"); }).ok());
  auto c = Connect();
  auto r = c->Exec("SELECT string_agg(k::text, ',') FROM r");
  EXPECT_EQ(r->Text(0, 0), "3");  // Nothing refused was written.
}

TEST_F(PgLayer, AnIdleWriterNoticesTheServerGoneAndBack) {
  pg::GroupWriter::Options o;
  o.idle_probe = std::chrono::milliseconds(100);
  o.reconnect_max = std::chrono::milliseconds(200);
  o.connect_timeout_seconds = 2;
  auto w = Writer(o);
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(cluster_->Stop(/*immediate=*/true).ok());
  // No op is submitted: the idle probe alone finds the database gone.
  EXPECT_TRUE(WaitUntil([&] { return !w->Health().ok(); })) << "still healthy with the server down";
  ASSERT_TRUE(cluster_->Restart().ok());
  EXPECT_TRUE(WaitUntil([&] { return w->Health().ok(); }, std::chrono::seconds(20))) << w->Health();
  EXPECT_TRUE(w->Run([](pg::Tx& tx) { return tx.conn().Run("SELECT 1"); }).ok());
}

TEST_F(PgLayer, AnEndedBackendIsReplacedByTheWriterAndThePool) {
  pg::GroupWriter::Options o;
  o.idle_probe = std::chrono::hours(1);  // The op below, not the idle probe, finds the connection gone.
  auto w = Writer(o);
  ASSERT_NE(w, nullptr);
  pg::Pool pool(dsn_, 2, 2);
  int reader_pid = 0;
  {
    auto lease = pool.Acquire();
    ASSERT_TRUE(lease.ok());
    reader_pid = (*lease)->backend_pid();
  }
  auto admin = Connect();
  ASSERT_TRUE(admin->Run("SELECT pg_terminate_backend($1)", {w->backend_pid()}).ok());
  ASSERT_TRUE(admin->Run("SELECT pg_terminate_backend($1)", {reader_pid}).ok());
  // The writer notices at its next op, refuses it, reconnects.
  absl::Status first = w->Run([](pg::Tx& tx) { return tx.conn().Run("SELECT 1"); });
  EXPECT_EQ(first.code(), absl::StatusCode::kUnavailable) << first;
  ASSERT_TRUE(WaitUntil([&] { return w->Health().ok(); }));
  EXPECT_TRUE(w->Run([](pg::Tx& tx) { return tx.conn().Run("SELECT 1"); }).ok());
  {
    auto lease = pool.Acquire();
    ASSERT_TRUE(lease.ok());
    EXPECT_FALSE((*lease)->Run("SELECT 1").ok());  // The ended one fails once, and is dropped.
  }
  auto lease = pool.Acquire();
  ASSERT_TRUE(lease.ok());
  EXPECT_TRUE((*lease)->Run("SELECT 1").ok());
  EXPECT_NE((*lease)->backend_pid(), reader_pid);
}

}  // namespace
}  // namespace portcullis::testing
