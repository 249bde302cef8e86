// Read connections to one database, opened on demand up to a bound and
// reopened when broken (docs/storage.md). Thread-safe.
#ifndef PORTCULLIS_GATEWAY_PG_PG_POOL_H_
#define PORTCULLIS_GATEWAY_PG_PG_POOL_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/pg/pg_connection.h"

namespace portcullis::pg {

class Pool {
 public:
  // `dsn` is kept (not logged). At most `size` connections at once.
  Pool(std::string dsn, size_t size, int connect_timeout_seconds);
  ~Pool();

  // A connection held until the lease goes; a broken one is closed then, not
  // reused.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection* operator->() const { return conn_.get(); }
    Connection& operator*() const { return *conn_; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  // Waits for a free connection (at most `wait`), opening one if fewer than
  // `size` are open. UNAVAILABLE if none frees in time or one cannot be opened.
  absl::StatusOr<Lease> Acquire(std::chrono::milliseconds wait = std::chrono::milliseconds(5000));

 private:
  void Release(std::unique_ptr<Connection> conn);

  const std::string dsn_;
  const size_t size_;
  const int connect_timeout_seconds_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  size_t open_ = 0;  // Idle and leased.
};

}  // namespace portcullis::pg

#endif  // PORTCULLIS_GATEWAY_PG_PG_POOL_H_
