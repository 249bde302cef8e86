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
// Google Benchmark's own flags (--benchmark_filter, --benchmark_repetitions,
// --benchmark_format, ...) work as usual; the append benchmarks run one timed
// window each (its length is PORTCULLIS_BENCH_APPEND_SECONDS, not
// --benchmark_min_time), on a fresh log per repetition.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gateway/audit/checkpoint.h"
#include "gateway/audit/file_audit_log.h"
#include "gateway/audit/leaf_file.h"
#include "gateway/audit/log_format.h"
#include "gateway/audit/log_verifier.h"
#include "gateway/audit/merkle.h"

namespace portcullis {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "portcullis_audit_bench: %s\n", message.c_str());
  std::exit(2);
}

// ---------------------------------------------------------------- config

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

double EnvDouble(const char* name, double fallback) {
  double v;
  const std::string s = Env(name, "");
  if (s.empty()) return fallback;
  if (!absl::SimpleAtod(s, &v) || v < 0) Die(absl::StrCat(name, "=", s, " is not a number"));
  return v;
}

std::vector<uint64_t> EnvList(const char* name, const std::string& fallback) {
  std::vector<uint64_t> out;
  for (absl::string_view part : absl::StrSplit(Env(name, fallback), ',', absl::SkipEmpty())) {
    uint64_t v;
    if (!absl::SimpleAtoi(part, &v) || v == 0) Die(absl::StrCat(name, ": '", part, "' is not a positive integer"));
    out.push_back(v);
  }
  return out;
}

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
};

Config& Cfg() {
  static Config c;
  return c;
}

// -------------------------------------------------------------- fixtures

void GenerateKeys(const std::string& key_path, const std::string& pub_path) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) Die("Ed25519 key generation failed");
  int fd = ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FILE* f = fd >= 0 ? ::fdopen(fd, "w") : nullptr;
  if (f == nullptr || PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    Die("cannot write " + key_path);
  }
  std::fclose(f);
  f = std::fopen(pub_path.c_str(), "w");
  if (f == nullptr || PEM_write_PUBKEY(f, key) != 1) Die("cannot write " + pub_path);
  std::fclose(f);
  EVP_PKEY_free(key);
}

// A fresh directory under the run's temp dir, removed when done.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) {
    static std::atomic<int> counter{0};
    path_ = absl::StrCat(Cfg().dir, "/", name, "-", counter++);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A submit record like the gateway writes for an accepted exchange
// (gateway/audit/exchange_record.cc), taken from the demo's audit log: about
// 850 bytes once sealed.
const AuditRecord& TemplateRecord() {
  static const AuditRecord r = [] {
    AuditRecord t;
    t.action = "submit";
    t.actor_party = "uk/border-force";
    t.actor_officer = "BF-LO-4471";
    t.case_reference = "BF-2026-004512";
    t.sender = "uk/border-force";
    t.recipients = {"eu/europol"};
    t.classification = "OFFICIAL_SENSITIVE";
    t.handling = "uk=2/B/P";
    t.justification =
        "DPA 2018 s.35; TCA Art. LAW.EUROPOL.51 | Identify and disrupt the facilitation network that organised the "
        "crossing; the boat and engine supply chain runs through the EU and cannot be traced from UK holdings alone.";
    t.outcome = "accepted";
    t.payload_sha256 = "a3f211aa1c6a35150ee652653abd800df9b9f4d88db6b877a0ce08b1359004bd";
    return t;
  }();
  return r;
}

AuditRecord MakeRecord(uint64_t client, uint64_t seq) {
  AuditRecord r = TemplateRecord();
  r.time_micros = NowMicros();
  r.message_id = absl::StrCat("BF-REF-2026-", client, "-", seq);
  r.peer = absl::StrCat("ipv4:10.20.", client / 250 % 250, ".", client % 250, ":", 40000 + seq % 20000);
  return r;
}

// The gateway's defaults: a checkpoint every 1000 records or 10 s.
// checkpoint_every = 0: no signing key, no checkpoints.
FileAuditLogOptions LogOptions(const std::string& dir, uint64_t checkpoint_every = 1000) {
  FileAuditLogOptions o;
  o.path = dir + "/audit.log";
  if (checkpoint_every > 0) o.signing_key = Cfg().key_path;
  o.checkpoint_every_records = checkpoint_every > 0 ? checkpoint_every : 1000;
  o.checkpoint_interval = std::chrono::milliseconds(10000);
  return o;
}

