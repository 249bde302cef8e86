// PgAuditLog's checkpoints: the signer under an advisory lock (one signer
// at a time across gateways, sizes never decrease), the witness copy on a
// thread of its own, and shutdown (pg_audit_log.h).
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "gateway/audit/log_file_io.h"
#include "gateway/audit/pg_audit_log_leaves.h"

namespace portcullis {
namespace {

// The advisory lock of the checkpoint signer (any fixed key; the schema's
// own lock is 5043535401), held to the end of the signer's transaction: the
// periodic signer skips a turn when another gateway holds it; CheckpointNow
// and the final checkpoint wait for it (their caller wants the log covered).
constexpr const char* kSignerTryLock = "SELECT pg_try_advisory_xact_lock(5043535402)";
constexpr const char* kSignerLock = "SELECT true FROM pg_advisory_xact_lock(5043535402)";

}  // namespace

PgAuditLog::~PgAuditLog() {
  // Every op of this log still queued calls back into it: let them finish.
  options_.writer->Flush();
  if (signer_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(signer_mu_);
      signer_stopping_ = true;
    }
    signer_cv_.notify_all();
    signer_thread_.join();
  }
  if (signer_ != nullptr && Health().ok()) {
    auto c = SignCheckpoint(/*wait=*/true);
    if (!c.ok()) std::fprintf(stderr, "portcullis: final audit checkpoint failed: %s\n", c.status().ToString().c_str());
  }
  if (witness_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(witness_mu_);
      witness_stopping_ = true;
    }
    witness_cv_.notify_all();
    witness_thread_.join();  // After copying what is queued.
  }
}

uint64_t PgAuditLog::witness_failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return witness_failures_;
}

uint64_t PgAuditLog::checkpoints_signed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return signed_by_me_;
}

std::optional<Checkpoint> PgAuditLog::LatestCheckpoint() const {
  auto read = pg_audit::WithConnection(options_.pool, [](pg::Connection& conn) {
    return pg_audit::ReadLatestCheckpoint(conn);
  });
  std::lock_guard<std::mutex> lock(mu_);
  // Another gateway may have signed a larger tree; sizes never decrease, so
  // a smaller one read (never expected) does not replace what is cached.
  if (read.ok() && *read && (!latest_ || (*read)->size >= latest_->size)) latest_ = *read;
  return latest_;  // The database unreachable: the latest this gateway knows.
}

absl::StatusOr<Checkpoint> PgAuditLog::CheckpointNow() { return SignCheckpoint(/*wait=*/true); }

absl::StatusOr<Checkpoint> PgAuditLog::SignCheckpoint(bool wait) {
  if (signer_ == nullptr) return absl::FailedPreconditionError("the audit log has no signing key configured");
  std::lock_guard<std::mutex> sign_lock(sign_mu_);
  std::optional<Checkpoint> latest;
  std::string witness_line;
  // In one transaction holding the signer lock: no other gateway signs
  // between reading the latest checkpoint and inserting a larger one.
  auto sign = [&](pg::Connection& conn) -> absl::Status {
    latest.reset();
    witness_line.clear();
    auto locked = conn.Exec(wait ? kSignerLock : kSignerTryLock);
    if (!locked.ok()) return locked.status();
    auto read = pg_audit::ReadLatestCheckpoint(conn);
    if (!read.ok()) return read.status();
    latest = *read;
    if (!locked->Bool(0, 0)) return absl::OkStatus();  // Another gateway is signing: its checkpoint will do.
    auto head = conn.Exec("SELECT audit_size FROM portcullis_head WHERE id = 1");
    if (!head.ok()) return head.status();
    if (head->rows() != 1) return absl::DataLossError("audit log: the head row (portcullis_head) is missing");
    const uint64_t size = static_cast<uint64_t>(head->Int(0, 0));
    if (latest && latest->size >= size) return absl::OkStatus();  // Nothing new to sign.
    {
      std::lock_guard<std::mutex> tree_lock(tree_mu_);
      if (absl::Status s = CatchUpLocked(size); !s.ok()) return s;
    }
    auto root = tree_->Root(size);
    if (!root.ok()) return root.status();
    auto c = signer_->Sign(size, merkle::ToHex(*root), NowMicros());
    if (!c.ok()) return c.status();
    const std::string line = CheckpointToLine(*c);
    if (absl::Status s = conn.Run("INSERT INTO audit_checkpoints(tree_size, line) VALUES ($1, $2)", {size, line});
        !s.ok()) {
      return s;
    }
    latest = *c;
    witness_line = line + "\n";
    return absl::OkStatus();
  };
  absl::Status s = pg_audit::WithConnection(options_.pool, [&](pg::Connection& conn) {
    absl::Status t = conn.Run("BEGIN");
    if (t.ok()) t = sign(conn);
    if (t.ok()) t = conn.Run("COMMIT");
    if (!t.ok()) conn.Run("ROLLBACK").IgnoreError();
    return t;
  });
  if (!s.ok()) {
    if (s.code() == absl::StatusCode::kDataLoss) SetFailed(s);
    return s.code() == absl::StatusCode::kDataLoss || s.code() == absl::StatusCode::kInternal
               ? s
               : pg_audit::ReadError(s, "signing a checkpoint");
  }
  if (!witness_line.empty() && witness_thread_.joinable()) {
    std::lock_guard<std::mutex> lock(witness_mu_);
    witness_queue_.push_back(witness_line);
    witness_cv_.notify_one();
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!witness_line.empty()) ++signed_by_me_;
  if (latest && (!latest_ || latest->size >= latest_->size)) latest_ = latest;
  if (!latest_) return absl::UnavailableError("audit log: another gateway is signing the first checkpoint");
  return *latest_;
}

void PgAuditLog::SignerLoop() {
  std::unique_lock<std::mutex> lock(signer_mu_);
  while (!signer_stopping_) {
    signer_cv_.wait_for(lock, options_.checkpoint_interval, [this] {
      return signer_stopping_ || since_checkpoint_ >= options_.checkpoint_every_records;
    });
    if (signer_stopping_) return;  // The destructor signs the last one.
    since_checkpoint_ = 0;
    lock.unlock();
    auto c = SignCheckpoint(/*wait=*/false);
    if (!c.ok() && c.status().code() != absl::StatusCode::kFailedPrecondition) {
      std::fprintf(stderr, "portcullis: audit checkpoint failed (retried later): %s\n", c.status().ToString().c_str());
    }
    lock.lock();
  }
}

// Copies checkpoints to the witness on a thread of its own: a slow or hung
// witness (another machine's share) never holds up an exchange.
void PgAuditLog::WitnessLoop() {
  const std::string wpath = options_.witness_dir + "/checkpoints.log";
  std::unique_lock<std::mutex> lock(witness_mu_);
  for (;;) {
    witness_cv_.wait(lock, [this] { return witness_stopping_ || !witness_queue_.empty(); });
    if (witness_queue_.empty()) return;  // Stopping, and everything is copied.
    std::string line = std::move(witness_queue_.front());
    witness_queue_.pop_front();
    lock.unlock();
    auto wfd = audit_file::OpenForAppend(wpath);
    absl::Status ws = wfd.status();
    if (wfd.ok()) {
      ws = audit_file::AppendLineDurably(*wfd, line, wpath);
      ::close(*wfd);
    }
    if (!ws.ok()) {
      std::fprintf(stderr, "portcullis: audit witness copy failed: %s\n", ws.ToString().c_str());
      std::lock_guard<std::mutex> mlock(mu_);
      ++witness_failures_;
    }
    lock.lock();
  }
}

}  // namespace portcullis
