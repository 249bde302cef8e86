// What the audit benchmarks share (docs/benchmarks.md): the run's
// configuration from the environment, a scratch directory, sample records,
// log options like the gateway's, and small measuring helpers.
#ifndef PORTCULLIS_BENCH_AUDIT_BENCH_COMMON_H_
#define PORTCULLIS_BENCH_AUDIT_BENCH_COMMON_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/audit/audit_record.h"
#include "gateway/audit/file_audit_log.h"

namespace portcullis::audit_bench {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d);
[[noreturn]] void Die(const std::string& message);

std::string Env(const char* name, const std::string& fallback);
double EnvDouble(const char* name, double fallback);
std::vector<uint64_t> EnvList(const char* name, const std::string& fallback);

struct Config {
  bool quick = false;
  std::string dir;           // This run's temp dir.
  std::string key_path;      // Ed25519 private key (PEM), generated per run.
  std::string pub_path;      // Its public key (PEM).
  double append_seconds = 5;
  double warmup_seconds = 1;
  uint64_t verify_records = 1000000;
  std::vector<uint64_t> proof_sizes;
  std::vector<uint64_t> writers;
  // --backend file|postgres|both: which log the append benchmarks drive.
  std::string backend = "file";
  // --dsn: a PostgreSQL server (libpq key=value conninfo) where each
  // PostgreSQL benchmark creates a database of its own (and drops it).
  std::string pg_dsn;
};
Config& Cfg();

void GenerateKeys(const std::string& key_path, const std::string& pub_path);

// A fresh directory under the run's temp dir, removed when done.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name);
  ~ScratchDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A submit record like the gateway writes for an accepted exchange
// (gateway/audit/exchange_record.cc), taken from the demo's audit log: about
// 850 bytes once sealed.
const AuditRecord& TemplateRecord();
AuditRecord MakeRecord(uint64_t client, uint64_t seq);

// The gateway's defaults: a checkpoint every 1000 records or 10 s.
// checkpoint_every = 0: no signing key, no checkpoints.
FileAuditLogOptions LogOptions(const std::string& dir, uint64_t checkpoint_every = 1000);

uint64_t CountLines(const std::string& path);
double Percentile(std::vector<uint32_t>* v, double p);
// The file system's name (ext4, xfs, tmpfs ...) under `path`.
std::string FsType(const std::string& path);

// Each file's benchmarks, registered in this order by main.
void RegisterAppendBenchmarks();  // audit_bench_append.cc: durable appends, writer CPU parts.
void RegisterVerifyBenchmarks();  // audit_bench_verify.cc: verification, recovery, proofs.
void RegisterPgAppendBenchmarks();  // audit_bench_pg.cc: durable appends through PgAuditLog.

}  // namespace portcullis::audit_bench

#endif  // PORTCULLIS_BENCH_AUDIT_BENCH_COMMON_H_
