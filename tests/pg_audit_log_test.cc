// PgAuditLog on a real PostgreSQL (tests/support/pg_cluster.h): what
// audit_log_test.cc and audit_tamper_test.cc check of FileAuditLog (group
// commit, dense indexes across reopen, hostile and huge fields, proofs,
// failed reads), the one-transaction seam (AppendInTx / NoteDurable), a
// witness copy retried, a database found behind what was committed, and a
// signer that needs no second connection.
// Several gateways on one database and a server restart:
// pg_audit_replica_test.cc; kill -9: pg_audit_crash_test.cc; tampering and
// exports: pg_audit_tamper_test.cc; the real portcullis-audit through the
// Audit service: pg_audit_service_test.cc.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "tests/pg_audit_test_support.h"

namespace portcullis::testing {
namespace {

class PgAuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = PgCluster::Start();
    ASSERT_TRUE(pg.ok()) << "PostgreSQL could not be started: " << pg.status();
    cluster_ = *std::move(pg);
    dsn_ = FreshDatabase(*cluster_, "audit");
    ASSERT_FALSE(dsn_.empty());
  }
  std::unique_ptr<PgCluster> cluster_;
  std::string dsn_;
};

TEST_F(PgAuditLogTest, ConcurrentAppendsShareTransactions) {
  PgGateway g = OpenGateway(dsn_);
  ASSERT_TRUE(g.log) << g.open_status;
  constexpr int kThreads = 8, kPerThread = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  std::vector<std::atomic<int>> seen(kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto index = g.log->AppendAndWait(PgSample(t * kPerThread + i));
        if (!index.ok() || *index >= seen.size()) {
          ++failures;
        } else {
          ++seen[*index];
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i].load(), 1) << "index " << i;
  EXPECT_EQ(g.log->size(), uint64_t{kThreads * kPerThread});
  // Eight writers waiting on each other's commits must share some of them.
  EXPECT_LT(g.writer->batches(), uint64_t{kThreads * kPerThread});
  auto lines = g.log->ReadLines(0, 10000);
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), size_t{kThreads * kPerThread});
  std::string prev = kGenesisHash;
  for (size_t i = 0; i < lines->size(); ++i) {
    auto h = CheckLine((*lines)[i]);
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_EQ(h->index, i);
    EXPECT_EQ(h->prev, prev);
    prev = h->hash;
  }
}

TEST_F(PgAuditLogTest, IndexesAreDenseAndSurviveReopenAndRecordsCarryTheReplica) {
  {
    PgAuditLogOptions o;
    o.replica_id = "gw-a";
    PgGateway g = OpenGateway(dsn_, o);
    ASSERT_TRUE(g.log) << g.open_status;
    for (uint64_t i = 0; i < 3; ++i) EXPECT_EQ(*g.log->AppendAndWait(PgSample(static_cast<int>(i))), i);
  }
  PgGateway g = OpenGateway(dsn_);
  ASSERT_TRUE(g.log) << g.open_status;
  EXPECT_EQ(g.log->size(), 3u);
  EXPECT_EQ(*g.log->AppendAndWait(PgSample(3)), 3u);
  auto lines = g.log->ReadLines(1, 2);
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 2u);
  auto r = ParseLine((*lines)[0]);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->index, 1u);
  EXPECT_EQ(r->message_id, "MSG-1");
  EXPECT_EQ(r->replica_id, "gw-a");
  EXPECT_TRUE(g.log->ReadLines(4, 10)->empty());
}

