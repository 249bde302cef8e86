// FileAuditLog's writing and reading half: the group-commit writer,
// checkpoints and their witness copy, records and proofs (file_audit_log.h).
// Recovery at Open() is file_audit_log_open.cc.
#include "gateway/audit/file_audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gateway/audit/log_file_io.h"
#include "gateway/audit/log_format.h"
#include "gateway/common/log.h"

namespace portcullis {

using audit_file::AppendLineDurably;
using audit_file::ErrnoStatus;
using audit_file::kOffsetStride;
using audit_file::OpenForAppend;
using audit_file::WriteAll;

FileAuditLog::~FileAuditLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  writer_.join();
  if (signer_ != nullptr && Health().ok()) {
    auto c = CheckpointNow();
    if (!c.ok()) LogLine("final audit checkpoint failed: %s\n", c.status().ToString().c_str());
  }
  if (witness_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(witness_mu_);
      witness_stopping_ = true;
    }
    witness_cv_.notify_all();
    witness_thread_.join();  // After copying what is queued.
  }
  ::close(fd_);
  if (checkpoint_fd_ >= 0) ::close(checkpoint_fd_);
}

void FileAuditLog::Append(AuditRecord record, Done done) {
  absl::Status failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_.ok() && !stopping_) {
      pending_.emplace_back(std::move(record), std::move(done));
      if (pending_.size() == 1) cv_.notify_one();
      return;
    }
    failed = failed_.ok() ? absl::UnavailableError("audit log is closing") : failed_;
  }
  done(failed);
}

absl::Status FileAuditLog::Health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

uint64_t FileAuditLog::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return size_;
}

uint64_t FileAuditLog::sync_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return syncs_;
}

uint64_t FileAuditLog::witness_failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return witness_failures_;
}

absl::Status FileAuditLog::Inject(absl::string_view op) const {
  return options_.fault_injector ? options_.fault_injector(op) : absl::OkStatus();
}

void FileAuditLog::WriterLoop() {
  std::vector<std::pair<AuditRecord, Done>> batch;
  for (;;) {
    bool checkpoint_due = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto wake = [this] { return stopping_ || !pending_.empty(); };
      const bool unsigned_records = signer_ != nullptr && size_ > (latest_ ? latest_->size : 0);
      if (unsigned_records) {
        cv_.wait_until(lock, last_checkpoint_time_ + options_.checkpoint_interval, wake);
      } else {
        cv_.wait(lock, wake);
      }
      if (pending_.empty() && stopping_) return;  // Drained; the destructor signs the last checkpoint.
      batch.swap(pending_);
      const uint64_t since = size_ - (latest_ ? latest_->size : 0);
      checkpoint_due = signer_ != nullptr && failed_.ok() &&
                       (since + batch.size() >= options_.checkpoint_every_records ||
                        std::chrono::steady_clock::now() >= last_checkpoint_time_ + options_.checkpoint_interval);
    }
    if (!batch.empty()) {
      absl::Status status = WriteBatch(&batch);
      for (auto& [record, done] : batch) {
        if (status.ok()) {
          done(record.index);
        } else {
          done(status);
        }
      }
      batch.clear();
    }
    if (checkpoint_due) {
      std::lock_guard<std::mutex> wlock(write_mu_);
      auto c = SignCheckpointLocked();
      if (!c.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        failed_ = c.status();
      }
    }
  }
}

absl::Status FileAuditLog::WriteBatch(std::vector<std::pair<AuditRecord, Done>>* batch) {
  std::lock_guard<std::mutex> wlock(write_mu_);
  uint64_t first_index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_.ok()) return failed_;
    first_index = size_;
  }
  std::string buffer;
  std::vector<merkle::Hash> leaves;
  std::vector<uint64_t> offsets;
  leaves.reserve(batch->size());
  std::string hash = last_hash_;
  uint64_t index = first_index;
  uint64_t end = file_end_;
  for (auto& [record, done] : *batch) {
    record.index = index;
    if (record.time_micros == 0) record.time_micros = NowMicros();
    record.replica_id = options_.replica_id;
    std::string line = SealLine(record, hash, &hash);
    leaves.push_back(merkle::LeafHash(line));
    if (index % kOffsetStride == 0) offsets.push_back(end);
    end += line.size() + 1;
    buffer.append(line);
    buffer.push_back('\n');
    ++index;
  }
  absl::Status status = Inject("write");
  if (status.ok()) status = WriteAll(fd_, buffer, options_.path);
  if (status.ok()) status = Inject("sync");
  if (status.ok() && ::fdatasync(fd_) != 0) status = ErrnoStatus("fdatasync", options_.path, errno);
  if (!status.ok()) {
    // Nothing in this batch is acknowledged, so none of it may stay: cut the
    // log back to its last acknowledged record. The failure is sticky: the
    // gateway refuses new work until an operator has fixed the disk and
    // restarted it.
    if (::ftruncate(fd_, static_cast<off_t>(file_end_)) != 0 || ::fdatasync(fd_) != 0) {
      status = absl::Status(status.code(), absl::StrCat(status.message(), "; and the unacknowledged records could not be "
                                                        "cut back (", std::strerror(errno), ")"));
    }
    std::lock_guard<std::mutex> lock(mu_);
    failed_ = status;
    return status;
  }
  // The records are durable and will be acknowledged. The leaf file is
  // derived data (rebuilt at start, synced at checkpoints): if it cannot be
  // written, later work is refused, but these records stand.
  absl::Status leaf_status = leaves_->Append(leaves);
  for (const auto& leaf : leaves) tree_->Append(leaf);
  last_hash_ = hash;
  file_end_ = end;
  std::lock_guard<std::mutex> lock(mu_);
  size_ = index;
  offsets_.insert(offsets_.end(), offsets.begin(), offsets.end());
  ++syncs_;
  if (!leaf_status.ok()) failed_ = leaf_status;
  return absl::OkStatus();
}