uint64_t CountLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return static_cast<uint64_t>(std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
}

double Percentile(std::vector<uint32_t>* v, double p) {
  if (v->empty()) return 0;
  size_t k = std::min(v->size() - 1, static_cast<size_t>(p * static_cast<double>(v->size())));
  std::nth_element(v->begin(), v->begin() + static_cast<ptrdiff_t>(k), v->end());
  return (*v)[k];
}

// ---------------------------------------------------------- load drivers

// Closed-loop writers. completed() counts durable records; latencies (µs,
// Append to durable callback) are kept while measuring.
class Load {
 public:
  virtual ~Load() = default;
  uint64_t completed() const { return completed_.load(std::memory_order_relaxed); }
  void SetMeasuring(bool on) { measuring_.store(on); }
  // Stops issuing and waits for every outstanding record.
  virtual void Stop() = 0;
  virtual std::vector<uint32_t> TakeLatencies() = 0;
  std::string error() {
    std::lock_guard<std::mutex> lock(error_mu_);
    return error_;
  }

 protected:
  void Fail(const absl::Status& s) {
    std::lock_guard<std::mutex> lock(error_mu_);
    if (error_.empty()) error_ = s.ToString();
  }
  static uint32_t MicrosSince(Clock::time_point t0) {
    return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
  }
  std::atomic<uint64_t> completed_{0};
  std::atomic<bool> measuring_{false};
  std::mutex error_mu_;
  std::string error_;
};

// N threads, each: build a record, AppendAndWait, repeat.
class BlockingLoad final : public Load {
 public:
  BlockingLoad(AuditLog* log, int threads) : latencies_(static_cast<size_t>(threads)) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, log, t] {
        std::vector<uint32_t>& lat = latencies_[static_cast<size_t>(t)];
        for (uint64_t seq = 0; !stop_.load(std::memory_order_relaxed); ++seq) {
          AuditRecord r = MakeRecord(static_cast<uint64_t>(t), seq);
          const auto t0 = Clock::now();
          auto index = log->AppendAndWait(std::move(r));
          if (!index.ok()) {
            Fail(index.status());
            return;
          }
          if (measuring_.load(std::memory_order_relaxed)) lat.push_back(MicrosSince(t0));
          completed_.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
  }
  ~BlockingLoad() override { Stop(); }
  void Stop() override {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  std::vector<uint32_t> TakeLatencies() override {
    std::vector<uint32_t> all;
    for (auto& v : latencies_) all.insert(all.end(), v.begin(), v.end());
    return all;
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::vector<uint32_t>> latencies_;
  std::vector<std::thread> threads_;
};

// `clients` x `window` outstanding records without a thread each, like gRPC
// callback reactors: the durable callback (on the log's writer thread) only
// hands its slot back; `issuers` threads build the next record and Append
// it. `limit` > 0 caps the records issued in total.
class AsyncLoad final : public Load {
 public:
  AsyncLoad(AuditLog* log, uint64_t clients, uint64_t window, int issuers, uint64_t limit = 0)
      : log_(log), window_(window), limit_(limit), slots_(clients * window) {
    latencies_.reserve(1 << 20);
    for (uint32_t s = 0; s < slots_.size(); ++s) ready_.push_back(s);
    for (int i = 0; i < issuers; ++i) issuers_.emplace_back([this] { IssuerLoop(); });
  }
  ~AsyncLoad() override { Stop(); }

  void Stop() override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      stopping_ = true;
      cv_.notify_all();
      retired_cv_.wait(lock, [this] { return retired_ == slots_.size(); });
      exit_ = true;
      cv_.notify_all();
    }
    for (auto& t : issuers_) {
      if (t.joinable()) t.join();
    }
  }
  // With a limit: waits until every record is durable.
  void WaitUntilDone() {
    std::unique_lock<std::mutex> lock(mu_);
    retired_cv_.wait(lock, [this] { return retired_ == slots_.size(); });
  }
  std::vector<uint32_t> TakeLatencies() override { return std::move(latencies_); }

 private:
  struct Slot {
    uint64_t seq = 0;
    Clock::time_point issued;
  };

  void IssuerLoop() {
    std::vector<uint32_t> batch;
    for (;;) {
      bool stopping;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return exit_ || !ready_.empty(); });
        if (exit_) return;
        batch.swap(ready_);
        stopping = stopping_;
      }
      for (uint32_t s : batch) {
        if (stopping || (limit_ > 0 && issued_.fetch_add(1) >= limit_)) {
          Retire();
          continue;
        }
        Slot& slot = slots_[s];
        AuditRecord r = MakeRecord(s / window_, slot.seq++);
        slot.issued = Clock::now();
        log_->Append(std::move(r), [this, s](absl::StatusOr<uint64_t> index) { OnDurable(s, index); });
      }
      batch.clear();
    }
  }

  void OnDurable(uint32_t s, const absl::StatusOr<uint64_t>& index) {
    if (!index.ok()) {
      Fail(index.status());
    } else {
      // Only the log's writer thread reports success: no lock needed.
      if (measuring_.load(std::memory_order_relaxed)) latencies_.push_back(MicrosSince(slots_[s].issued));
      completed_.fetch_add(1, std::memory_order_relaxed);
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!index.ok()) stopping_ = true;
    ready_.push_back(s);
    if (ready_.size() == 1) cv_.notify_one();
  }

  void Retire() {
    std::lock_guard<std::mutex> lock(mu_);
    if (++retired_ == slots_.size()) retired_cv_.notify_all();
  }

  AuditLog* const log_;
  const uint64_t window_;
  const uint64_t limit_;
  std::atomic<uint64_t> issued_{0};
  std::vector<Slot> slots_;
  std::vector<uint32_t> latencies_;
  std::mutex mu_;
  std::condition_variable cv_, retired_cv_;
  std::vector<uint32_t> ready_;
  size_t retired_ = 0;
  bool stopping_ = false;
  bool exit_ = false;
  std::vector<std::thread> issuers_;
};