TEST_F(PgAuditLogTest, HostileStringsAndHugeFieldsAreStoredAsTheFileLogWritesThem) {
  PgGateway g = OpenGateway(dsn_);
  ASSERT_TRUE(g.log) << g.open_status;
  AuditRecord r = PgSample(0);
  r.message_id = "x\n{\"index\":99,\"action\":\"forged\"}";
  r.justification = "bad\xff\xfe utf8 \r\t\x01 and \"quotes\" \\ \u2028";
  r.actor_officer = std::string("nul\0inside", 10);
  ASSERT_TRUE(g.log->AppendAndWait(r).ok());
  AuditRecord huge = PgSample(1);
  huge.detail = std::string(3 * 1024 * 1024, 'A');
  for (int i = 0; i < 1000; ++i) huge.recipients.push_back("eu/party-" + std::to_string(i));
  ASSERT_TRUE(g.log->AppendAndWait(huge).ok());
  auto lines = g.log->ReadLines(0, 10);
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 2u);
  for (unsigned char c : (*lines)[0]) EXPECT_GE(c, 0x20) << "control character in the line";
  EXPECT_NE((*lines)[0].find("x\\u000a{\\\"index\\\":99"), std::string::npos) << (*lines)[0];
  EXPECT_NE((*lines)[0].find("\\ufffd"), std::string::npos) << (*lines)[0];
  EXPECT_NE((*lines)[0].find("nul\\u0000inside"), std::string::npos) << (*lines)[0];
  EXPECT_LT((*lines)[1].size(), 16u * 1024) << "one request made a huge record";
  EXPECT_NE((*lines)[1].find("...[cut: 3145728 bytes in all]"), std::string::npos);
  for (const std::string& line : *lines) EXPECT_TRUE(CheckLine(line).ok()) << "stored bytes differ from the sealed";
}

TEST_F(PgAuditLogTest, ProofsVerifyAgainstSignedCheckpoints) {
  PgGateway g = OpenGateway(dsn_, SignedOptions());
  ASSERT_TRUE(g.log) << g.open_status;
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(g.log->AppendAndWait(PgSample(i)).ok());
  auto old_cp = g.log->CheckpointNow();
  ASSERT_TRUE(old_cp.ok()) << old_cp.status();
  EXPECT_EQ(old_cp->size, 300u);
  for (int i = 300; i < 777; ++i) ASSERT_TRUE(g.log->AppendAndWait(PgSample(i)).ok());
  auto cp = g.log->CheckpointNow();
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->size, 777u);
  ASSERT_TRUE(g.log->LatestCheckpoint().has_value());
  EXPECT_EQ(g.log->LatestCheckpoint()->root, cp->root);
  EXPECT_TRUE(CheckpointVerifier::Load(PublicKey()).value()->Verify(*cp).ok());
  merkle::Hash root, old_root;
  ASSERT_TRUE(merkle::FromHex(cp->root, &root));
  ASSERT_TRUE(merkle::FromHex(old_cp->root, &old_root));
  for (uint64_t index : {0u, 255u, 256u, 511u, 776u}) {
    auto proof = g.log->InclusionProof(index, 777);
    ASSERT_TRUE(proof.ok()) << proof.status();
    std::vector<merkle::Hash> path;
    for (const auto& hex : *proof) merkle::FromHex(hex, &path.emplace_back());
    auto line = g.log->ReadLines(index, 1);
    ASSERT_TRUE(line.ok() && line->size() == 1);
    EXPECT_TRUE(merkle::VerifyInclusion(index, 777, merkle::LeafHash((*line)[0]), path, root)) << index;
  }
  auto consistency = g.log->ConsistencyProof(300, 777);
  ASSERT_TRUE(consistency.ok()) << consistency.status();
  std::vector<merkle::Hash> path;
  for (const auto& hex : *consistency) merkle::FromHex(hex, &path.emplace_back());
  EXPECT_TRUE(merkle::VerifyConsistency(300, 777, old_root, root, path));
  EXPECT_EQ(g.log->InclusionProof(3, 778).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(g.log->ConsistencyProof(3, 778).status().code(), absl::StatusCode::kOutOfRange);
  // Nothing new: the same checkpoint, not another one.
  EXPECT_EQ(g.log->CheckpointNow()->time_micros, cp->time_micros);
}

