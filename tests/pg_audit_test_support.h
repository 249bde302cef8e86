// What the PgAuditLog tests share (pg_audit_log_test.cc, pg_audit_tamper_test.cc):
// a real PostgreSQL cluster with a fresh database, "gateways" (a writer, a
// pool and a PgAuditLog each) on it, and exporting the log through the
// AuditLog interface to files the offline verifier reads, as
// `portcullis-audit verify --gateway` and `export` do through the Audit service.
#ifndef PORTCULLIS_TESTS_PG_AUDIT_TEST_SUPPORT_H_
#define PORTCULLIS_TESTS_PG_AUDIT_TEST_SUPPORT_H_

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "gateway/audit/log_format.h"
#include "gateway/audit/log_verifier.h"
#include "gateway/audit/pg_audit_log.h"
#include "gateway/pg/pg_schema.h"
#include "tests/support/files.h"
#include "tests/support/pg_cluster.h"
#include "util/clock.h"

namespace portcullis::testing {

inline std::string SigningKey() { return PkiDir() + "/audit/signing.key"; }
inline std::string PublicKey() { return PkiDir() + "/audit/signing.pub"; }

inline AuditRecord PgSample(int i) {
  AuditRecord r;
  r.time_micros = NowMicros();
  r.action = i % 3 == 0 ? "submit" : (i % 3 == 1 ? "deliver" : "acknowledge");
  r.actor_party = "uk/border-force";
  r.actor_officer = "BF-" + std::to_string(1000 + i);
  r.message_id = "MSG-" + std::to_string(i);
  r.case_reference = "BF-2026-" + std::to_string(4500 + i / 5);
  r.sender = "uk/border-force";
  r.recipients = {"eu/europol"};
  r.outcome = "accepted";
  r.payload_sha256 = std::string(64, 'a');
  return r;
}

// One gateway's storage: its writer, its read pool and its audit log.
struct PgGateway {
  std::unique_ptr<pg::Pool> pool;
  std::unique_ptr<pg::GroupWriter> writer;
  std::unique_ptr<PgAuditLog> log;  // Destroyed first.
  absl::Status open_status;
};

// Starts a writer and pool on `dsn` (schema prepared) and opens a log with
// `options` (writer and pool filled in). The log stays null if Open failed
// (open_status says why).
inline PgGateway OpenGateway(const std::string& dsn, PgAuditLogOptions options = {},
                             std::function<absl::Status(absl::string_view)> writer_faults = nullptr) {
  PgGateway g;
  g.pool = std::make_unique<pg::Pool>(dsn, 4, 5);
  {
    auto conn = pg::Connection::Open(dsn);
    EXPECT_TRUE(conn.ok()) << conn.status();
    if (!conn.ok()) return g;
    absl::Status s = pg::PrepareSchema(**conn);
    EXPECT_TRUE(s.ok()) << s;
  }
  pg::GroupWriter::Options wo;
  wo.dsn = dsn;
  wo.reconnect_max = std::chrono::milliseconds(200);
  wo.fault_injector = std::move(writer_faults);
  auto writer = pg::GroupWriter::Start(wo);
  EXPECT_TRUE(writer.ok()) << writer.status();
  if (!writer.ok()) return g;
  g.writer = *std::move(writer);
  options.writer = g.writer.get();
  options.pool = g.pool.get();
  auto log = PgAuditLog::Open(std::move(options));
  g.open_status = log.status();
  if (log.ok()) g.log = *std::move(log);
  return g;
}

inline PgAuditLogOptions SignedOptions(const std::string& witness_dir = "", uint64_t every = 1000000) {
  PgAuditLogOptions o;
  o.signing_key = SigningKey();
  o.witness_dir = witness_dir;
  o.checkpoint_every_records = every;
  o.checkpoint_interval = std::chrono::hours(1);  // Only when the test asks (or every `every` records).
  return o;
}

// A fresh database on `cluster` (its dsn).
inline std::string FreshDatabase(PgCluster& cluster, const std::string& name) {
  auto dsn = cluster.CreateDatabase(name);
  EXPECT_TRUE(dsn.ok()) << dsn.status();
  return dsn.ok() ? *dsn : "";
}

// Runs `sql` (statements without results wanted) on `dsn`.
inline absl::Status Sql(const std::string& dsn, const char* sql) {
  auto conn = pg::Connection::Open(dsn);
  if (!conn.ok()) return conn.status();
  return (*conn)->RunScript(sql);
}

// The whole table, as text (to show that a refused Open changed nothing).
inline std::string Dump(const std::string& dsn) {
  auto conn = pg::Connection::Open(dsn);
  if (!conn.ok()) return conn.status().ToString();
  std::string out;
  for (const char* sql : {"SELECT idx::text || ' ' || line || ' ' || encode(leaf_hash, 'hex') FROM audit_records "
                          "ORDER BY idx",
                          "SELECT tree_size::text || ' ' || line FROM audit_checkpoints ORDER BY tree_size",
                          "SELECT audit_size::text || ' ' || audit_head FROM portcullis_head"}) {
    auto res = (*conn)->Exec(sql);
    if (!res.ok()) return res.status().ToString();
    for (int r = 0; r < res->rows(); ++r) absl::StrAppend(&out, res->Text(r, 0), "\n");
  }
  return out;
}

// An export as `portcullis-audit` makes it through the Audit service: every
// record line (ReadLines), and the latest checkpoint, as files.
struct Exported {
  std::string log, checkpoints;
  uint64_t records = 0;
};

inline Exported Export(const AuditLog& log, const std::string& dir) {
  Exported e;
  e.log = dir + "/audit.log";
  e.checkpoints = dir + "/audit.log.checkpoints";
  std::filesystem::create_directories(dir);
  std::ofstream out(e.log, std::ios::binary | std::ios::trunc);
  for (uint64_t next = 0;;) {
    auto lines = log.ReadLines(next, 1000);
    EXPECT_TRUE(lines.ok()) << lines.status();
    if (!lines.ok() || lines->empty()) break;
    for (const std::string& l : *lines) out << l << "\n";
    next += lines->size();
    e.records = next;
  }
  std::ofstream cps(e.checkpoints, std::ios::binary | std::ios::trunc);
  if (auto c = log.LatestCheckpoint()) cps << CheckpointToLine(*c) << "\n";
  return e;
}

inline VerifyReport VerifyExport(const Exported& e, const std::vector<std::string>& witnesses = {}) {
  VerifyOptions o;
  o.log_path = e.log;
  o.checkpoints_path = e.checkpoints;
  o.public_key_path = PublicKey();
  o.witness_paths = witnesses;
  auto report = VerifyLog(o);
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? *report : VerifyReport{};
}

inline std::vector<std::string> LinesOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

inline void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const auto& l : lines) out << l << '\n';
}

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_PG_AUDIT_TEST_SUPPORT_H_
