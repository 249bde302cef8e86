// Audit benchmarks, parts 2 and 3 (docs/benchmarks.md): offline verification
// and start-up recovery of a large log, and Merkle inclusion and consistency
// proofs over a LeafFile and in memory.
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

// Calls add(leaf) for each of the first n leaves of `source`, read `chunk` leaves at a time.
template <typename Source, typename Add>
void ReadLeavesInto(Source& source, uint64_t n, uint64_t chunk, Add add) {
  std::vector<merkle::Hash> leaves;
  for (uint64_t i = 0; i < n; i += chunk) {
    absl::Status s = source.ReadLeaves(i, std::min(n, i + chunk), &leaves);
    if (!s.ok()) Die(s.ToString());
    for (const auto& leaf : leaves) add(leaf);
  }
}

// A tree of the first n leaves of the leaf file, appended as FileAuditLog::Open does.
merkle::MerkleTree* FileTree(uint64_t n) {
  ProofFixture& f = Proofs();
  auto& tree = f.file_trees[n];
  if (tree == nullptr) {
    const auto t0 = Clock::now();
    tree = std::make_unique<merkle::MerkleTree>(f.file.get());
    ReadLeavesInto(*f.file, n, 4096, [&](const merkle::Hash& leaf) { tree->Append(leaf); });
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
    ReadLeavesInto(*f.file, max, 65536, [&](const merkle::Hash& leaf) { f.memory->Add(leaf); });
  }
  auto& tree = f.memory_trees[n];
  if (tree == nullptr) {
    tree = std::make_unique<merkle::MerkleTree>(f.memory.get());
    ReadLeavesInto(*f.memory, n, 65536, [&](const merkle::Hash& leaf) { tree->Append(leaf); });
  }
  return tree.get();
}

void TreeCounters(benchmark::State& state, merkle::MerkleTree* tree, uint64_t n, double hashes) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["proof_hashes"] = hashes;
  state.counters["tree_cache_KiB"] = static_cast<double>(tree->cached_nodes() * sizeof(merkle::Hash)) / 1024.0;
  state.counters["leaves"] = static_cast<double>(n);
}

// The timed loop of a proof benchmark: the k-th iteration builds proof(k);
// counters as TreeCounters, with the mean hashes per proof.
template <typename ProofFn>
void TimeProofs(benchmark::State& state, merkle::MerkleTree* tree, uint64_t n, ProofFn proof) {
  size_t k = 0;
  uint64_t hashes = 0;
  for (auto _ : state) {
    auto p = proof(k++);
    if (!p.ok()) Die(p.status().ToString());
    hashes += p->size();
  }
  TreeCounters(state, tree, n, static_cast<double>(hashes) / static_cast<double>(std::max<uint64_t>(1, k)));
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
  TimeProofs(state, tree, n, [&](size_t k) { return tree->InclusionProof(idx[k % idx.size()], n); });
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
  TimeProofs(state, tree, n, [&](size_t k) { return tree->ConsistencyProof(old_sizes[k % old_sizes.size()], n); });
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

}  // namespace

void RegisterVerifyBenchmarks() {
  const Config& c = Cfg();
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

}  // namespace portcullis::audit_bench
