// Audit record format v2 (docs/audit-format.md): the writer's v2 lines, every
// reader on v1 lines written by the v1 writer (tests/data/audit-v1), a log
// that switches from v1 to v2 part way, the replica id stamped by the log,
// unsigned tails (kind unsigned_tail) and the adoption of unsigned records at
// start-up. Real files, real Ed25519 keys.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/audit/file_audit_log.h"
#include "gateway/audit/log_format.h"
#include "gateway/audit/log_verifier.h"
#include "gateway/audit/record_filter.h"
#include "tests/support/harness.h"

namespace portcullis::testing {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kV1Dir = std::string(PORTCULLIS_SOURCE_DIR) + "/tests/data/audit-v1";
constexpr uint64_t kV1Records = 7;

std::vector<std::string> LinesOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string SigningKey() { return PkiDir() + "/audit/signing.key"; }
std::string PublicKey() { return PkiDir() + "/audit/signing.pub"; }

AuditRecord Full() {
  AuditRecord r;
  r.index = 5;
  r.time_micros = 1764352800123456;
  r.action = "submit";
  r.actor_party = "eu/europol";
  r.actor_officer = "EUROPOL-UKLB-07";
  r.officer_verified = true;
  r.message_id = "EUR-UKLB-2026-001311";
  r.correlation_id = "BF-REF-2026-004512-01";
  r.case_reference = "BF-2026-004512";
  r.sender = "eu/europol";
  r.recipients = {"uk/border-force"};
  r.outcome = "accepted";
  r.request_id = "req-7f3a";
  r.replica_id = "gw-london-1";
  r.count = 12;
  r.range_first = 3;
  r.range_last = 9;
  return r;
}

TEST(AuditFormatV2, WriterSaysV2AndEveryFieldRoundTrips) {
  std::string hash;
  const std::string line = SealLine(Full(), kGenesisHash, &hash);
  EXPECT_THAT(line, StartsWith("{\"index\":5,\"v\":2,\"time\":"));
  for (const char* key : {"\"officer_verified\":true", "\"correlation_id\":\"BF-REF-2026-004512-01\"",
                          "\"request_id\":\"req-7f3a\"", "\"replica_id\":\"gw-london-1\"", "\"count\":12",
                          "\"range_first\":3", "\"range_last\":9,\"prev\":"}) {
    EXPECT_THAT(line, HasSubstr(key));
  }
  auto header = CheckLine(line);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->hash, hash);
  int version = 0;
  auto r = ParseLine(line, &version);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(version, 2);
  const AuditRecord want = Full();
  EXPECT_EQ(r->index, want.index);
  EXPECT_EQ(r->time_micros, want.time_micros);
  EXPECT_EQ(r->actor_officer, want.actor_officer);
  EXPECT_TRUE(r->officer_verified);
  EXPECT_EQ(r->correlation_id, want.correlation_id);
  EXPECT_EQ(r->request_id, want.request_id);
  EXPECT_EQ(r->replica_id, want.replica_id);
  EXPECT_EQ(r->count, 12u);
  EXPECT_EQ(r->range_first, 3u);
  EXPECT_EQ(r->range_last, 9u);
  EXPECT_EQ(r->recipients, want.recipients);

  // The v2 keys are hashed like the rest: flipping one breaks the hash.
  std::string forged = line;
  forged.replace(forged.find("\"officer_verified\":true"), 23, "\"officer_verified\":fals");
  EXPECT_FALSE(CheckLine(forged).ok());
  std::string forged_count = line;
  forged_count.replace(forged_count.find("\"count\":12"), 10, "\"count\":13");
  EXPECT_FALSE(CheckLine(forged_count).ok());

  // Defaults are written too: one fixed shape.
  AuditRecord empty;
  const std::string plain = SealLine(empty, kGenesisHash, &hash);
  EXPECT_THAT(plain, HasSubstr("\"officer_verified\":false"));
  EXPECT_THAT(plain, HasSubstr("\"correlation_id\":\"\""));
  EXPECT_THAT(plain, HasSubstr("\"count\":0,\"range_first\":0,\"range_last\":0,\"prev\":"));
}

