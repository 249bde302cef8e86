#include "gateway/pg/pg_pool.h"

namespace portcullis::pg {

Pool::Pool(std::string dsn, size_t size, int connect_timeout_seconds)
    : dsn_(std::move(dsn)), size_(size == 0 ? 1 : size), connect_timeout_seconds_(connect_timeout_seconds) {}

Pool::~Pool() = default;

Pool::Lease::~Lease() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Release(std::move(conn_));
}

absl::StatusOr<Pool::Lease> Pool::Acquire(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, wait, [this] { return !idle_.empty() || open_ < size_; })) {
    return absl::UnavailableError("postgres: every read connection is busy");
  }
  if (!idle_.empty()) {
    std::unique_ptr<Connection> conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_;
  lock.unlock();
  auto conn = Connection::Open(dsn_, connect_timeout_seconds_);
  if (!conn.ok()) {
    lock.lock();
    --open_;
    cv_.notify_one();
    return conn.status();
  }
  return Lease(this, *std::move(conn));
}

void Pool::Release(std::unique_ptr<Connection> conn) {
  const bool reusable = conn->ok() && !conn->in_transaction();
  if (!reusable) conn.reset();  // A broken connection closes; the next Acquire opens another.
  std::lock_guard<std::mutex> lock(mu_);
  if (reusable) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  cv_.notify_one();
}

}  // namespace portcullis::pg
