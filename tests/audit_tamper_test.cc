// Tamper evidence of the audit log: each kind of tampering is found by
// VerifyLog with the right index and kind, and the gateway's own recovery
// refuses to start on it. Real files, real Ed25519 keys from the dev PKI.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/audit/file_audit_log.h"
#include "gateway/audit/log_format.h"
#include "gateway/audit/log_verifier.h"
#include "tests/support/harness.h"

namespace portcullis::testing {
namespace {
namespace fs = std::filesystem;

constexpr int kRecords = 50;
constexpr int kCheckpointEvery = 10;

std::vector<std::string> ReadLinesOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

void WriteLinesTo(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const auto& l : lines) out << l << '\n';
}

std::string SigningKey() { return PkiDir() + "/audit/signing.key"; }
std::string PublicKey() { return PkiDir() + "/audit/signing.pub"; }

AuditRecord Sample(int i) {
  AuditRecord r;
  r.time_micros = NowMicros();
  r.action = i % 3 == 0 ? "submit" : (i % 3 == 1 ? "deliver" : "acknowledge");
  r.actor_party = "uk/border-force";
  r.actor_officer = "BF-" + std::to_string(1000 + i);
  r.message_id = "MSG-" + std::to_string(i);
  r.case_reference = "BF-2026-" + std::to_string(4500 + i / 5);
  r.sender = "uk/border-force";
  r.recipients = {"eu/europol"};
  r.classification = "OFFICIAL_SENSITIVE";
  r.justification = "DPA 2018 s.35 | facilitation network";
  r.outcome = "accepted";
  r.payload_sha256 = std::string(64, 'a');
  return r;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// A log of kRecords records with checkpoints every kCheckpointEvery, and a witness.
struct SampleLog {
  std::string dir, log, checkpoints, witness;
};

SampleLog MakeLog(const std::string& name) {
  SampleLog s;
  s.dir = MakeTempDir("tamper-" + name);
  s.log = s.dir + "/audit.log";
  s.checkpoints = s.log + ".checkpoints";
  fs::create_directories(s.dir + "/witness");
  s.witness = s.dir + "/witness/checkpoints.log";
  FileAuditLogOptions o;
  o.path = s.log;
  o.signing_key = SigningKey();
  o.checkpoint_every_records = kCheckpointEvery;
  o.witness_dir = s.dir + "/witness";
  auto log = FileAuditLog::Open(o);
  EXPECT_TRUE(log.ok()) << log.status();
  for (int i = 0; i < kRecords; ++i) {
    EXPECT_TRUE((*log)->AppendAndWait(Sample(i)).ok());
    if ((i + 1) % kCheckpointEvery == 0) {
      EXPECT_TRUE((*log)->CheckpointNow().ok());
    }
  }
  return s;
}

VerifyReport Verify(const SampleLog& s, bool with_witness = true) {
  VerifyOptions o;
  o.log_path = s.log;
  o.public_key_path = PublicKey();
  if (with_witness) o.witness_paths = {s.witness};
  auto report = VerifyLog(o);
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? *report : VerifyReport{};
}

// Re-seals every line from `from` on with a consistent chain, as someone
// who knows the format but not the signing key would.
void Reseal(std::vector<std::string>* lines, size_t from) {
  std::string prev = from == 0 ? kGenesisHash : CheckLine((*lines)[from - 1])->hash;
  for (size_t i = from; i < lines->size(); ++i) {
    auto r = ParseLine((*lines)[i]);
    ASSERT_TRUE(r.ok());
    (*lines)[i] = SealLine(*r, prev, &prev);
  }
}

TEST(AuditTamper, UntouchedLogVerifies) {
  SampleLog s = MakeLog("clean");
  VerifyReport r = Verify(s);
  EXPECT_FALSE(r.problem.has_value()) << r.problem->message;
  EXPECT_EQ(r.records, uint64_t{kRecords});
  EXPECT_EQ(r.signed_size, uint64_t{kRecords});
  EXPECT_GE(r.checkpoints, uint64_t{kRecords / kCheckpointEvery});
  EXPECT_GE(r.witness_checkpoints, uint64_t{kRecords / kCheckpointEvery});
  EXPECT_TRUE(r.signatures_checked);
}

struct TamperCase {
  std::string name;
  std::function<void(const SampleLog&)> tamper;
  TamperKind kind;
  uint64_t index;
};

void PrintTo(const TamperCase& c, std::ostream* os) { *os << c.name; }

class Tampering : public ::testing::TestWithParam<TamperCase> {};

TEST_P(Tampering, IsDetectedWithIndexAndKind) {
  SampleLog s = MakeLog(GetParam().name);
  GetParam().tamper(s);
  VerifyReport r = Verify(s);
  ASSERT_TRUE(r.problem.has_value()) << "tampering not detected";
  EXPECT_EQ(TamperKindName(r.problem->kind), std::string(TamperKindName(GetParam().kind))) << r.problem->message;
  EXPECT_EQ(r.problem->index, GetParam().index) << r.problem->message;

  // The gateway refuses to start on it, and changes nothing.
  const auto before = ReadLinesOf(s.log);
  FileAuditLogOptions o;
  o.path = s.log;
  o.signing_key = SigningKey();
  o.witness_dir = s.dir + "/witness";
  auto log = FileAuditLog::Open(o);
  // Start-up checks the chain and the latest local and witness checkpoints
  // (signature, size, root); an older witness line altered is for verify.
  if (GetParam().name != "witness_copy_altered") {
    EXPECT_FALSE(log.ok()) << "the gateway started on a tampered log";
  }
  log = absl::UnknownError("closed");  // Close before comparing.
  EXPECT_EQ(ReadLinesOf(s.log), before);
}

INSTANTIATE_TEST_SUITE_P(
    Matrix, Tampering,
    ::testing::Values(
        TamperCase{"flipped_byte",
                   [](const SampleLog& s) {
                     auto lines = ReadLinesOf(s.log);
                     size_t at = lines[17].find("MSG-17");
                     lines[17][at + 4] ^= 0x01;  // '1' -> '0'
                     WriteLinesTo(s.log, lines);
                   },
                   TamperKind::kModified, 17},
        TamperCase{"modified_and_rehashed",
                   [](const SampleLog& s) {
                     auto lines = ReadLinesOf(s.log);
                     auto r = ParseLine(lines[8]);
                     r->outcome = "refused";
                     std::string unused;
                     lines[8] = SealLine(*r, CheckLine(lines[7])->hash, &unused);
                     WriteLinesTo(s.log, lines);
                   },
                   TamperKind::kModified, 8},
        TamperCase{"deleted_record",
                   [](const SampleLog& s) {
                     auto lines = ReadLinesOf(s.log);
                     lines.erase(lines.begin() + 23);
                     WriteLinesTo(s.log, lines);
                   },
                   TamperKind::kDeleted, 23},
        TamperCase{"inserted_record",
                   [](const SampleLog& s) {
                     auto lines = ReadLinesOf(s.log);
                     AuditRecord forged = Sample(99);
                     forged.index = 30;
                     std::string unused;
                     lines.insert(lines.begin() + 30, SealLine(forged, CheckLine(lines[29])->hash, &unused));
                     WriteLinesTo(s.log, lines);
                   },
                   TamperKind::kInserted, 30},
        TamperCase{"swapped_records",
                   [](const SampleLog& s) {
                     auto lines = ReadLinesOf(s.log);
                     std::swap(lines[12], lines[13]);
                     WriteLinesTo(s.log, lines);
                   },
                   TamperKind::kReordered, 12},
        TamperCase{"truncated_tail",
                   [](const SampleLog& s) {
                     auto lines = ReadLinesOf(s.log);
                     lines.resize(45);
                     WriteLinesTo(s.log, lines);
                   },
                   TamperKind::kTruncated, 45},
        TamperCase{"truncated_with_its_checkpoints",  // Only the witness still knows.
                   [](const SampleLog& s) {
                     auto lines = ReadLinesOf(s.log);
                     lines.resize(35);
                     WriteLinesTo(s.log, lines);
                     auto cps = ReadLinesOf(s.checkpoints);
                     std::vector<std::string> kept;
                     for (const auto& c : cps)
                       if (CheckpointFromLine(c)->size <= 30) kept.push_back(c);
                     WriteLinesTo(s.checkpoints, kept);
                   },
                   TamperKind::kTruncated, 35},
        TamperCase{"rewritten_and_rehashed",
                   [](const SampleLog& s) {
                     auto lines = ReadLinesOf(s.log);
                     auto r = ParseLine(lines[20]);
                     r->recipients = {"eu/fr-dnpaf"};
                     std::string unused;
                     lines[20] = SealLine(*r, CheckLine(lines[19])->hash, &unused);
                     Reseal(&lines, 21);
                     WriteLinesTo(s.log, lines);
                   },
                   TamperKind::kRewritten, 20},
        TamperCase{"whole_log_rewritten",
                   [](const SampleLog& s) {
                     auto lines = ReadLinesOf(s.log);
                     auto r = ParseLine(lines[0]);
                     r->actor_officer = "SOMEONE-ELSE";
                     lines[0] = SealLine(*r, kGenesisHash, &r->detail);
                     Reseal(&lines, 1);
                     WriteLinesTo(s.log, lines);
                   },
                   TamperKind::kRewritten, 0},
        TamperCase{"forged_checkpoint",
                   [](const SampleLog& s) {
                     auto cps = ReadLinesOf(s.checkpoints);
                     auto c = CheckpointFromLine(cps.back());
                     c->root = std::string(64, 'b');
                     cps.push_back(CheckpointToLine(*c));
                     WriteLinesTo(s.checkpoints, cps);
                   },
                   TamperKind::kCheckpointInvalid, kRecords},
        TamperCase{"witness_copy_altered",
                   [](const SampleLog& s) {
                     auto w = ReadLinesOf(s.witness);
                     auto c = CheckpointFromLine(w.front());
                     c->root = std::string(64, 'c');
                     w.front() = CheckpointToLine(*c);
                     WriteLinesTo(s.witness, w);
                   },
                   TamperKind::kCheckpointInvalid, kCheckpointEvery}),
    [](const ::testing::TestParamInfo<TamperCase>& info) { return info.param.name; });

TEST(AuditTamper, TwoHistoriesUnderOneKeyAreCaughtByTheWitness) {
  // The gateway (or whoever holds its key) shows the auditor one history and
  // gave the witness another: the witness copy exposes the fork.
  SampleLog a = MakeLog("fork-a");
  SampleLog b = MakeLog("fork-b");  // Same key, different record times: different roots.
  VerifyOptions o;
  o.log_path = a.log;
  o.public_key_path = PublicKey();
  o.witness_paths = {b.witness};
  auto r = VerifyLog(o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->problem.has_value());
  EXPECT_EQ(r->problem->kind, TamperKind::kWitnessMismatch) << r->problem->message;
  EXPECT_EQ(r->problem->index, uint64_t{kCheckpointEvery});
}

TEST(AuditTamper, ALogWithoutAnyCheckpointIsNotPassedAsProven) {
  SampleLog s = MakeLog("no-checkpoints");
  fs::remove(s.log + ".checkpoints");
  VerifyReport r = Verify(s, /*with_witness=*/false);
  ASSERT_TRUE(r.problem.has_value());
  EXPECT_STREQ(TamperKindName(r.problem->kind), "unsigned");
  EXPECT_EQ(r.problem->index, 0u);
  // With the witness's copies the log is proven again.
  EXPECT_FALSE(Verify(s).problem.has_value());
}

TEST(AuditRecovery, TornTailIsTruncatedAndTheLogContinues) {
  SampleLog s = MakeLog("torn");
  std::ofstream(s.log, std::ios::app | std::ios::binary) << "{\"index\":50,\"time\":\"2026-";
  FileAuditLogOptions o;
  o.path = s.log;
  o.signing_key = SigningKey();
  {
    auto log = FileAuditLog::Open(o);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->size(), uint64_t{kRecords});
    auto index = (*log)->AppendAndWait(Sample(50));
    ASSERT_TRUE(index.ok());
    EXPECT_EQ(*index, uint64_t{kRecords});
  }
  VerifyReport r = Verify(s);
  EXPECT_FALSE(r.problem.has_value()) << r.problem->message;
  EXPECT_EQ(r.records, uint64_t{kRecords + 1});
}

TEST(AuditRecovery, TornCheckpointLinesAreCutSoTheNextCheckpointStandsAlone) {
  SampleLog s = MakeLog("torn-checkpoint");
  for (const std::string& f : {s.log + ".checkpoints", s.dir + "/witness/checkpoints.log"}) {
    std::ofstream(f, std::ios::app | std::ios::binary) << "{\"size\":50,\"root\":\"4b41";
  }
  FileAuditLogOptions o;
  o.path = s.log;
  o.signing_key = SigningKey();
  o.witness_dir = s.dir + "/witness";
  {
    auto log = FileAuditLog::Open(o);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE((*log)->AppendAndWait(Sample(50)).ok());
    ASSERT_TRUE((*log)->CheckpointNow().ok());
  }
  VerifyReport r = Verify(s);
  EXPECT_FALSE(r.problem.has_value()) << r.problem->message;
  EXPECT_EQ(r.signed_size, uint64_t{kRecords + 1});
  auto again = FileAuditLog::Open(o);
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST(AuditRecovery, LeafFileIsRebuiltWhenItDisagrees) {
  SampleLog s = MakeLog("leaves");
  fs::resize_file(s.log + ".leaves", 32 * 7);
  FileAuditLogOptions o;
  o.path = s.log;
  o.signing_key = SigningKey();
  auto log = FileAuditLog::Open(o);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(fs::file_size(s.log + ".leaves"), uint64_t{32 * kRecords});
  EXPECT_TRUE((*log)->InclusionProof(40, kRecords).ok());
}

TEST(AuditFaults, FailedWriteOrSyncIsStickyAndNothingIsAcknowledged) {
  for (const char* op : {"write", "sync"}) {
    const std::string dir = MakeTempDir(std::string("fault-") + op);
    std::atomic<bool> fail{false};
    FileAuditLogOptions o;
    o.path = dir + "/audit.log";
    o.signing_key = SigningKey();
    o.fault_injector = [&](absl::string_view which) {
      return fail && which == op ? absl::UnavailableError(std::string("injected ") + op + " failure: EIO")
                                 : absl::OkStatus();
    };
    auto log = FileAuditLog::Open(o);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->AppendAndWait(Sample(0)).ok());
    fail = true;
    auto failed = (*log)->AppendAndWait(Sample(1));
    EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << op;
    EXPECT_FALSE((*log)->Health().ok());
    fail = false;  // The disk "recovers": the log stays failed until restart.
    EXPECT_FALSE((*log)->AppendAndWait(Sample(2)).ok()) << op;
    EXPECT_EQ((*log)->size(), 1u);
    // The refused record does not stay on disk (for "sync" it was written):
    // after a restart the log holds exactly what was acknowledged.
    EXPECT_EQ(ReadLinesOf(o.path).size(), 1u) << op;
    log = absl::UnknownError("closed");
    o.fault_injector = nullptr;
    auto reopened = FileAuditLog::Open(o);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    EXPECT_EQ((*reopened)->size(), 1u) << op;
  }
}

TEST(AuditRecovery, ASignedRecordWithoutItsNewlineIsCorruptionAndNothingIsCut) {
  SampleLog s = MakeLog("signed-torn");
  std::string bytes = ReadFile(s.log);
  bytes.pop_back();  // The last record (covered by the final checkpoint) loses its newline.
  WriteFile(s.log, bytes);
  FileAuditLogOptions o;
  o.path = s.log;
  o.signing_key = SigningKey();
  auto log = FileAuditLog::Open(o);
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(std::string(log.status().message()), ::testing::HasSubstr("truncated"));
  EXPECT_EQ(ReadFile(s.log), bytes) << "recovery changed the evidence before refusing";
}

TEST(AuditRecovery, AMissingWitnessFileIsNotTakenForAnEmptyWitness) {
  SampleLog s = MakeLog("witness-gone");
  fs::remove(s.witness);
  FileAuditLogOptions o;
  o.path = s.log;
  o.signing_key = SigningKey();
  o.witness_dir = s.dir + "/witness";
  auto log = FileAuditLog::Open(o);
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(std::string(log.status().message()), ::testing::HasSubstr("witness file"));
  EXPECT_THAT(std::string(log.status().message()), ::testing::HasSubstr("copy "));
  EXPECT_FALSE(fs::exists(s.witness)) << "recovery created the witness file before refusing";
}

}  // namespace
}  // namespace portcullis::testing