TEST(AuditFormatV2, ReaderRefusesUnknownVersionsAndV2KeysInV1Lines) {
  std::string hash;
  const std::string line = SealLine(Full(), kGenesisHash, &hash);
  std::string v3 = line;
  v3.replace(v3.find("\"v\":2"), 5, "\"v\":3");
  EXPECT_THAT(std::string(ParseLine(v3).status().message()), HasSubstr("version 3 is not known"));
  std::string no_v = line;
  no_v.erase(no_v.find(",\"v\":2"), 6);
  EXPECT_THAT(std::string(ParseLine(no_v).status().message()), HasSubstr("v2 key"));
  std::string bad_bool = line;
  bad_bool.replace(bad_bool.find("true"), 4, "yes!");
  EXPECT_FALSE(ParseLine(bad_bool).ok());
}

TEST(AuditFormatV1, FixtureWrittenByTheV1WriterStillReads) {
  const std::vector<std::string> lines = LinesOf(kV1Dir + "/audit.log");
  ASSERT_EQ(lines.size(), kV1Records);
  std::string prev = kGenesisHash;
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].find("\"v\":"), std::string::npos) << "fixture must be v1: " << lines[i];
    auto h = CheckLine(lines[i]);
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_EQ(h->index, i);
    EXPECT_EQ(h->prev, prev);
    prev = h->hash;
    int version = 0;
    auto r = ParseLine(lines[i], &version);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(version, 1);
    EXPECT_EQ(r->index, i);
    EXPECT_TRUE(r->correlation_id.empty());
    EXPECT_FALSE(r->officer_verified);
    EXPECT_EQ(r->count, 0u);
  }
  auto first = ParseLine(lines[0]);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->action, "submit");
  EXPECT_EQ(first->actor_officer, "BF-LO-4471");
  EXPECT_EQ(first->justification, "DPA 2018 s.35 | \"Gravelines\" RIB, caf\xc3\xa9 owner");
  EXPECT_EQ(first->time_micros, 1764352801500000);
  RecordFilter f;
  f.case_reference = "BF-2026-004512";
  f.officer = "BF-LO-4471";
  EXPECT_TRUE(f.Matches(*first));

  VerifyOptions o;
  o.log_path = kV1Dir + "/audit.log";
  o.public_key_path = kV1Dir + "/signing.pub";
  auto report = VerifyLog(o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->problem) << report->problem->message;
  EXPECT_EQ(report->records, kV1Records);
  EXPECT_EQ(report->signed_size, kV1Records);
  EXPECT_EQ(report->v1_records, kV1Records);
  EXPECT_EQ(report->v2_records, 0u);
}

