// Audit benchmarks, part 1 (docs/benchmarks.md): durable appends per second
// through FileAuditLog's group commit from many closed-loop writers, the
// one-record-per-fdatasync baseline, and the writer's CPU parts.
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
#include "bench/audit_bench_common.h"
#include "bench/audit_bench_load.h"
#include "gateway/audit/checkpoint.h"
#include "gateway/audit/file_audit_log.h"
#include "gateway/audit/leaf_file.h"
#include "gateway/audit/log_format.h"
#include "gateway/audit/log_verifier.h"
#include "gateway/audit/merkle.h"

namespace portcullis::audit_bench {
namespace {

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

}  // namespace

void RegisterAppendBenchmarks() {
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
}

}  // namespace portcullis::audit_bench
