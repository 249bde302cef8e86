// PgAuditLog's checkpoints: the signer under an advisory lock (one signer
// at a time across gateways, sizes never decrease), the witness copy written
// while that lock is held (witness lines in size order across gateways), and
// shutdown (pg_audit_log.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "gateway/audit/log_file_io.h"
#include "gateway/audit/pg_audit_log_leaves.h"
#include "gateway/common/log.h"

namespace portcullis {
namespace {

// The advisory lock of the checkpoint signer (any fixed key; the schema's
// own lock is 5043535401). Session-level: held across COMMIT and the witness
// write, released before the connection goes back to the pool.
constexpr const char* kSignerTryLock = "SELECT pg_try_advisory_lock(5043535402)";
// CheckpointNow and the final checkpoint wait for it instead (their caller
// wants the log covered; skipping would hand back an older checkpoint). The
// wait is bounded by the session's lock_timeout.
constexpr const char* kSignerLock = "SELECT true FROM pg_advisory_lock(5043535402)";
constexpr const char* kSignerUnlock = "SELECT pg_advisory_unlock(5043535402)";

// The tree size of the witness file's last complete line; 0 if the file is
// missing, empty or its last line unreadable (then the latest is copied).
uint64_t WitnessTailSize(const std::string& path, bool* torn) {
  *torn = false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  std::string tail;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    const off_t want = std::min<off_t>(st.st_size, 16 * 1024);
    tail.resize(static_cast<size_t>(want));
    const ssize_t n = ::pread(fd, tail.data(), tail.size(), st.st_size - want);
    tail.resize(n < 0 ? 0 : static_cast<size_t>(n));
  }
  ::close(fd);
  if (tail.empty()) return 0;
  *torn = tail.back() != '\n';
  const size_t end = tail.rfind('\n');
  if (end == std::string::npos) return 0;
  const size_t begin = tail.rfind('\n', end == 0 ? 0 : end - 1);
  const size_t from = begin == std::string::npos || begin == end ? 0 : begin + 1;
  auto c = CheckpointFromLine(tail.substr(from, end - from));
  return c.ok() ? c->size : 0;
}

// While the signer runs, the tree reads leaves through the signer's own
// connection: it never waits for a second one from the pool.
class SignerConnection {
 public:
  explicit SignerConnection(pg::Connection* conn) { pg_audit::tls_signer_connection = conn; }
  ~SignerConnection() { pg_audit::tls_signer_connection = nullptr; }
};

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
  // The last checkpoint, and the witness copy of the latest one.
  if (signer_ != nullptr && Health().ok()) {
    auto c = SignCheckpoint(/*wait=*/true);
    if (!c.ok()) LogLine("final audit checkpoint failed: %s\n", c.status().ToString().c_str());
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

// Holding the signer lock: in one transaction, signs the tree if it is
// larger than the latest checkpoint and inserts it; then, after COMMIT and
// still holding the lock, copies the latest checkpoint to the witness if the
// witness lacks it (this one, or one whose COMMIT answer or copy was lost).
absl::Status PgAuditLog::SignHoldingLock(pg::Connection& conn, std::optional<Checkpoint>* latest, bool* signed_now) {
  SignerConnection own(&conn);
  const SeenHead before = Seen();  // Committed before the head is read.
  auto sign = [&]() -> absl::Status {
    auto read = pg_audit::ReadLatestCheckpoint(conn);
    if (!read.ok()) return read.status();
    *latest = *read;
    auto head = conn.Exec("SELECT audit_size, audit_head FROM portcullis_head WHERE id = 1");
    if (!head.ok()) return head.status();
    if (head->rows() != 1) return absl::DataLossError("audit log: the head row (portcullis_head) is missing");
    const uint64_t size = static_cast<uint64_t>(head->Int(0, 0));
    if (absl::Status s = CheckHead(size, std::string(head->Text(0, 1)), before); !s.ok()) return s;
    if (*latest && (*latest)->size >= size) return absl::OkStatus();  // Nothing new to sign.
    {
      std::lock_guard<std::mutex> tree_lock(tree_mu_);
      if (absl::Status s = CatchUpLocked(size); !s.ok()) return s;
    }
    auto root = tree_->Root(size);
    if (!root.ok()) return root.status();
    auto c = signer_->Sign(size, merkle::ToHex(*root), NowMicros());
    if (!c.ok()) return c.status();
    if (absl::Status s = conn.Run("INSERT INTO audit_checkpoints(tree_size, line) VALUES ($1, $2)",
                                  {size, CheckpointToLine(*c)});
        !s.ok()) {
      return s;
    }
    *latest = *c;
    *signed_now = true;
    return absl::OkStatus();
  };
  absl::Status t = conn.Run("BEGIN");
  if (t.ok()) t = sign();
  if (t.ok()) t = conn.Run("COMMIT");
  if (!t.ok()) {
    conn.Run("ROLLBACK").IgnoreError();
    *signed_now = false;
    return t;
  }
  if (*latest) CopyToWitness(**latest);
  return absl::OkStatus();
}

absl::StatusOr<Checkpoint> PgAuditLog::SignCheckpoint(bool wait) {
  if (signer_ == nullptr) return absl::FailedPreconditionError("the audit log has no signing key configured");
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_.ok()) return failed_;
  }
  std::lock_guard<std::mutex> sign_lock(sign_mu_);
  std::optional<Checkpoint> latest;
  bool signed_now = false;
  absl::Status s = pg_audit::WithConnection(options_.pool, [&](pg::Connection& conn) -> absl::Status {
    latest.reset();
    signed_now = false;
    auto locked = conn.Exec(wait ? kSignerLock : kSignerTryLock);
    if (!locked.ok()) return locked.status();
    if (!locked->Bool(0, 0)) {
      // Another gateway is signing (and copying to the witness): its checkpoint will do.
      auto read = pg_audit::ReadLatestCheckpoint(conn);
      if (!read.ok()) return read.status();
      latest = *read;
      return absl::OkStatus();
    }
    absl::Status t = SignHoldingLock(conn, &latest, &signed_now);
    // Released before the connection goes back to the pool (a broken
    // connection has lost it with its session already).
    if (conn.in_transaction()) conn.Run("ROLLBACK").IgnoreError();
    if (auto unlocked = conn.Exec(kSignerUnlock); !unlocked.ok() && conn.ok()) {
      LogLine("audit log: releasing the signer lock failed: %s\n",
                   unlocked.status().ToString().c_str());
    }
    return t;
  });
  if (!s.ok()) {
    if (s.code() == absl::StatusCode::kDataLoss) SetFailed(s);
    return s.code() == absl::StatusCode::kDataLoss || s.code() == absl::StatusCode::kInternal
               ? s
               : pg_audit::ReadError(s, "signing a checkpoint");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (signed_now) ++signed_by_me_;
  if (latest && (!latest_ || latest->size >= latest_->size)) latest_ = latest;
  if (!latest_) return absl::UnavailableError("audit log: another gateway is signing the first checkpoint");
  return *latest_;
}

// Called holding the signer lock, so no other gateway writes the shared
// witness file meanwhile: its lines go in size order, and AppendLineDurably
// cutting a failed write back cannot cut another gateway's line. A slow
// witness holds up only the signer (and other gateways' signers, which skip),
// never an exchange.
void PgAuditLog::CopyToWitness(const Checkpoint& latest) {
  if (options_.witness_dir.empty()) return;
  const std::string wpath = options_.witness_dir + "/checkpoints.log";
  bool torn = false;
  const uint64_t has = WitnessTailSize(wpath, &torn);
  if (has >= latest.size && !torn) return;  // It has it already.
  absl::Status ws = Inject("witness");
  if (ws.ok() && torn) ws = audit_file::TruncateTornLine(wpath);  // A write a crash interrupted.
  if (ws.ok() && has < latest.size) {
    auto wfd = audit_file::OpenForAppend(wpath);
    ws = wfd.status();
    if (wfd.ok()) {
      ws = audit_file::AppendLineDurably(*wfd, CheckpointToLine(latest) + "\n", wpath);
      ::close(*wfd);
    }
  }
  if (!ws.ok()) {
    LogLine("audit witness copy failed (retried at the next signer run): %s\n",
                 ws.ToString().c_str());
    std::lock_guard<std::mutex> mlock(mu_);
    ++witness_failures_;
  }
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
      LogLine("audit checkpoint failed (retried later): %s\n", c.status().ToString().c_str());
    }
    lock.lock();
  }
}

}  // namespace portcullis
