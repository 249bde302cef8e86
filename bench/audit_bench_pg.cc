// Audit benchmarks on PostgreSQL (docs/benchmarks.md, "The audit log on
// PostgreSQL"): durable appends per second through PgAuditLog (GroupWriter
// group commit under the head-row lock, synchronous_commit on), with the same
// closed-loop loads as the file log's (audit_bench_load.h), so that
// `--backend both` reports both in one run. Each benchmark gets a database of
// its own, created on the server `--dsn` names and dropped afterwards.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/audit_bench_common.h"
#include "bench/audit_bench_load.h"
#include "gateway/audit/pg_audit_log.h"
#include "gateway/pg/pg_schema.h"

namespace portcullis::audit_bench {
namespace {

// A database for one benchmark, dropped when done.
class BenchDatabase {
 public:
  BenchDatabase() {
    static std::atomic<int> n{0};
    name_ = absl::StrCat("portcullis_bench_", ::getpid(), "_", n++);
    Admin(absl::StrCat("CREATE DATABASE ", name_));
    dsn_ = absl::StrCat(Cfg().pg_dsn, " dbname=", name_);  // A later keyword wins (libpq conninfo).
  }
  ~BenchDatabase() { Admin(absl::StrCat("DROP DATABASE IF EXISTS ", name_)); }
  const std::string& dsn() const { return dsn_; }

 private:
  static void Admin(const std::string& sql) {
    auto conn = pg::Connection::Open(Cfg().pg_dsn);
    if (!conn.ok()) Die("postgres: " + conn.status().ToString());
    absl::Status s = (*conn)->RunScript(sql.c_str());
    if (!s.ok()) Die("postgres: " + s.ToString());
  }
  std::string name_, dsn_;
};

void RunPgAppend(benchmark::State& state, bool blocking, uint64_t clients, uint64_t window,
                 uint64_t checkpoint_every) {
  BenchDatabase db;
  {
    auto conn = pg::Connection::Open(db.dsn());
    if (!conn.ok()) Die(conn.status().ToString());
    if (absl::Status s = pg::PrepareSchema(**conn); !s.ok()) Die(s.ToString());
  }
  pg::Pool pool(db.dsn(), 4, 5);
  pg::GroupWriter::Options wo;
  wo.dsn = db.dsn();
  auto writer = pg::GroupWriter::Start(wo);
  if (!writer.ok()) Die(writer.status().ToString());
  PgAuditLogOptions o;
  o.writer = writer->get();
  o.pool = &pool;
  if (checkpoint_every > 0) o.signing_key = Cfg().key_path;
  o.checkpoint_every_records = checkpoint_every > 0 ? checkpoint_every : 1000;
  o.checkpoint_interval = std::chrono::milliseconds(10000);  // The gateway's defaults.
  auto log_or = PgAuditLog::Open(o);
  if (!log_or.ok()) {
    state.SkipWithError(log_or.status().ToString().c_str());
    return;
  }
  std::unique_ptr<PgAuditLog> log = *std::move(log_or);
  std::unique_ptr<Load> load;
  if (blocking) {
    load = std::make_unique<BlockingLoad>(log.get(), static_cast<int>(clients));
  } else {
    load = std::make_unique<AsyncLoad>(log.get(), clients, window, /*issuers=*/2);
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(Cfg().warmup_seconds));

  uint64_t records = 0, batches = 0, cps = 0;
  for (auto _ : state) {
    const uint64_t c0 = load->completed(), b0 = (*writer)->batches(), k0 = log->checkpoints_signed();
    load->SetMeasuring(true);
    const auto t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(Cfg().append_seconds));
    const auto t1 = Clock::now();
    const uint64_t c1 = load->completed(), b1 = (*writer)->batches(), k1 = log->checkpoints_signed();
    load->SetMeasuring(false);
    state.SetIterationTime(Seconds(t1 - t0));
    records += c1 - c0;
    batches += b1 - b0;
    cps += k1 - k0;
  }
  load->Stop();
  std::vector<uint32_t> lat = load->TakeLatencies();
  const std::string error = load->error();
  load.reset();
  log.reset();
  writer->reset();
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.counters["in_flight"] = static_cast<double>(clients * window);
  state.counters["records_per_batch"] = batches ? static_cast<double>(records) / static_cast<double>(batches) : 0;
  state.counters["batches_per_s"] = benchmark::Counter(static_cast<double>(batches), benchmark::Counter::kIsRate);
  state.counters["checkpoints_per_s"] = benchmark::Counter(static_cast<double>(cps), benchmark::Counter::kIsRate);
  state.counters["lat_p50_ms"] = Percentile(&lat, 0.50) / 1000.0;
  state.counters["lat_p99_ms"] = Percentile(&lat, 0.99) / 1000.0;
}

}  // namespace

void RegisterPgAppendBenchmarks() {
  const Config& c = Cfg();
  auto append = [](const std::string& name, bool blocking, uint64_t clients, uint64_t window, uint64_t every) {
    benchmark::RegisterBenchmark(name.c_str(),
                                 [=](benchmark::State& s) { RunPgAppend(s, blocking, clients, window, every); })
        ->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
  };
  for (uint64_t w : c.writers) {
    append(absl::StrCat("PgAppendDurable/blocking/writers:", w), true, w, 1, 1000);
  }
  std::vector<uint64_t> clients = c.writers;
  clients.push_back(1024);
  for (uint64_t n : clients) {
    append(absl::StrCat("PgAppendDurable/async/clients:", n, "/window:1"), false, n, 1, 1000);
  }
  append("PgAppendDurable/async/clients:1024/window:1/checkpoints:off", false, 1024, 1, 0);
}

}  // namespace portcullis::audit_bench
