#include "bench/delivery_bench_backends.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gateway/pg/pg_connection.h"

namespace portcullis::bench {
namespace {

std::string Fmt1(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

double FileMiB(const std::string& path) {
  std::error_code ec;
  const uintmax_t n = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<double>(n) / 1048576.0;
}

[[noreturn]] void Die(const std::string& words) {
  std::fprintf(stderr, "delivery bench: %s\n", words.c_str());
  std::exit(1);
}

// Runs `sql` (no rows wanted) on the server's maintenance database.
void Admin(const std::string& server_dsn, const std::string& sql) {
  auto conn = pg::Connection::Open(server_dsn + " dbname=postgres");
  if (!conn.ok()) Die("postgres: " + conn.status().ToString());
  absl::Status s = (*conn)->RunScript(sql.c_str());
  if (!s.ok()) Die("postgres: " + s.ToString());
}

std::mutex summary_mu;
std::vector<SummaryRow> summary;

}  // namespace

std::string PhaseStorage::StoreLine() const {
  if (backend == "postgres") return "store: { backend: postgres, dsn: \"" + dsn + "\" }\n";
  return "store: { path: " + dir + "/outbox.db }\n";
}

std::string PhaseStorage::SizeLabel() const {
  return backend == "postgres" ? "database size (pg_database_size) MiB" : "audit.log / outbox.db (+wal) MiB";
}

std::string PhaseStorage::SizeValue() const {
  if (backend != "postgres") {
    return Fmt1(FileMiB(dir + "/audit.log")) + " / " + Fmt1(FileMiB(dir + "/outbox.db") + FileMiB(dir + "/outbox.db-wal"));
  }
  auto conn = pg::Connection::Open(dsn);
  if (!conn.ok()) return "?";
  auto res = (*conn)->Exec("SELECT pg_database_size(current_database())");
  return res.ok() && res->rows() == 1 ? Fmt1(static_cast<double>(res->Int(0, 0)) / 1048576.0) : "?";
}

std::unique_ptr<BenchPostgres> BenchPostgres::Start(const std::string& dsn, const std::string& dir) {
  std::unique_ptr<BenchPostgres> pg(new BenchPostgres());
  if (!dsn.empty()) {
    pg->server_dsn_ = dsn;
    pg->describe_ = "the server --dsn names";
  } else {
    const std::string script = std::string(PORTCULLIS_SOURCE_DIR) + "/scripts/pg-test-cluster.sh";
    const std::string out = dir + ".dsn";
    const std::string cmd = "bash '" + script + "' start '" + dir + "' >'" + out + "' 2>&1";
    if (std::system(cmd.c_str()) != 0) Die("could not start PostgreSQL (" + cmd + "); see " + out);
    pg->own_dir_ = dir;
    FILE* f = std::fopen(out.c_str(), "r");
    char line[512] = {0};
    if (f == nullptr || std::fgets(line, sizeof line, f) == nullptr) Die("no DSN in " + out);
    std::fclose(f);
    // "host=... port=... user=portcullis dbname=postgres": drop the dbname (each phase names its own).
    std::string server(absl::StripAsciiWhitespace(line));
    server = server.substr(0, server.rfind(" dbname="));
    pg->server_dsn_ = server;
    pg->describe_ = "a throw-away local cluster (scripts/pg-test-cluster.sh: fsync, synchronous_commit on), " + server;
  }
  Admin(pg->server_dsn_, "SELECT 1");
  return pg;
}

BenchPostgres::~BenchPostgres() {
  if (own_dir_.empty()) {  // --dsn: leave the server as it was.
    for (const std::string& name : databases_) Admin(server_dsn_, "DROP DATABASE IF EXISTS " + name);
    return;
  }
  const std::string cmd = "bash '" + std::string(PORTCULLIS_SOURCE_DIR) + "/scripts/pg-test-cluster.sh' stop '" +
                          own_dir_ + "' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "delivery bench: could not stop %s\n", own_dir_.c_str());
}

PhaseStorage BenchPostgres::Phase(const std::string& phase, const std::string& phase_dir) {
  const std::string name = absl::StrCat("portcullis_bench_", ::getpid(), "_", phase);
  Admin(server_dsn_, "CREATE DATABASE " + name);
  databases_.push_back(name);
  PhaseStorage p;
  p.backend = "postgres";
  p.dir = phase_dir;
  p.database = name;
  p.dsn = server_dsn_ + " dbname=" + name;
  return p;
}

void AddSummary(SummaryRow row) {
  std::lock_guard<std::mutex> lock(summary_mu);
  summary.push_back(std::move(row));
}

void PrintSummary() {
  std::lock_guard<std::mutex> lock(summary_mu);
  std::set<std::string> backends;
  for (const SummaryRow& r : summary) backends.insert(r.backend);
  if (backends.size() < 2) return;
  std::printf("\n### Side by side (same run)\n\n"
              "| phase | backend | accepted | accepted messages/s | Submit p50 / p99 (ms) | delivered messages/s | "
              "gateway CPU s / 1000 |\n|---|---|---:|---:|---:|---:|---:|\n");
  std::map<std::string, std::map<std::string, double>> rate;
  for (const SummaryRow& r : summary) {
    std::printf("| %s | %s | %d | %.0f | %.1f / %.1f | %.0f | %.2f |\n", r.phase.c_str(), r.backend.c_str(), r.accepted,
                r.accepted_per_s, r.p50_ms, r.p99_ms, r.delivered_per_s, r.cpu_s_per_1000);
    rate[r.phase][r.backend] = r.accepted_per_s;
  }
  for (auto& [phase, by] : rate) {
    if (by.count("sqlite") && by.count("postgres") && by["sqlite"] > 0) {
      std::printf("%s: PostgreSQL accepts %.2fx SQLite's messages/s\n", phase.c_str(), by["postgres"] / by["sqlite"]);
    }
  }
}

}  // namespace portcullis::bench
