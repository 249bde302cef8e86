// Tamper evidence of PgAuditLog: tampering in the database (a line updated,
// re-hashed, a row deleted, the tail cut with or without its checkpoints, a
// forged checkpoint, the head edited) makes Open refuse (DATA_LOSS) and
// change nothing; what Open does not check (a line before the latest
// checkpoint, its leaf hash untouched) is found on an export; and every
// tamper class of audit_tamper_test.cc is found by the offline verifier on
// an export made through the AuditLog interface.
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/pg_audit_test_support.h"

namespace portcullis::testing {
namespace {

constexpr int kSigned = 50;    // Records covered by checkpoints (one every 10).
constexpr int kUnsigned = 5;   // Then records after the latest checkpoint.

struct SampleDb {
  std::unique_ptr<PgCluster> cluster;
  std::string dsn, dir, witness_dir;
};

// kSigned records with a checkpoint every 10 (copied to a witness), then
// kUnsigned more by a gateway without a key.
void MakeSample(SampleDb* s, const std::string& name) {
  auto pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << "PostgreSQL could not be started: " << pg.status();
  s->cluster = *std::move(pg);
  s->dsn = FreshDatabase(*s->cluster, "audit");
  s->dir = MakeTempDir("pg-tamper-" + name);
  s->witness_dir = s->dir + "/witness";
  std::filesystem::create_directories(s->witness_dir);
  {
    PgGateway g = OpenGateway(s->dsn, SignedOptions(s->witness_dir));
    ASSERT_TRUE(g.log) << g.open_status;
    for (int i = 0; i < kSigned; ++i) {
      ASSERT_TRUE(g.log->AppendAndWait(PgSample(i)).ok());
      if ((i + 1) % 10 == 0) {
        ASSERT_TRUE(g.log->CheckpointNow().ok());
      }
    }
  }
  PgGateway g = OpenGateway(s->dsn);
  ASSERT_TRUE(g.log) << g.open_status;
  for (int i = kSigned; i < kSigned + kUnsigned; ++i) ASSERT_TRUE(g.log->AppendAndWait(PgSample(i)).ok());
}

// The line at `idx` and the hash of the one before it.
std::string LineAt(const std::string& dsn, int idx) {
  auto conn = pg::Connection::Open(dsn);
  auto res = (*conn)->Exec("SELECT line FROM audit_records WHERE idx = $1", {idx});
  return res.ok() && res->rows() == 1 ? std::string(res->Text(0, 0)) : "";
}

// Replaces the line at `idx` (and, if `with_leaf`, its leaf hash) in the database.
void SetLine(const std::string& dsn, int idx, const std::string& line, bool with_leaf) {
  auto conn = pg::Connection::Open(dsn);
  ASSERT_TRUE(conn.ok());
  const merkle::Hash leaf = merkle::LeafHash(line);
  absl::Status s = with_leaf ? (*conn)->Run("UPDATE audit_records SET line = $2, leaf_hash = $3 WHERE idx = $1",
                                            {idx, line, pg::Param::Bytes(std::string(leaf.begin(), leaf.end()))})
                             : (*conn)->Run("UPDATE audit_records SET line = $2 WHERE idx = $1", {idx, line});
  ASSERT_TRUE(s.ok()) << s;
}

// The record at `idx` with its outcome changed, sealed into the chain as
// someone who knows the format (not the key) would.
std::string Resealed(const std::string& dsn, int idx) {
  auto r = ParseLine(LineAt(dsn, idx));
  EXPECT_TRUE(r.ok());
  r->outcome = "refused";
  std::string unused;
  return SealLine(*r, CheckLine(LineAt(dsn, idx - 1))->hash, &unused);
}

struct OpenCase {
  std::string name;
  std::function<void(const SampleDb&)> tamper;
  std::string words;  // In Open's refusal.
};
void PrintTo(const OpenCase& c, std::ostream* os) { *os << c.name; }

class TamperInTheDatabase : public ::testing::TestWithParam<OpenCase> {};

TEST_P(TamperInTheDatabase, IsRefusedAtOpenAndNothingChanges) {
  SampleDb s;
  ASSERT_NO_FATAL_FAILURE(MakeSample(&s, GetParam().name));
  {
    PgGateway clean = OpenGateway(s.dsn, SignedOptions(s.witness_dir));
    ASSERT_TRUE(clean.log) << "the untouched database is refused: " << clean.open_status;
    EXPECT_EQ(clean.log->size(), uint64_t{kSigned + kUnsigned}) << "records after the last checkpoint are fine";
  }
  // (The clean open's final checkpoint covers the unsigned records now; the
  // tampering below is of a database signed to its end or of its tail.)
  GetParam().tamper(s);
  const std::string before = Dump(s.dsn);
  PgGateway g = OpenGateway(s.dsn, SignedOptions(s.witness_dir));
  EXPECT_FALSE(g.log) << "the gateway started on a tampered database";
  EXPECT_EQ(g.open_status.code(), absl::StatusCode::kDataLoss) << g.open_status;
  EXPECT_THAT(std::string(g.open_status.message()), ::testing::HasSubstr(GetParam().words));
  EXPECT_EQ(Dump(s.dsn), before) << "Open changed the database before refusing";
}

// Appends one record without a checkpoint after it (a gateway without a key).
void AppendUnsigned(const SampleDb& s, int i) {
  PgGateway g = OpenGateway(s.dsn);
  ASSERT_TRUE(g.log) << g.open_status;
  ASSERT_TRUE(g.log->AppendAndWait(PgSample(i)).ok());
}

INSTANTIATE_TEST_SUITE_P(
    Matrix, TamperInTheDatabase,
    ::testing::Values(
        OpenCase{"line_updated_after_the_checkpoint",
                 [](const SampleDb& s) {
                   for (int i = 0; i < 3; ++i) AppendUnsigned(s, 100 + i);  // 55..57, unsigned.
                   std::string line = LineAt(s.dsn, 56);
                   line[line.find("MSG-101") + 6] = '9';
                   SetLine(s.dsn, 56, line, /*with_leaf=*/true);
                 },
                 "record 56 does not fit the chain"},
        OpenCase{"line_rehashed_after_the_checkpoint",
                 [](const SampleDb& s) {
                   for (int i = 0; i < 3; ++i) AppendUnsigned(s, 100 + i);
                   SetLine(s.dsn, 56, Resealed(s.dsn, 56), /*with_leaf=*/true);
                 },
                 "record 57 does not fit the chain: its prev"},
        OpenCase{"line_and_leaf_rewritten_before_the_checkpoint",
                 [](const SampleDb& s) { SetLine(s.dsn, 20, Resealed(s.dsn, 20), /*with_leaf=*/true); },
                 "do not match the checkpoint"},
        OpenCase{"row_deleted",
                 [](const SampleDb& s) { ASSERT_TRUE(Sql(s.dsn, "DELETE FROM audit_records WHERE idx = 23").ok()); },
                 "the head row counts 55 records but audit_records holds 54"},
        OpenCase{"tail_cut_and_the_head_fixed",
                 [](const SampleDb& s) {
                   const std::string hash = CheckLine(LineAt(s.dsn, 44))->hash;
                   ASSERT_TRUE(Sql(s.dsn, "DELETE FROM audit_records WHERE idx >= 45").ok());
                   auto conn = pg::Connection::Open(s.dsn);
                   ASSERT_TRUE((*conn)->Run("UPDATE portcullis_head SET audit_size = 45, audit_head = $1", {hash}).ok());
                 },
                 "records were deleted"},
        OpenCase{"tail_cut_with_its_checkpoints",  // Only the witness still knows.
                 [](const SampleDb& s) {
                   const std::string hash = CheckLine(LineAt(s.dsn, 34))->hash;
                   ASSERT_TRUE(Sql(s.dsn, "DELETE FROM audit_records WHERE idx >= 35; "
                                          "DELETE FROM audit_checkpoints WHERE tree_size > 30")
                                   .ok());
                   auto conn = pg::Connection::Open(s.dsn);
                   ASSERT_TRUE((*conn)->Run("UPDATE portcullis_head SET audit_size = 35, audit_head = $1", {hash}).ok());
                 },
                 "witness/checkpoints.log covers"},
        OpenCase{"forged_checkpoint",
                 [](const SampleDb& s) {
                   auto conn = pg::Connection::Open(s.dsn);
                   auto res = (*conn)->Exec("SELECT line FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1");
                   ASSERT_TRUE(res.ok() && res->rows() == 1);
                   auto c = CheckpointFromLine(res->Text(0, 0));
                   c->size += 1;
                   c->root = std::string(64, 'b');
                   AppendUnsigned(s, 100);
                   ASSERT_TRUE((*conn)->Run("INSERT INTO audit_checkpoints VALUES ($1, $2)",
                                            {c->size, CheckpointToLine(*c)}).ok());
                 },
                 "is not validly signed"},
        OpenCase{"head_hash_edited",
                 [](const SampleDb& s) {
                   AppendUnsigned(s, 100);
                   ASSERT_TRUE(Sql(s.dsn, "UPDATE portcullis_head SET audit_head = repeat('c', 64)").ok());
                 },
                 "the head row's hash is not the last record's"}),
    [](const ::testing::TestParamInfo<OpenCase>& info) { return info.param.name; });

TEST(PgAuditTamper, AHeadThatCountsTooFewIsStickyDataLossWhileRunning) {
  SampleDb s;
  ASSERT_NO_FATAL_FAILURE(MakeSample(&s, "head-behind"));
  PgGateway g = OpenGateway(s.dsn);
  ASSERT_TRUE(g.log) << g.open_status;
  ASSERT_TRUE(Sql(s.dsn, "UPDATE portcullis_head SET audit_size = audit_size - 1").ok());
  auto index = g.log->AppendAndWait(PgSample(100));
  EXPECT_EQ(index.status().code(), absl::StatusCode::kDataLoss) << index.status();
  EXPECT_EQ(g.log->Health().code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(Sql(s.dsn, "UPDATE portcullis_head SET audit_size = audit_size + 1").ok());
  EXPECT_EQ(g.log->AppendAndWait(PgSample(101)).status().code(), absl::StatusCode::kDataLoss) << "not sticky";
}

// The export `portcullis-audit` makes through the gateway verifies, and each
// tamper class on it is found with its kind and index.
TEST(PgAuditTamper, TheExportVerifiesAndEveryTamperClassOnItIsFound) {
  SampleDb s;
  ASSERT_NO_FATAL_FAILURE(MakeSample(&s, "export"));
  PgGateway g = OpenGateway(s.dsn, SignedOptions(s.witness_dir));
  ASSERT_TRUE(g.log) << g.open_status;
  ASSERT_TRUE(g.log->CheckpointNow().ok());
  const std::string witness = s.witness_dir + "/checkpoints.log";
  const Exported clean = Export(*g.log, s.dir + "/clean");
  g.log.reset();  // The witness has every copy.
  constexpr uint64_t kAll = kSigned + kUnsigned;
  {
    VerifyReport r = VerifyExport(clean, {witness});
    EXPECT_FALSE(r.problem.has_value()) << r.problem->message;
    EXPECT_EQ(r.records, kAll);
    EXPECT_EQ(r.signed_size, kAll);
    EXPECT_GE(r.witness_checkpoints, uint64_t{kSigned / 10});
    EXPECT_TRUE(r.signatures_checked);
  }
  struct Case {
    const char* name;
    std::function<void(std::vector<std::string>*, std::vector<std::string>*)> tamper;  // lines, checkpoints
    TamperKind kind;
    uint64_t index;
  };
  const std::vector<Case> cases = {
      {"edited", [](auto* l, auto*) { (*l)[17][(*l)[17].find("MSG-17") + 4] ^= 0x01; }, TamperKind::kModified, 17},
      {"deleted", [](auto* l, auto*) { l->erase(l->begin() + 23); }, TamperKind::kDeleted, 23},
      {"reordered", [](auto* l, auto*) { std::swap((*l)[12], (*l)[13]); }, TamperKind::kReordered, 12},
      {"truncated", [](auto* l, auto*) { l->resize(45); }, TamperKind::kTruncated, 45},
      {"forged_checkpoint",
       [](auto*, auto* c) {
         auto cp = CheckpointFromLine(c->back());
         cp->root = std::string(64, 'b');
         c->push_back(CheckpointToLine(*cp));
       },
       TamperKind::kCheckpointInvalid, kAll},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Exported e = clean;
    e.log = s.dir + "/" + c.name + ".log";
    e.checkpoints = e.log + ".checkpoints";
    std::vector<std::string> lines = LinesOf(clean.log), checkpoints = LinesOf(clean.checkpoints);
    c.tamper(&lines, &checkpoints);
    WriteLines(e.log, lines);
    WriteLines(e.checkpoints, checkpoints);
    VerifyReport r = VerifyExport(e, {witness});
    ASSERT_TRUE(r.problem.has_value()) << "not detected";
    EXPECT_STREQ(TamperKindName(r.problem->kind), TamperKindName(c.kind)) << r.problem->message;
    EXPECT_EQ(r.problem->index, c.index) << r.problem->message;
  }
  // A line changed in the database before the latest checkpoint, its leaf
  // hash left alone: Open checks the chain from the checkpoint on and the
  // tree from the leaf hashes, so it starts; the export shows it.
  std::string line = LineAt(s.dsn, 20);
  line[line.find("MSG-20") + 5] = '1';
  SetLine(s.dsn, 20, line, /*with_leaf=*/false);
  PgGateway again = OpenGateway(s.dsn, SignedOptions(s.witness_dir));
  ASSERT_TRUE(again.log) << again.open_status;
  VerifyReport r = VerifyExport(Export(*again.log, s.dir + "/db-edited"), {witness});
  ASSERT_TRUE(r.problem.has_value()) << "an edit in the database not found on the export";
  EXPECT_EQ(r.problem->kind, TamperKind::kModified) << r.problem->message;
  EXPECT_EQ(r.problem->index, 20u);
}

}  // namespace
}  // namespace portcullis::testing