// ------------------------------------------------------ 1. durable appends

// Raw disk floor: append one record-sized line and fdatasync it, in a loop.
void BM_RawWriteFdatasync(benchmark::State& state) {
  ScratchDir dir("raw");
  const std::string path = dir.path() + "/raw.log";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) Die("cannot open " + path);
  const std::string line(static_cast<size_t>(state.range(0)) - 1, 'x');
  const std::string data = line + "\n";
  for (auto _ : state) {
    if (::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()) || ::fdatasync(fd) != 0) {
      state.SkipWithError("write/fdatasync failed");
      break;
    }
  }
  ::close(fd);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

enum class LoadKind { kBlocking, kAsync };

void RunAppend(benchmark::State& state, LoadKind kind, uint64_t clients, uint64_t window, uint64_t checkpoint_every) {
  ScratchDir dir("append");
  const FileAuditLogOptions options = LogOptions(dir.path(), checkpoint_every);
  auto log_or = FileAuditLog::Open(options);
  if (!log_or.ok()) {
    state.SkipWithError(log_or.status().ToString().c_str());
    return;
  }
  std::unique_ptr<FileAuditLog> log = *std::move(log_or);
  std::unique_ptr<Load> load;
  if (kind == LoadKind::kBlocking) {
    load = std::make_unique<BlockingLoad>(log.get(), static_cast<int>(clients));
  } else {
    load = std::make_unique<AsyncLoad>(log.get(), clients, window, /*issuers=*/2);
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(Cfg().warmup_seconds));

  const std::string cpath = options.path + ".checkpoints";
  uint64_t records = 0, syncs = 0, cps = 0;
  double secs = 0;
  for (auto _ : state) {
    const uint64_t c0 = load->completed(), s0 = log->sync_count(), k0 = CountLines(cpath);
    load->SetMeasuring(true);
    const auto t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(Cfg().append_seconds));
    const auto t1 = Clock::now();
    const uint64_t c1 = load->completed(), s1 = log->sync_count(), k1 = CountLines(cpath);
    load->SetMeasuring(false);
    secs = Seconds(t1 - t0);
    state.SetIterationTime(secs);
    records += c1 - c0;
    syncs += s1 - s0;
    cps += k1 - k0;
  }
  load->Stop();
  std::vector<uint32_t> lat = load->TakeLatencies();
  const std::string error = load->error();
  load.reset();
  log.reset();
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.counters["in_flight"] = static_cast<double>(clients * window);
  state.counters["records_per_batch"] = syncs ? static_cast<double>(records) / static_cast<double>(syncs) : 0;
  state.counters["batches_per_s"] = benchmark::Counter(static_cast<double>(syncs), benchmark::Counter::kIsRate);
  state.counters["checkpoints_per_s"] = benchmark::Counter(static_cast<double>(cps), benchmark::Counter::kIsRate);
  state.counters["lat_p50_ms"] = Percentile(&lat, 0.50) / 1000.0;
  state.counters["lat_p99_ms"] = Percentile(&lat, 0.99) / 1000.0;
}