TEST_F(PgAuditLogTest, AFailedReadIsUnavailableAndTheLogStaysHealthy) {
  std::atomic<bool> fail{false};
  PgAuditLogOptions o;
  o.fault_injector = [&](absl::string_view op) {
    return fail && op == "read" ? absl::UnavailableError("injected read failure") : absl::OkStatus();
  };
  PgGateway g = OpenGateway(dsn_, o);
  ASSERT_TRUE(g.log) << g.open_status;
  ASSERT_TRUE(g.log->AppendAndWait(PgSample(0)).ok());
  fail = true;
  EXPECT_EQ(g.log->ReadLines(0, 1).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(g.log->InclusionProof(0, 1).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(g.log->ConsistencyProof(1, 1).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(g.log->Health().ok());
  EXPECT_EQ(*g.log->AppendAndWait(PgSample(1)), 1u);
  fail = false;
  EXPECT_EQ(g.log->ReadLines(0, 5)->size(), 2u);
}

TEST_F(PgAuditLogTest, ATornWitnessLineIsCutSoTheNextCopyStandsAlone) {
  const std::string witness_dir = MakeTempDir("pg-audit-torn-witness");
  {
    PgGateway g = OpenGateway(dsn_, SignedOptions(witness_dir));
    ASSERT_TRUE(g.log) << g.open_status;
    ASSERT_TRUE(g.log->AppendAndWait(PgSample(0)).ok());
  }
  std::ofstream(witness_dir + "/checkpoints.log", std::ios::app | std::ios::binary) << "{\"size\":2,\"root\":\"4b41";
  PgGateway g = OpenGateway(dsn_, SignedOptions(witness_dir));
  ASSERT_TRUE(g.log) << g.open_status;
  ASSERT_TRUE(g.log->AppendAndWait(PgSample(1)).ok());
  ASSERT_TRUE(g.log->CheckpointNow().ok());
  Exported e = Export(*g.log, MakeTempDir("pg-audit-torn-witness-export"));
  g.log.reset();
  VerifyReport r = VerifyExport(e, {witness_dir + "/checkpoints.log"});
  EXPECT_FALSE(r.problem.has_value()) << r.problem->message;
  EXPECT_EQ(r.witness_checkpoints, 2u);
}

TEST_F(PgAuditLogTest, NoSigningKeyMeansNoCheckpoints) {
  PgGateway g = OpenGateway(dsn_);
  ASSERT_TRUE(g.log) << g.open_status;
  ASSERT_TRUE(g.log->AppendAndWait(PgSample(0)).ok());
  EXPECT_EQ(g.log->CheckpointNow().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(g.log->LatestCheckpoint().has_value());
}

// The lead's one-transaction acceptance: the record and the caller's own rows
// commit together or not at all, and a rolled-back record leaves no gap.
TEST_F(PgAuditLogTest, AppendInTxCommitsWithTheCallersRowsOrNotAtAll) {
  PgGateway g = OpenGateway(dsn_);
  ASSERT_TRUE(g.log) << g.open_status;
  ASSERT_TRUE(g.log->AppendAndWait(PgSample(0)).ok());
  uint64_t index = 0;
  auto op = [&](const char* recipient) {
    return [&, recipient](pg::Tx& tx) -> absl::Status {
      auto i = g.log->AppendInTx(tx, PgSample(1));
      if (!i.ok()) return i.status();
      index = *i;
      return tx.conn().Run("INSERT INTO pull_cursors(recipient, acked_seq) VALUES ($1, 1)", {recipient});
    };
  };
  ASSERT_TRUE(g.writer->Run(op("eu/europol")).ok());
  EXPECT_EQ(index, 1u);
  g.log->NoteDurable(index);
  EXPECT_EQ(g.log->size(), 2u);
  // The same recipient again: the store row fails, so the record goes too.
  EXPECT_FALSE(g.writer->Run(op("eu/europol")).ok());
  EXPECT_EQ(g.log->size(), 2u);
  EXPECT_EQ(*g.log->AppendAndWait(PgSample(2)), 2u) << "the rolled-back record left a gap";
  auto lines = g.log->ReadLines(0, 10);
  ASSERT_TRUE(lines.ok());
  ASSERT_EQ(lines->size(), 3u);
  EXPECT_NE((*lines)[1].find("MSG-1"), std::string::npos);
  EXPECT_NE((*lines)[2].find("MSG-2"), std::string::npos);
}

TEST_F(PgAuditLogTest, AFailedCommitAcknowledgesNothingAndLeavesNoGap) {
  std::atomic<bool> fail{false};
  PgGateway g;
  g.pool = std::make_unique<pg::Pool>(dsn_, 4, 5);
  {
    auto conn = pg::Connection::Open(dsn_);
    ASSERT_TRUE(conn.ok()) << conn.status();
    ASSERT_TRUE(pg::PrepareSchema(**conn).ok());
  }
  pg::GroupWriter::Options wo;
  wo.dsn = dsn_;
  wo.fault_injector = [&](absl::string_view point) {
    return fail && point == "commit" ? absl::UnavailableError("injected") : absl::OkStatus();
  };
  g.writer = pg::GroupWriter::Start(wo).value();
  PgAuditLogOptions o;
  o.writer = g.writer.get();
  o.pool = g.pool.get();
  g.log = PgAuditLog::Open(o).value();
  ASSERT_EQ(*g.log->AppendAndWait(PgSample(0)), 0u);
  fail = true;
  EXPECT_FALSE(g.log->AppendAndWait(PgSample(1)).ok());
  fail = false;
  EXPECT_EQ(*g.log->AppendAndWait(PgSample(2)), 1u);
  EXPECT_EQ(g.log->size(), 2u);
  EXPECT_NE(g.log->ReadLines(1, 1)->at(0).find("MSG-2"), std::string::npos);
}

// A committed checkpoint whose witness copy was lost (the copy failed, or
// COMMIT's answer was lost and the rerun found nothing new to sign) reaches
// the witness at the signer's next run.
TEST_F(PgAuditLogTest, ACheckpointTheWitnessLacksIsCopiedAtTheNextRun) {
  const std::string dir = MakeTempDir("pg_audit_witness_retry");
  std::atomic<bool> fail{false};
  PgAuditLogOptions o = SignedOptions(dir);
  o.fault_injector = [&](absl::string_view op) {
    return fail && op == "witness" ? absl::UnavailableError("injected witness failure") : absl::OkStatus();
  };
  PgGateway g = OpenGateway(dsn_, o);
  ASSERT_TRUE(g.log) << g.open_status;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(g.log->AppendAndWait(PgSample(i)).ok());
  fail = true;
  auto cp = g.log->CheckpointNow();
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->size, 4u);
  EXPECT_EQ(g.log->witness_failures(), 1u);
  EXPECT_TRUE(LinesOf(dir + "/checkpoints.log").empty());
  fail = false;
  auto again = g.log->CheckpointNow();  // Nothing new to sign.
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->time_micros, cp->time_micros);
  EXPECT_EQ(g.log->checkpoints_signed(), 1u);
  EXPECT_EQ(LinesOf(dir + "/checkpoints.log"), std::vector<std::string>{CheckpointToLine(*cp)});
  EXPECT_TRUE(g.log->CheckpointNow().ok());
  EXPECT_EQ(LinesOf(dir + "/checkpoints.log").size(), 1u) << "copied twice";
  // A copy a crash interrupted is cut off; the line before it is not copied again.
  {
    std::ofstream torn(dir + "/checkpoints.log", std::ios::binary | std::ios::app);
    torn << "{\"size\":";
  }
  EXPECT_TRUE(g.log->CheckpointNow().ok());
  EXPECT_EQ(LinesOf(dir + "/checkpoints.log"), std::vector<std::string>{CheckpointToLine(*cp)});
}

// The signer learns the leaves it signs (here another gateway's records)
// through the connection it holds (its lock and transaction), never a second
// one from the pool: with a pool of one it signs at once instead of waiting
// for itself and failing.
TEST_F(PgAuditLogTest, TheSignerNeedsNoSecondPoolConnection) {
  PgGateway other = OpenGateway(dsn_);
  ASSERT_TRUE(other.log) << other.open_status;
  PgGateway g = OpenGateway(dsn_);
  ASSERT_TRUE(g.log) << g.open_status;
  g.log.reset();  // Replaced by one on a pool of one connection.
  auto one = std::make_unique<pg::Pool>(dsn_, 1, 5);
  PgAuditLogOptions o = SignedOptions();
  o.writer = g.writer.get();
  o.pool = one.get();
  auto log = PgAuditLog::Open(o);
  ASSERT_TRUE(log.ok()) << log.status();
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(other.log->AppendAndWait(PgSample(i)).ok());
  const auto start = std::chrono::steady_clock::now();
  auto cp = (*log)->CheckpointNow();
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->size, 300u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4)) << "the signer waited for the pool";
  log->reset();
}