absl::StatusOr<Checkpoint> FileAuditLog::SignCheckpointLocked() {
  if (signer_ == nullptr) return absl::FailedPreconditionError("the audit log has no signing key configured");
  uint64_t size;
  {
    std::lock_guard<std::mutex> lock(mu_);
    size = size_;
    last_checkpoint_time_ = std::chrono::steady_clock::now();
    if (latest_ && latest_->size == size) return *latest_;
  }
  auto root = tree_->Root(size);
  if (!root.ok()) return root.status();
  absl::Status s = leaves_->Sync();
  if (!s.ok()) return s;
  absl::StatusOr<Checkpoint> signed_checkpoint = signer_->Sign(size, merkle::ToHex(*root), NowMicros());
  if (!signed_checkpoint.ok()) return signed_checkpoint.status();
  const Checkpoint& c = *signed_checkpoint;
  const std::string line = CheckpointToLine(c) + "\n";
  s = AppendLineDurably(checkpoint_fd_, line, options_.path + ".checkpoints");
  if (!s.ok()) return s;
  if (witness_thread_.joinable()) {
    std::lock_guard<std::mutex> lock(witness_mu_);
    witness_queue_.push_back(line);
    witness_cv_.notify_one();
  }
  std::lock_guard<std::mutex> lock(mu_);
  latest_ = c;
  return c;
}

// Copies checkpoints to the witness on a thread of its own: a slow or hung
// witness (another machine's share) never holds up an exchange.
void FileAuditLog::WitnessLoop() {
  const std::string wpath = options_.witness_dir + "/checkpoints.log";
  std::unique_lock<std::mutex> lock(witness_mu_);
  for (;;) {
    witness_cv_.wait(lock, [this] { return witness_stopping_ || !witness_queue_.empty(); });
    if (witness_queue_.empty()) return;  // Stopping, and everything is copied.
    std::string line = std::move(witness_queue_.front());
    witness_queue_.pop_front();
    lock.unlock();
    auto wfd = OpenForAppend(wpath);
    absl::Status ws = wfd.status();
    if (wfd.ok()) {
      ws = AppendLineDurably(*wfd, line, wpath);
      ::close(*wfd);
    }
    if (!ws.ok()) {
      LogLine("audit witness copy failed: %s\n", ws.ToString().c_str());
      std::lock_guard<std::mutex> mlock(mu_);
      ++witness_failures_;
    }
    lock.lock();
  }
}

absl::StatusOr<Checkpoint> FileAuditLog::CheckpointNow() {
  std::lock_guard<std::mutex> wlock(write_mu_);
  return SignCheckpointLocked();
}

std::optional<Checkpoint> FileAuditLog::LatestCheckpoint() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_;
}

absl::StatusOr<std::vector<std::string>> FileAuditLog::ReadLines(uint64_t begin, uint64_t max_count) const {
  // Before the size check: a failing disk fails every read alike.
  if (absl::Status fault = Inject("read"); !fault.ok()) return fault;
  uint64_t start_offset, end;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (begin >= size_) return std::vector<std::string>{};
    end = std::min(size_, begin + max_count);
    start_offset = offsets_[begin / kOffsetStride];
  }
  std::ifstream in(options_.path, std::ios::binary);
  if (!in) return absl::UnavailableError(absl::StrCat("cannot read audit log ", options_.path));
  in.seekg(static_cast<std::streamoff>(start_offset));
  std::vector<std::string> out;
  std::string line;
  for (uint64_t i = begin - begin % kOffsetStride; i < end && std::getline(in, line); ++i) {
    if (i >= begin) out.push_back(line);
  }
  if (out.size() != end - begin) return absl::DataLossError("audit log is shorter than its index");
  return out;
}

absl::StatusOr<std::vector<std::string>> FileAuditLog::InclusionProof(uint64_t index, uint64_t tree_size) const {
  if (absl::Status fault = Inject("read"); !fault.ok()) return fault;
  if (tree_size > size()) return absl::OutOfRangeError(absl::StrCat("tree_size ", tree_size, " exceeds the log"));
  return merkle::HexProof(tree_->InclusionProof(index, tree_size));
}

absl::StatusOr<std::vector<std::string>> FileAuditLog::ConsistencyProof(uint64_t old_size, uint64_t new_size) const {
  if (absl::Status fault = Inject("read"); !fault.ok()) return fault;
  if (new_size > size()) return absl::OutOfRangeError(absl::StrCat("new_size ", new_size, " exceeds the log"));
  return merkle::HexProof(tree_->ConsistencyProof(old_size, new_size));
}

}  // namespace portcullis