// An existing deployment upgraded: its v1 log (checkpoints and all, under its
// own key) is opened by the v2 writer, which appends v2 lines to the same chain.
TEST(AuditFormatMixed, V1LogContinuedInV2VerifiesAndReads) {
  const std::string dir = MakeTempDir("audit-mixed");
  const std::string log_path = dir + "/audit.log";
  fs::copy_file(kV1Dir + "/audit.log", log_path);
  // The v1 log was signed with a key we do not hold: the upgraded gateway in
  // this test signs with the dev PKI's key, so it starts from the log alone
  // (no checkpoints) and adopts the seven v1 records, saying so.
  {
    FileAuditLogOptions o;
    o.path = log_path;
    o.signing_key = SigningKey();
    o.replica_id = "gw-upgraded";
    auto log = FileAuditLog::Open(o);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE((*log)->adopted().has_value());
    EXPECT_EQ((*log)->adopted()->first, 0u);
    EXPECT_EQ((*log)->adopted()->second, kV1Records - 1);
    AuditRecord reply = Full();
    reply.replica_id = "ignored: the log stamps its own";
    auto index = (*log)->AppendAndWait(reply);
    ASSERT_TRUE(index.ok()) << index.status();
    EXPECT_EQ(*index, kV1Records + 1);  // After the adoption record.
  }
  const std::vector<std::string> lines = LinesOf(log_path);
  ASSERT_EQ(lines.size(), kV1Records + 2);
  for (size_t i = 0; i < lines.size(); ++i) {
    int version = 0;
    auto r = ParseLine(lines[i], &version);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    EXPECT_EQ(version, i < kV1Records ? 1 : 2) << lines[i];
  }
  auto adopt = ParseLine(lines[kV1Records]);
  ASSERT_TRUE(adopt.ok());
  EXPECT_EQ(adopt->action, "adopt_unsigned");
  EXPECT_EQ(adopt->range_first, 0u);
  EXPECT_EQ(adopt->range_last, kV1Records - 1);
  EXPECT_EQ(adopt->count, kV1Records);
  EXPECT_EQ(adopt->replica_id, "gw-upgraded");
  EXPECT_THAT(adopt->detail, HasSubstr("records 0 to 6"));
  auto reply = ParseLine(lines.back());
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->correlation_id, "BF-REF-2026-004512-01");
  EXPECT_EQ(reply->replica_id, "gw-upgraded");

  VerifyOptions o;
  o.log_path = log_path;
  o.public_key_path = PublicKey();
  auto report = VerifyLog(o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->problem) << report->problem->message;
  EXPECT_EQ(report->records, kV1Records + 2);
  EXPECT_EQ(report->v1_records, kV1Records);
  EXPECT_EQ(report->v2_records, 2u);
  ASSERT_EQ(report->adopted.size(), 1u);
  EXPECT_EQ(report->adopted[0].record_index, kV1Records);
  EXPECT_EQ(report->adopted[0].first, 0u);
  EXPECT_EQ(report->adopted[0].last, kV1Records - 1);

  // And the recovery of a restart reads the mixed chain.
  FileAuditLogOptions again;
  again.path = log_path;
  again.signing_key = SigningKey();
  auto reopened = FileAuditLog::Open(again);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_FALSE((*reopened)->adopted().has_value());  // Clean stop: the final checkpoint covered everything.
  EXPECT_EQ((*reopened)->size(), kV1Records + 2);
}

// A signed log: n records, a final checkpoint at close.
std::string SignedLog(const std::string& name, int n) {
  const std::string path = MakeTempDir(name) + "/audit.log";
  FileAuditLogOptions o;
  o.path = path;
  o.signing_key = SigningKey();
  auto log = FileAuditLog::Open(o);
  EXPECT_TRUE(log.ok()) << log.status();
  for (int i = 0; i < n; ++i) {
    AuditRecord r = Full();
    r.message_id = "MSG-" + std::to_string(i);
    EXPECT_TRUE((*log)->AppendAndWait(r).ok());
  }
  return path;
}

// Records appended while the gateway was stopped (here: by a writer without
// the signing key, as anyone with the disk could) are not verified...
TEST(UnsignedTail, OfflineVerifyFailsUnlessAllowedAndNamesTheRange) {
  const std::string path = SignedLog("unsigned-tail", 5);
  {
    auto tail = FileAuditLog::Open(path);  // No signing key: appends, signs nothing.
    ASSERT_TRUE(tail.ok()) << tail.status();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*tail)->AppendAndWait(Full()).ok());
  }
  VerifyOptions o;
  o.log_path = path;
  o.public_key_path = PublicKey();
  auto report = VerifyLog(o);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_TRUE(report->problem);
  EXPECT_EQ(report->problem->kind, TamperKind::kUnsignedTail);
  EXPECT_STREQ(TamperKindName(report->problem->kind), "unsigned_tail");
  EXPECT_EQ(report->problem->index, 5u);
  EXPECT_THAT(report->problem->message, HasSubstr("records 5 to 7"));
  EXPECT_THAT(report->warnings, ::testing::Contains(HasSubstr("truncating the log and its checkpoints file together "
                                                               "cannot be detected")));

  o.allow_unsigned_tail = true;
  report = VerifyLog(o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->problem);
  EXPECT_THAT(report->warnings, ::testing::Contains(HasSubstr("records 5 to 7")));

  // ... and when the gateway starts again it adopts them in a record of their
  // own before signing, which verify lists for good.
  {
    FileAuditLogOptions g;
    g.path = path;
    g.signing_key = SigningKey();
    auto log = FileAuditLog::Open(g);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE((*log)->adopted().has_value());
    EXPECT_EQ((*log)->adopted()->first, 5u);
    EXPECT_EQ((*log)->adopted()->second, 7u);
  }
  const std::vector<std::string> lines = LinesOf(path);
  ASSERT_EQ(lines.size(), 9u);
  auto adopt = ParseLine(lines[8]);
  ASSERT_TRUE(adopt.ok());
  EXPECT_EQ(adopt->action, "adopt_unsigned");
  EXPECT_EQ(adopt->outcome, "adopted");
  EXPECT_EQ(adopt->reason, "UNSIGNED_AT_START");
  EXPECT_EQ(adopt->range_first, 5u);
  EXPECT_EQ(adopt->range_last, 7u);
  EXPECT_THAT(adopt->detail, HasSubstr("after the last signed checkpoint (size 5)"));
  o.allow_unsigned_tail = false;
  report = VerifyLog(o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->problem) << report->problem->message;
  ASSERT_EQ(report->adopted.size(), 1u);
  EXPECT_EQ(report->adopted[0].record_index, 8u);
  EXPECT_EQ(report->adopted[0].first, 5u);
  EXPECT_EQ(report->adopted[0].last, 7u);
}

