// The storage backends of the delivery benchmark (docs/benchmarks.md, issue 14
// section): `--backend sqlite|postgres|both`. SQLite: the outbox file and the
// file audit log in the phase's folder. PostgreSQL: a fresh database per
// phase on the server `--dsn` names, or on a throw-away local cluster that the
// benchmark starts itself (scripts/pg-test-cluster.sh: fsync and
// synchronous_commit on) and removes at the end. Also the side-by-side
// summary printed at the end of a run.
#ifndef PORTCULLIS_BENCH_DELIVERY_BENCH_BACKENDS_H_
#define PORTCULLIS_BENCH_DELIVERY_BENCH_BACKENDS_H_

#include <memory>
#include <string>
#include <vector>

namespace portcullis::bench {

// One backend for one phase: what goes in the config's store section, and how
// big the stored state got.
struct PhaseStorage {
  std::string backend;  // "sqlite" or "postgres"
  std::string dir;      // The phase's folder (SQLite's files).
  std::string dsn;      // PostgreSQL: the phase's database.
  std::string database;
  // The config's `store:` line.
  std::string StoreLine() const;
  // "audit.log / outbox.db (+wal) MiB" or the database's size, for the report.
  std::string SizeLabel() const;
  std::string SizeValue() const;
};

class BenchPostgres {
 public:
  // `dsn` from --dsn (a server; a database per phase is created on it), or
  // "" to start a throw-away cluster in `dir` (short path under /tmp). Exits
  // with a message if the server cannot be used.
  static std::unique_ptr<BenchPostgres> Start(const std::string& dsn, const std::string& dir);
  ~BenchPostgres();  // Stops the cluster it started (its databases go with it).
  // A fresh database for one phase (dropped at the end with --dsn).
  PhaseStorage Phase(const std::string& phase, const std::string& phase_dir);
  const std::string& describe() const { return describe_; }

 private:
  BenchPostgres() = default;
  std::string server_dsn_;  // Without dbname (a later dbname= wins in libpq conninfo).
  std::string own_dir_;     // The cluster started here, "" with --dsn.
  std::string describe_;
  std::vector<std::string> databases_;  // Created on the server.
};

// One row of the side-by-side summary.
struct SummaryRow {
  std::string backend, phase;
  int accepted = 0;
  double accepted_per_s = 0, p50_ms = 0, p99_ms = 0, delivered_per_s = 0;
  double cpu_s_per_1000 = 0;
};
void AddSummary(SummaryRow row);
// Prints the table (when more than one backend ran) and, for each phase, the
// PostgreSQL / SQLite ratio of accepted messages/s.
void PrintSummary();

}  // namespace portcullis::bench

#endif  // PORTCULLIS_BENCH_DELIVERY_BENCH_BACKENDS_H_
