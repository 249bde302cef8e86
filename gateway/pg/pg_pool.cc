#include "gateway/pg/pg_pool.h"

#include <algorithm>

namespace portcullis::pg {

Pool::Pool(std::string dsn, size_t size, int connect_timeout_seconds, std::chrono::milliseconds idle_check)
    : dsn_(std::move(dsn)),
      size_(size == 0 ? 1 : size),
      connect_timeout_seconds_(connect_timeout_seconds),
      idle_check_(idle_check) {}

Pool::~Pool() = default;

Pool::Lease::~Lease() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Release(std::move(conn_), generation_);
}

size_t Pool::waiting() {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

absl::StatusOr<Pool::Lease> Pool::Acquire(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ++waiting_;
    const bool free = cv_.wait_until(lock, deadline, [this] { return !idle_.empty() || open_ < size_; });
    --waiting_;
    if (!free) return absl::UnavailableError("postgres: every read connection is busy");
    if (idle_.empty()) break;
    Idle idle = std::move(idle_.back());
    idle_.pop_back();
    if (std::chrono::steady_clock::now() - idle.since < idle_check_) {
      return Lease(this, std::move(idle.conn), idle.generation);
    }
    // Idle for a while: the server may have dropped it (a restart), which
    // libpq learns only on use. One round trip tells.
    lock.unlock();
    const bool alive = idle.conn->Run("SELECT 1").ok();
    if (alive) return Lease(this, std::move(idle.conn), idle.generation);
    idle.conn.reset();
    lock.lock();
    --open_;
    // Those opened before it are likely dropped too: gone (none handed out).
    DropIdleLocked(idle.generation);
    cv_.notify_all();
  }
  ++open_;
  const uint64_t generation = generation_;
  lock.unlock();
  auto conn = Connection::Open(dsn_, connect_timeout_seconds_);
  if (!conn.ok()) {
    lock.lock();
    --open_;
    cv_.notify_one();
    return conn.status();
  }
  return Lease(this, *std::move(conn), generation);
}

void Pool::DropIdleLocked(uint64_t generation) {
  if (generation >= generation_) generation_ = generation + 1;  // Opened from now on: a later generation.
  const size_t before = idle_.size();
  idle_.erase(std::remove_if(idle_.begin(), idle_.end(), [&](const Idle& i) { return i.generation <= generation; }),
              idle_.end());
  open_ -= before - idle_.size();
}

void Pool::Release(std::unique_ptr<Connection> conn, uint64_t generation) {
  const bool reusable = conn->ok() && !conn->in_transaction();
  if (!reusable) conn.reset();  // A broken connection closes; the next Acquire opens another.
  std::lock_guard<std::mutex> lock(mu_);
  if (reusable) {
    idle_.push_back(Idle{std::move(conn), generation, std::chrono::steady_clock::now()});
  } else {
    --open_;
    // A broken connection (the server restarted, or the network): every
    // idle one opened no later than it is dropped too, so that the next
    // reads do not find them broken one by one.
    DropIdleLocked(generation);
  }
  cv_.notify_all();
}

}  // namespace portcullis::pg