TEST(UnsignedTail, CleanLogHasNoneAndNoAdoption) {
  const std::string path = SignedLog("no-tail", 4);
  FileAuditLogOptions g;
  g.path = path;
  g.signing_key = SigningKey();
  {
    auto log = FileAuditLog::Open(g);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_FALSE((*log)->adopted().has_value());
  }
  EXPECT_EQ(LinesOf(path).size(), 4u);
  VerifyOptions o;
  o.log_path = path;
  o.public_key_path = PublicKey();
  auto report = VerifyLog(o);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->problem);
  EXPECT_TRUE(report->adopted.empty());
}

// Records the witness's copy signs are not adopted, even if the local
// checkpoints file lost its last line.
TEST(UnsignedTail, WhatTheWitnessSignedIsNotAdopted) {
  const std::string dir = MakeTempDir("witness-signed");
  fs::create_directories(dir + "/witness");
  FileAuditLogOptions o;
  o.path = dir + "/audit.log";
  o.signing_key = SigningKey();
  o.witness_dir = dir + "/witness";
  {
    auto log = FileAuditLog::Open(o);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*log)->AppendAndWait(Full()).ok());
    ASSERT_TRUE((*log)->CheckpointNow().ok());
    for (int i = 0; i < 2; ++i) ASSERT_TRUE((*log)->AppendAndWait(Full()).ok());
  }  // Final checkpoint at 5, locally and (by the witness thread) in the witness.
  std::vector<std::string> local = LinesOf(o.path + ".checkpoints");
  ASSERT_EQ(local.size(), 2u);
  ASSERT_EQ(LinesOf(dir + "/witness/checkpoints.log").size(), 2u);
  std::ofstream(o.path + ".checkpoints", std::ios::trunc) << local[0] << "\n";
  auto log = FileAuditLog::Open(o);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_FALSE((*log)->adopted().has_value());
}

TEST(ReplicaId, StampedOnEveryRecordByTheLog) {
  const std::string path = MakeTempDir("replica") + "/audit.log";
  FileAuditLogOptions o;
  o.path = path;
  o.replica_id = "gw-b";
  {
    auto log = FileAuditLog::Open(o);
    ASSERT_TRUE(log.ok()) << log.status();
    AuditRecord r;
    r.action = "track";
    ASSERT_TRUE((*log)->AppendAndWait(r).ok());
    r.replica_id = "forged";
    ASSERT_TRUE((*log)->AppendAndWait(r).ok());
  }
  for (const std::string& line : LinesOf(path)) {
    auto r = ParseLine(line);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->replica_id, "gw-b") << line;
  }
}

}  // namespace
}  // namespace portcullis::testing