// ------------------------------------------------------- writer CPU parts

void BM_SealLine(benchmark::State& state) {
  AuditRecord r = MakeRecord(7, 7);
  std::string hash(kGenesisHash);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string line = SealLine(r, hash, &hash);
    bytes = line.size();
    benchmark::DoNotOptimize(line);
    ++r.index;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["line_bytes"] = static_cast<double>(bytes);
}

// The parts of SealLine: JSON-escaping one field (the 203-byte
// justification) and formatting the record's time.
void BM_AppendJsonString(benchmark::State& state) {
  const std::string& text = TemplateRecord().justification;
  std::string out;
  for (auto _ : state) {
    out.clear();
    AppendJsonString(text, &out);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_FormatRecordTime(benchmark::State& state) {
  int64_t t = NowMicros();
  for (auto _ : state) benchmark::DoNotOptimize(FormatRecordTime(t++));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_LeafHash(benchmark::State& state) {
  std::string hash;
  const std::string line = SealLine(MakeRecord(7, 7), kGenesisHash, &hash);
  for (auto _ : state) benchmark::DoNotOptimize(merkle::LeafHash(line));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_CheckpointSign(benchmark::State& state) {
  auto signer = CheckpointSigner::Load(Cfg().key_path);
  if (!signer.ok()) Die(signer.status().ToString());
  const std::string root = merkle::ToHex(merkle::EmptyRoot());
  uint64_t size = 1;
  for (auto _ : state) benchmark::DoNotOptimize((*signer)->Sign(size++, root, NowMicros()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_CheckpointVerify(benchmark::State& state) {
  auto signer = CheckpointSigner::Load(Cfg().key_path);
  auto verifier = CheckpointVerifier::Load(Cfg().pub_path);
  if (!signer.ok() || !verifier.ok()) Die("cannot load the bench keys");
  const Checkpoint c = *(*signer)->Sign(1000, merkle::ToHex(merkle::EmptyRoot()), NowMicros());
  for (auto _ : state) {
    if (!(*verifier)->Verify(c).ok()) Die("checkpoint does not verify");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// One RFC 6962 node hash (65 bytes), as MerkleTree computes it, and the same
// SHA-256 with the digest fetched once and the context reused: the gap is
// per-call overhead, not hashing.
void BM_NodeHash(benchmark::State& state) {
  merkle::Hash a = merkle::LeafHash("a"), b = merkle::LeafHash("b");
  for (auto _ : state) {
    a = merkle::NodeHash(a, b);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Sha256PrefetchedReference(benchmark::State& state) {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  unsigned char out[32];
  for (auto _ : state) {
    EVP_DigestInit_ex2(ctx, md, nullptr);
    EVP_DigestUpdate(ctx, data.data(), data.size());
    EVP_DigestFinal_ex(ctx, out, nullptr);
    benchmark::DoNotOptimize(out);
    data[0] = static_cast<char>(out[0]);
  }
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// --------------------------------------------------------- 2. verification

struct VerifyFixture {
  std::unique_ptr<ScratchDir> dir;
  std::string log_path;
  uint64_t records = 0;
  double build_seconds = 0;
  uint64_t build_batches = 0;
  uint64_t bytes = 0;
};

// Builds the log once: FileAuditLog with checkpoints every 1000 records, fed
// by 512 outstanding appends (batches stay below the checkpoint cadence).
VerifyFixture& VerifyLogFixture() {
  static VerifyFixture* f = [] {
    auto* fx = new VerifyFixture;
    fx->dir = std::make_unique<ScratchDir>("verify");
    const FileAuditLogOptions options = LogOptions(fx->dir->path());
    fx->log_path = options.path;
    auto log = FileAuditLog::Open(options);
    if (!log.ok()) Die(log.status().ToString());
    std::fprintf(stderr, "building a log of %llu records for VerifyLog...\n",
                 static_cast<unsigned long long>(Cfg().verify_records));
    const auto t0 = Clock::now();
    {
      AsyncLoad load(log->get(), 512, 1, /*issuers=*/2, Cfg().verify_records);
      load.WaitUntilDone();
      load.Stop();
      if (!load.error().empty()) Die(load.error());
    }
    fx->build_seconds = Seconds(Clock::now() - t0);
    fx->records = (*log)->size();
    fx->build_batches = (*log)->sync_count();
    log->reset();  // Signs the final checkpoint.
    fx->bytes = std::filesystem::file_size(fx->log_path);
    return fx;
  }();
  return *f;
}

void BM_BuildLog(benchmark::State& state) {
  VerifyFixture& f = VerifyLogFixture();
  for (auto _ : state) state.SetIterationTime(f.build_seconds);
  state.SetItemsProcessed(static_cast<int64_t>(f.records));
  state.counters["records_per_batch"] = static_cast<double>(f.records) / static_cast<double>(f.build_batches);
  state.counters["MB"] = static_cast<double>(f.bytes) / 1e6;
}

void BM_VerifyLog(benchmark::State& state) {
  VerifyFixture& f = VerifyLogFixture();
  VerifyOptions options;
  options.log_path = f.log_path;
  options.public_key_path = Cfg().pub_path;
  VerifyReport report;
  for (auto _ : state) {
    auto r = VerifyLog(options);
    if (!r.ok() || r->problem || r->records != f.records || r->signed_size != f.records) {
      state.SkipWithError(r.ok() ? (r->problem ? r->problem->message.c_str() : "wrong record count")
                                 : r.status().ToString().c_str());
      return;
    }
    report = *r;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * f.records));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.bytes));
  state.counters["records"] = static_cast<double>(report.records);
  state.counters["checkpoints"] = static_cast<double>(report.checkpoints);
}

// Start-up: FileAuditLog::Open re-checks the whole chain and rebuilds the tree.
void BM_OpenRecover(benchmark::State& state) {
  VerifyFixture& f = VerifyLogFixture();
  FileAuditLogOptions options = LogOptions(f.dir->path());
  for (auto _ : state) {
    auto log = FileAuditLog::Open(options);
    if (!log.ok() || (*log)->size() != f.records) {
      state.SkipWithError(log.ok() ? "wrong size" : log.status().ToString().c_str());
      return;
    }
    state.PauseTiming();
    log->reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * f.records));
}

// The gateway's proof API (hex strings) on the log built above.
void BM_FileAuditLogInclusionProof(benchmark::State& state) {
  VerifyFixture& f = VerifyLogFixture();
  auto log = FileAuditLog::Open(LogOptions(f.dir->path()));
  if (!log.ok()) Die(log.status().ToString());
  const uint64_t n = (*log)->size();
  std::mt19937_64 rng(42);
  std::vector<uint64_t> idx(4096);
  for (auto& i : idx) i = rng() % n;
  size_t k = 0;
  for (auto _ : state) {
    auto p = (*log)->InclusionProof(idx[k++ % idx.size()], n);
    if (!p.ok()) Die(p.status().ToString());
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// ------------------------------------------------------------ 3. proofs

struct ProofFixture {
  std::unique_ptr<ScratchDir> dir;
  std::unique_ptr<LeafFile> file;
  double file_build_seconds = 0;
  std::map<uint64_t, std::unique_ptr<merkle::MerkleTree>> file_trees;
  std::map<uint64_t, double> tree_build_seconds;
  std::unique_ptr<merkle::MemoryLeafSource> memory;
  std::map<uint64_t, std::unique_ptr<merkle::MerkleTree>> memory_trees;
};

ProofFixture& Proofs() {
  static ProofFixture* f = [] {
    auto* fx = new ProofFixture;
    const uint64_t max = *std::max_element(Cfg().proof_sizes.begin(), Cfg().proof_sizes.end());
    fx->dir = std::make_unique<ScratchDir>("proofs");
    auto file = LeafFile::Open(fx->dir->path() + "/audit.log.leaves");
    if (!file.ok()) Die(file.status().ToString());
    fx->file = *std::move(file);
    std::fprintf(stderr, "building a leaf file of %llu leaves...\n", static_cast<unsigned long long>(max));
    const auto t0 = Clock::now();
    std::vector<merkle::Hash> chunk;
    for (uint64_t i = 0; i < max; i += 65536) {
      chunk.clear();
      for (uint64_t j = i; j < std::min(max, i + 65536); ++j) chunk.push_back(merkle::LeafHash(absl::StrCat("record ", j)));
      absl::Status s = fx->file->Append(chunk);
      if (!s.ok()) Die(s.ToString());
    }
    absl::Status s = fx->file->Sync();
    if (!s.ok()) Die(s.ToString());
    fx->file_build_seconds = Seconds(Clock::now() - t0);
    return fx;
  }();
  return *f;
}

// A tree of the first n leaves of the leaf file, appended as FileAuditLog::Open does.
merkle::MerkleTree* FileTree(uint64_t n) {
  ProofFixture& f = Proofs();
  auto& tree = f.file_trees[n];
  if (tree == nullptr) {
    const auto t0 = Clock::now();
    tree = std::make_unique<merkle::MerkleTree>(f.file.get());
    std::vector<merkle::Hash> chunk;
    for (uint64_t i = 0; i < n; i += 4096) {
      absl::Status s = f.file->ReadLeaves(i, std::min(n, i + 4096), &chunk);
      if (!s.ok()) Die(s.ToString());
      for (const auto& leaf : chunk) tree->Append(leaf);
    }
    f.tree_build_seconds[n] = Seconds(Clock::now() - t0);
  }
  return tree.get();
}

// A tree of the first n leaves held in memory (MemoryLeafSource): the same
// proofs without the pread(2)s, for comparison.
merkle::MerkleTree* MemoryTree(uint64_t n) {
  ProofFixture& f = Proofs();
  if (f.memory == nullptr) {
    const uint64_t max = f.file->size();
    f.memory = std::make_unique<merkle::MemoryLeafSource>();
    std::vector<merkle::Hash> chunk;
    for (uint64_t i = 0; i < max; i += 65536) {
      absl::Status s = f.file->ReadLeaves(i, std::min(max, i + 65536), &chunk);
      if (!s.ok()) Die(s.ToString());
      for (const auto& leaf : chunk) f.memory->Add(leaf);
    }
  }
  auto& tree = f.memory_trees[n];
  if (tree == nullptr) {
    tree = std::make_unique<merkle::MerkleTree>(f.memory.get());
    std::vector<merkle::Hash> chunk;
    for (uint64_t i = 0; i < n; i += 65536) {
      absl::Status s = f.memory->ReadLeaves(i, std::min(n, i + 65536), &chunk);
      if (!s.ok()) Die(s.ToString());
      for (const auto& leaf : chunk) tree->Append(leaf);
    }
  }
  return tree.get();
}

void TreeCounters(benchmark::State& state, merkle::MerkleTree* tree, uint64_t n, double hashes) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["proof_hashes"] = hashes;
  state.counters["tree_cache_KiB"] = static_cast<double>(tree->cached_nodes() * sizeof(merkle::Hash)) / 1024.0;
  state.counters["leaves"] = static_cast<double>(n);
}

void BM_InclusionProof(benchmark::State& state, bool memory) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  merkle::MerkleTree* tree = memory ? MemoryTree(n) : FileTree(n);
  std::mt19937_64 rng(n);
  std::vector<uint64_t> idx(4096);
  for (auto& i : idx) i = rng() % n;
  // Check once that the proofs are right (so that we time real work).
  {
    auto root = tree->Root(n);
    std::vector<merkle::Hash> leaf;
    const merkle::LeafSource* src = memory ? static_cast<const merkle::LeafSource*>(Proofs().memory.get())
                                           : Proofs().file.get();
    if (!root.ok() || !src->ReadLeaves(idx[0], idx[0] + 1, &leaf).ok()) Die("cannot read the tree");
    auto p = tree->InclusionProof(idx[0], n);
    if (!p.ok() || !merkle::VerifyInclusion(idx[0], n, leaf[0], *p, *root)) Die("inclusion proof does not verify");
  }
  size_t k = 0;
  uint64_t hashes = 0;
  for (auto _ : state) {
    auto p = tree->InclusionProof(idx[k++ % idx.size()], n);
    if (!p.ok()) Die(p.status().ToString());
    hashes += p->size();
  }
  TreeCounters(state, tree, n, static_cast<double>(hashes) / static_cast<double>(std::max<uint64_t>(1, k)));
  if (!memory) {
    state.counters["tree_build_s"] = Proofs().tree_build_seconds[n];
    state.counters["leaf_file_build_s"] = Proofs().file_build_seconds;
  }
}

void BM_ConsistencyProof(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  merkle::MerkleTree* tree = FileTree(n);
  std::mt19937_64 rng(n + 1);
  std::vector<uint64_t> old_sizes(4096);
  for (auto& m : old_sizes) m = 1 + rng() % (n - 1 > 0 ? n - 1 : 1);
  {
    const uint64_t m = old_sizes[0];
    auto old_root = tree->Root(m);
    auto new_root = tree->Root(n);
    auto p = tree->ConsistencyProof(m, n);
    if (!old_root.ok() || !new_root.ok() || !p.ok() || !merkle::VerifyConsistency(m, n, *old_root, *new_root, *p)) {
      Die("consistency proof does not verify");
    }
  }
  size_t k = 0;
  uint64_t hashes = 0;
  for (auto _ : state) {
    auto p = tree->ConsistencyProof(old_sizes[k++ % old_sizes.size()], n);
    if (!p.ok()) Die(p.status().ToString());
    hashes += p->size();
  }
  TreeCounters(state, tree, n, static_cast<double>(hashes) / static_cast<double>(std::max<uint64_t>(1, k)));
}

// Root of the whole tree: what every checkpoint signs.
void BM_Root(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  merkle::MerkleTree* tree = FileTree(n);
  for (auto _ : state) {
    auto r = tree->Root(n);
    if (!r.ok()) Die(r.status().ToString());
    benchmark::DoNotOptimize(r);
  }
  TreeCounters(state, tree, n, 0);
}

// ------------------------------------------------------------------ main

std::string FsType(const std::string& path) {
  struct statfs s;
  if (::statfs(path.c_str(), &s) != 0) return "?";
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x01021994: return "tmpfs";
    case 0x794C7630: return "overlayfs";
    default: return absl::StrCat("0x", absl::Hex(static_cast<unsigned long>(s.f_type)));
  }
}

void Register() {
  const Config& c = Cfg();
  benchmark::RegisterBenchmark("RawWriteFdatasync/bytes:842", BM_RawWriteFdatasync)
      ->Arg(842)->UseRealTime()->Unit(benchmark::kMicrosecond);
  auto append = [](const std::string& name, LoadKind kind, uint64_t clients, uint64_t window, uint64_t every) {
    benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) { RunAppend(s, kind, clients, window, every); })
        ->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
  };
  for (uint64_t w : c.writers) {
    append(absl::StrCat("AppendDurable/blocking/writers:", w), LoadKind::kBlocking, w, 1, 1000);
  }
  std::vector<uint64_t> clients = c.writers;
  clients.push_back(1024);
  clients.push_back(4096);
  for (uint64_t n : clients) {
    append(absl::StrCat("AppendDurable/async/clients:", n, "/window:1"), LoadKind::kAsync, n, 1, 1000);
  }
  append("AppendDurable/async/clients:256/window:4", LoadKind::kAsync, 256, 4, 1000);
  append("AppendDurable/async/clients:256/window:1/checkpoints:off", LoadKind::kAsync, 256, 1, 0);
  append("AppendDurable/async/clients:1024/window:1/checkpoints:every_10000", LoadKind::kAsync, 1024, 1, 10000);
  append("AppendDurable/async/clients:1024/window:1/checkpoints:off", LoadKind::kAsync, 1024, 1, 0);

  benchmark::RegisterBenchmark("WriterCpu/SealLine", BM_SealLine);
  benchmark::RegisterBenchmark("WriterCpu/LeafHash", BM_LeafHash);
  benchmark::RegisterBenchmark("WriterCpu/AppendJsonString/justification", BM_AppendJsonString);
  benchmark::RegisterBenchmark("WriterCpu/FormatRecordTime", BM_FormatRecordTime);
  benchmark::RegisterBenchmark("WriterCpu/CheckpointSign", BM_CheckpointSign)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("CheckpointVerify", BM_CheckpointVerify)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("MerkleCpu/NodeHash", BM_NodeHash);
  benchmark::RegisterBenchmark("Reference/SHA256_prefetched_md", BM_Sha256PrefetchedReference)
      ->ArgName("bytes")->Arg(65)->Arg(851);

  const std::string rn = absl::StrCat("records:", c.verify_records);
  benchmark::RegisterBenchmark(("BuildLog/" + rn + "/in_flight:512").c_str(), BM_BuildLog)
      ->Iterations(1)->Repetitions(1)->UseManualTime()->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("VerifyLog/" + rn).c_str(), BM_VerifyLog)->UseRealTime()->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("OpenRecover/" + rn).c_str(), BM_OpenRecover)->UseRealTime()->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("FileAuditLogInclusionProof/" + rn).c_str(), BM_FileAuditLogInclusionProof)
      ->Unit(benchmark::kMicrosecond);

  for (uint64_t n : c.proof_sizes) {
    benchmark::RegisterBenchmark("InclusionProof/source:leaf_file", BM_InclusionProof, false)
        ->ArgName("leaves")->Arg(static_cast<int64_t>(n))->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("InclusionProof/source:memory", BM_InclusionProof, true)
        ->ArgName("leaves")->Arg(static_cast<int64_t>(n))->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("ConsistencyProof/source:leaf_file", BM_ConsistencyProof)
        ->ArgName("leaves")->Arg(static_cast<int64_t>(n))->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("Root/source:leaf_file", BM_Root)
        ->ArgName("leaves")->Arg(static_cast<int64_t>(n))->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace
}  // namespace portcullis

int main(int argc, char** argv) {
  using portcullis::Cfg;
  using portcullis::Env;
  using portcullis::EnvDouble;
  using portcullis::EnvList;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  portcullis::Config& c = Cfg();
  c.quick = Env("PORTCULLIS_BENCH_QUICK", "0") != "0";
  c.append_seconds = EnvDouble("PORTCULLIS_BENCH_APPEND_SECONDS", c.quick ? 0.5 : 5);
  c.warmup_seconds = EnvDouble("PORTCULLIS_BENCH_WARMUP_SECONDS", c.quick ? 0.2 : 1);
  c.verify_records = EnvList("PORTCULLIS_BENCH_VERIFY_RECORDS", c.quick ? "100000" : "1000000").at(0);
  c.proof_sizes = EnvList("PORTCULLIS_BENCH_PROOF_SIZES", c.quick ? "1000,1000000" : "1000,1000000,10000000,10000128");
  c.writers = EnvList("PORTCULLIS_BENCH_WRITERS", "1,8,64,256");

  const std::string base = Env("PORTCULLIS_BENCH_DIR", Env("TMPDIR", "/tmp"));
  std::string tmpl = base + "/portcullis-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) portcullis::Die("cannot create a temp dir under " + base);
  c.dir = tmpl;
  c.key_path = c.dir + "/checkpoint-signing.key";
  c.pub_path = c.dir + "/checkpoint-signing.pub";
  portcullis::GenerateKeys(c.key_path, c.pub_path);

  benchmark::AddCustomContext("bench_dir", c.dir);
  benchmark::AddCustomContext("bench_fs", portcullis::FsType(c.dir));
  benchmark::AddCustomContext("quick", c.quick ? "yes" : "no");
  benchmark::AddCustomContext("append_window_s", absl::StrCat(c.append_seconds));

  portcullis::Register();
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
