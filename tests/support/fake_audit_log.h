// An in-memory AuditLog for unit tests of what writes records (e.g. the
// acceptance pipeline): keeps every record appended, and can be made
// unhealthy, made to fail appends while still reporting healthy (a failure
// that comes after the caller's check), or made to hold appends until the
// test releases them (to see what happens before a record is durable).
// Thread-safe; `done` callbacks run on the caller's thread (Append or
// ReleaseHeld), never under the log's lock. The read side is not provided
// (UNIMPLEMENTED).
#ifndef PORTCULLIS_TESTS_SUPPORT_FAKE_AUDIT_LOG_H_
#define PORTCULLIS_TESTS_SUPPORT_FAKE_AUDIT_LOG_H_

#include <mutex>
#include <utility>
#include <vector>

#include "gateway/audit/audit_log.h"

namespace portcullis::testing {

class FakeAuditLog final : public AuditLog {
 public:
  // Health() reports `status` (and appends fail with it) from now on.
  void SetHealth(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    health_ = std::move(status);
  }
  // Appends fail with UNAVAILABLE from now on, though Health() stays OK.
  void FailAppends() {
    std::lock_guard<std::mutex> lock(mu_);
    fail_appends_ = true;
  }
  // Appends wait (neither kept nor answered) until ReleaseHeld().
  void HoldAppends() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  // Makes every held append durable, in order, and stops holding.
  void ReleaseHeld() {
    std::vector<std::pair<AuditRecord, Done>> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      hold_ = false;
      held.swap(held_);
    }
    for (auto& [record, done] : held) Append(std::move(record), std::move(done));
  }
  size_t held() const {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }
  // The durable records, in order (record.index is set).
  std::vector<AuditRecord> records() const {
    std::lock_guard<std::mutex> lock(mu_);
    return records_;
  }

  void Append(AuditRecord record, Done done) override {
    absl::StatusOr<uint64_t> result;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (hold_) {
        held_.emplace_back(std::move(record), std::move(done));
        return;
      }
      if (!health_.ok()) {
        result = health_;
      } else if (fail_appends_) {
        result = absl::UnavailableError("fake audit log: append failed");
      } else {
        record.index = records_.size();
        result = record.index;
        records_.push_back(std::move(record));
      }
    }
    done(result);
  }
  absl::Status Health() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return health_;
  }
  uint64_t size() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return records_.size();
  }
  absl::StatusOr<std::vector<std::string>> ReadLines(uint64_t, uint64_t) const override { return Unimplemented(); }
  std::optional<Checkpoint> LatestCheckpoint() const override { return std::nullopt; }
  absl::StatusOr<Checkpoint> CheckpointNow() override { return Unimplemented(); }
  absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t, uint64_t) const override {
    return Unimplemented();
  }
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(uint64_t, uint64_t) const override {
    return Unimplemented();
  }

 private:
  static absl::Status Unimplemented() { return absl::UnimplementedError("FakeAuditLog keeps no file"); }

  mutable std::mutex mu_;
  absl::Status health_;
  bool fail_appends_ = false;
  bool hold_ = false;
  std::vector<std::pair<AuditRecord, Done>> held_;
  std::vector<AuditRecord> records_;
};

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_FAKE_AUDIT_LOG_H_
