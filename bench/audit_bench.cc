// Benchmarks of the audit log (docs/benchmarks.md):
//
//  1. Durable appends per second through FileAuditLog's group commit, from
//     many concurrent closed-loop writers (each waits for its record to be
//     durable before it issues the next), on the real disk with real
//     fdatasync; and the one-record-per-fdatasync baseline (writers:1).
//  2. Offline verification (VerifyLog) of a log of 1M records, with the
//     public key and a checkpoint about every 1000 records; and the start-up
//     recovery (FileAuditLog::Open) of the same log.
//  3. Inclusion and consistency proofs from MerkleTree over a LeafFile (the
//     production path) of 1K, 1M and 10M leaves, and the tree's memory.
//
// Sizes come from the environment so that a quick run takes under a minute:
//   PORTCULLIS_BENCH_QUICK=1            small sizes, short windows
//   PORTCULLIS_BENCH_DIR=/path          where temp files go (default $TMPDIR or /tmp)
//   PORTCULLIS_BENCH_KEEP=1             keep the temp dir
//   PORTCULLIS_BENCH_APPEND_SECONDS=5   measured window of each append benchmark
//   PORTCULLIS_BENCH_WARMUP_SECONDS=1   load before the window
//   PORTCULLIS_BENCH_VERIFY_RECORDS=1000000
//   PORTCULLIS_BENCH_PROOF_SIZES=1000,1000000,10000000,10000128
//                                       (10000128 = 39063 * 256: no partial last block)
//   PORTCULLIS_BENCH_WRITERS=1,8,64,256 blocking writer threads / async clients
// The log the append benchmarks drive (flags of this program, before
// Google Benchmark's):
//   --backend file              FileAuditLog (default)
//   --backend postgres --dsn D  PgAuditLog only (docs/benchmarks.md): each
//                               benchmark creates a database on the server D
//                               names (key=value conninfo) and drops it
//   --backend both --dsn D      both, in one run (same machine, same load)
// Google Benchmark's own flags (--benchmark_filter, --benchmark_repetitions,
// --benchmark_format, ...) work as usual; the append benchmarks run one timed
// window each (its length is PORTCULLIS_BENCH_APPEND_SECONDS, not
// --benchmark_min_time), on a fresh log per repetition.
// This file: configuration and main; the benchmarks are in
// audit_bench_append.cc and audit_bench_verify.cc, their helpers in
// audit_bench_common.*.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/audit_bench_common.h"

int main(int argc, char** argv) {
  using portcullis::audit_bench::Cfg;
  using portcullis::audit_bench::Env;
  using portcullis::audit_bench::EnvDouble;
  using portcullis::audit_bench::EnvList;
  portcullis::audit_bench::Config& c = Cfg();
  {
    // Our flags out of argv before Google Benchmark reads it.
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      std::string* target = nullptr;
      std::string value;
      for (auto [flag, field] : {std::pair<const char*, std::string*>{"--backend", &c.backend}, {"--dsn", &c.pg_dsn}}) {
        const std::string f = flag;
        if (arg == f && i + 1 < argc) {
          target = field;
          value = argv[++i];
        } else if (arg.rfind(f + "=", 0) == 0) {
          target = field;
          value = arg.substr(f.size() + 1);
        }
      }
      if (target != nullptr) {
        *target = value;
      } else {
        argv[kept++] = argv[i];
      }
    }
    argc = kept;
    if (c.backend != "file" && c.backend != "postgres" && c.backend != "both") {
      portcullis::audit_bench::Die("--backend must be file, postgres or both");
    }
    if (c.backend != "file" && c.pg_dsn.empty()) portcullis::audit_bench::Die("--backend " + c.backend + " needs --dsn");
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  c.quick = Env("PORTCULLIS_BENCH_QUICK", "0") != "0";
  c.append_seconds = EnvDouble("PORTCULLIS_BENCH_APPEND_SECONDS", c.quick ? 0.5 : 5);
  c.warmup_seconds = EnvDouble("PORTCULLIS_BENCH_WARMUP_SECONDS", c.quick ? 0.2 : 1);
  c.verify_records = EnvList("PORTCULLIS_BENCH_VERIFY_RECORDS", c.quick ? "100000" : "1000000").at(0);
  c.proof_sizes = EnvList("PORTCULLIS_BENCH_PROOF_SIZES", c.quick ? "1000,1000000" : "1000,1000000,10000000,10000128");
  c.writers = EnvList("PORTCULLIS_BENCH_WRITERS", "1,8,64,256");

  const std::string base = Env("PORTCULLIS_BENCH_DIR", Env("TMPDIR", "/tmp"));
  std::string tmpl = base + "/portcullis-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) portcullis::audit_bench::Die("cannot create a temp dir under " + base);
  c.dir = tmpl;
  c.key_path = c.dir + "/checkpoint-signing.key";
  c.pub_path = c.dir + "/checkpoint-signing.pub";
  portcullis::audit_bench::GenerateKeys(c.key_path, c.pub_path);

  benchmark::AddCustomContext("bench_dir", c.dir);
  benchmark::AddCustomContext("bench_fs", portcullis::audit_bench::FsType(c.dir));
  benchmark::AddCustomContext("quick", c.quick ? "yes" : "no");
  benchmark::AddCustomContext("append_window_s", absl::StrCat(c.append_seconds));

  benchmark::AddCustomContext("backend", c.backend);
  if (c.backend != "postgres") {
    portcullis::audit_bench::RegisterAppendBenchmarks();
  }
  if (c.backend != "file") portcullis::audit_bench::RegisterPgAppendBenchmarks();
  if (c.backend != "postgres") portcullis::audit_bench::RegisterVerifyBenchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  if (Env("PORTCULLIS_BENCH_KEEP", "0") == "0") {
    std::error_code ec;
    std::filesystem::remove_all(c.dir, ec);
  } else {
    std::fprintf(stderr, "kept %s\n", c.dir.c_str());
  }
  return 0;
}
