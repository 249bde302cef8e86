// The audit benchmarks' load drivers: closed-loop writers that keep a
// FileAuditLog busy, blocking (a thread per writer) or asynchronous (many
// clients' windows of outstanding appends served by a few issuer threads).
// Used by the append benchmarks and to build the log the verification
// benchmarks read.
#ifndef PORTCULLIS_BENCH_AUDIT_BENCH_LOAD_H_
#define PORTCULLIS_BENCH_AUDIT_BENCH_LOAD_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "bench/audit_bench_common.h"
#include "gateway/audit/audit_log.h"

namespace portcullis::audit_bench {

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

}  // namespace portcullis::audit_bench

#endif  // PORTCULLIS_BENCH_AUDIT_BENCH_LOAD_H_
