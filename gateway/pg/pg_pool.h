// Read connections to one database, opened on demand up to a bound and
// reopened when broken (docs/storage.md). Thread-safe.
#ifndef PORTCULLIS_GATEWAY_PG_PG_POOL_H_
#define PORTCULLIS_GATEWAY_PG_PG_POOL_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/pg/pg_connection.h"

namespace portcullis::pg {

class Pool {
 public:
  // `dsn` is kept (not logged). At most `size` connections at once. An idle
  // connection older than `idle_check` is checked with `SELECT 1` before it is
  // handed out (a server restart leaves idle connections that look fine to
  // libpq until used).
  Pool(std::string dsn, size_t size, int connect_timeout_seconds,
       std::chrono::milliseconds idle_check = std::chrono::milliseconds(1000));
  ~Pool();

  // A connection held until the lease goes; a broken one is closed then, not
  // reused, and so is every idle connection opened before it.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> conn, uint64_t generation)
        : pool_(pool), conn_(std::move(conn)), generation_(generation) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection* operator->() const { return conn_.get(); }
    Connection& operator*() const { return *conn_; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
    uint64_t generation_;
  };

  // Waits for a free connection (at most `wait`), opening one if fewer than
  // `size` are open. UNAVAILABLE if none frees in time or one cannot be opened.
  absl::StatusOr<Lease> Acquire(std::chrono::milliseconds wait = std::chrono::milliseconds(5000));

  // Callers waiting in Acquire for a free connection now (tests).
  size_t waiting();

 private:
  struct Idle {
    std::unique_ptr<Connection> conn;
    uint64_t generation;  // generation_ when it was opened.
    std::chrono::steady_clock::time_point since;
  };
  void Release(std::unique_ptr<Connection> conn, uint64_t generation);
  // Closes every idle connection of `generation` or earlier (one of that
  // generation was found broken); later opens get a later generation.
  void DropIdleLocked(uint64_t generation);

  const std::string dsn_;
  const size_t size_;
  const int connect_timeout_seconds_;
  const std::chrono::milliseconds idle_check_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Idle> idle_;
  size_t open_ = 0;         // Idle and leased.
  size_t waiting_ = 0;      // In Acquire's wait.
  uint64_t generation_ = 0;  // Raised when a broken connection comes back: the idle ones of before go.
};

}  // namespace portcullis::pg

#endif  // PORTCULLIS_GATEWAY_PG_PG_POOL_H_