// As a restore from an older backup, or a failover to a lagging standby,
// leaves it: the last records gone and the head set back, in one transaction.
void RewindTo(const std::string& dsn, const std::vector<std::string>& lines, uint64_t size) {
  auto h = CheckLine(lines[size - 1]);
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_TRUE(Sql(dsn, absl::StrCat("BEGIN; DELETE FROM audit_records WHERE idx >= ", size,
                                    "; UPDATE portcullis_head SET audit_size = ", size, ", audit_head = '", h->hash,
                                    "' WHERE id = 1; COMMIT;")
                           .c_str())
                  .ok());
}

uint64_t Count(const std::string& dsn, const char* table) {
  auto conn = pg::Connection::Open(dsn);
  if (!conn.ok()) return ~uint64_t{0};
  auto res = (*conn)->Exec(absl::StrCat("SELECT count(*) FROM ", table).c_str());
  return res.ok() ? static_cast<uint64_t>(res->Int(0, 0)) : ~uint64_t{0};
}

TEST_F(PgAuditLogTest, AnAppendToADatabaseBehindWhatWasCommittedIsDataLoss) {
  PgGateway g = OpenGateway(dsn_, SignedOptions());
  ASSERT_TRUE(g.log) << g.open_status;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(g.log->AppendAndWait(PgSample(i)).ok());
  auto lines = g.log->ReadLines(0, 5);
  ASSERT_TRUE(lines.ok() && lines->size() == 5u);
  RewindTo(dsn_, *lines, 3);
  auto appended = g.log->AppendAndWait(PgSample(5));
  EXPECT_EQ(appended.status().code(), absl::StatusCode::kDataLoss) << "appended at " << appended.value_or(0);
  EXPECT_EQ(g.log->Health().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(g.log->AppendAndWait(PgSample(6)).status().code(), absl::StatusCode::kDataLoss) << "not sticky";
  EXPECT_EQ(g.log->CheckpointNow().status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(g.log->checkpoints_signed(), 0u);
  g.log.reset();  // No final checkpoint either.
  EXPECT_EQ(Count(dsn_, "audit_records"), 3u);
  EXPECT_EQ(Count(dsn_, "audit_checkpoints"), 0u);
}

TEST_F(PgAuditLogTest, ACatchUpFromADatabaseBehindWhatWasCommittedIsDataLoss) {
  PgGateway g = OpenGateway(dsn_, SignedOptions());
  ASSERT_TRUE(g.log) << g.open_status;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(g.log->AppendAndWait(PgSample(i)).ok());
  auto lines = g.log->ReadLines(0, 5);
  ASSERT_TRUE(lines.ok() && lines->size() == 5u);
  RewindTo(dsn_, *lines, 4);
  EXPECT_EQ(g.log->ReadLines(0, 10).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(g.log->Health().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(g.log->CheckpointNow().status().code(), absl::StatusCode::kDataLoss);
  g.log.reset();
  EXPECT_EQ(Count(dsn_, "audit_checkpoints"), 0u);
}

}  // namespace
}  // namespace portcullis::testing
