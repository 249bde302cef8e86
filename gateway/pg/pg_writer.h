// The one writing connection of a gateway to its PostgreSQL database, with
// group commit (docs/storage.md, "Data flow"). Every write of the store and
// the audit log is an Op: the writer thread takes everything queued since its
// last transaction and runs it as one BEGIN ... COMMIT, then calls each op's
// `done` in order. Concurrent callers share a transaction and its fsync.
//
// The head row (portcullis_head) is the single lock behind every number that
// must be gap-free and in commit order: audit indexes, delivery seqs, message
// positions. An op that needs one asks Tx::head(), which locks the row
// (SELECT ... FOR UPDATE) on first use in the transaction; the writer writes
// it back before COMMIT if it changed. Across gateways on one database, the
// lock serialises those transactions.
//
// An op that fails (returns an error) is rolled back with its whole
// transaction, answered with its error, and the rest of the batch runs again
// in a new transaction: ops may run more than once, and only their last run's
// effects commit (so an op must not keep effects outside the transaction
// that a re-run does not overwrite).
//
// Fails closed: when the connection breaks, Health() turns UNAVAILABLE,
// every queued and new op fails at once with UNAVAILABLE (nothing is
// acknowledged), and the writer reconnects with backoff by itself; while
// idle it checks the connection every Options::idle_probe, so an idle
// gateway notices too. A COMMIT
// whose answer is lost with the connection fails its ops with UNKNOWN: the
// transaction may or may not have committed.
#ifndef PORTCULLIS_GATEWAY_PG_PG_WRITER_H_
#define PORTCULLIS_GATEWAY_PG_PG_WRITER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/pg/pg_connection.h"

namespace portcullis::pg {

// The head row, as locked by the current transaction.
struct Head {
  uint64_t audit_size = 0;  // Audit records in the chain: the next record's index.
  std::string audit_head;   // Hex hash of the last record; "" before the first.
  int64_t next_seq = 1;     // The next delivery seq.
  int64_t next_position = 1;  // The next message position.
  bool operator==(const Head& o) const {
    return audit_size == o.audit_size && audit_head == o.audit_head && next_seq == o.next_seq &&
           next_position == o.next_position;
  }
};

// One transaction of the writer, as an op sees it.
class Tx {
 public:
  explicit Tx(Connection* conn) : conn_(conn) {}
  Connection& conn() { return *conn_; }
  // The head row, locked on first use in this transaction; changes are
  // written back before COMMIT.
  absl::StatusOr<Head*> head();
  // Internal (the writer): the head as read, and as the ops left it.
  bool head_locked() const { return locked_; }
  const Head& read_head() const { return read_; }
  const Head& current_head() const { return current_; }

 private:
  Connection* conn_;
  bool locked_ = false;
  Head read_;
  Head current_;
};

class GroupWriter {
 public:
  using Op = std::function<absl::Status(Tx&)>;
  using Done = std::function<void(absl::Status)>;

  struct Options {
    std::string dsn;
    int connect_timeout_seconds = 5;
    size_t max_batch = 512;  // Most ops per transaction.
    std::chrono::milliseconds reconnect_min{50};
    std::chrono::milliseconds reconnect_max{2000};
    // Idle this long, the writer checks its connection (SELECT 1), so that
    // Health() reports a server gone while nothing is written.
    std::chrono::milliseconds idle_probe{1000};
    // Test seam: called before BEGIN ("begin") and before COMMIT ("commit");
    // a non-OK result is that step's error.
    std::function<absl::Status(absl::string_view point)> fault_injector;
  };

  // Connects (UNAVAILABLE if it cannot: start-up fails rather than run
  // without storage) and starts the writer thread.
  static absl::StatusOr<std::unique_ptr<GroupWriter>> Start(Options options);
  // Runs what is queued, then stops.
  ~GroupWriter();
  GroupWriter(const GroupWriter&) = delete;
  GroupWriter& operator=(const GroupWriter&) = delete;

  // Queues `op`; `done` runs on the writer thread (or at once, with
  // UNAVAILABLE, while the database is unreachable) and must not block on
  // this writer.
  void Submit(Op op, Done done);
  // Submit, then wait for the outcome (start-up, tools, tests).
  absl::Status Run(Op op);
  // OK, or UNAVAILABLE while the connection is down.
  absl::Status Health() const;
  // Returns once every op submitted before the call is done.
  void Flush();

  uint64_t batches() const { return batches_.load(); }  // Transactions committed.
  uint64_t ops() const { return ops_.load(); }          // Ops committed.
  // The writing connection's server process (tests end it to break the
  // connection); 0 while disconnected.
  int backend_pid() const { return backend_pid_.load(); }

 private:
  struct Item {
    Op op;
    Done done;
  };
  GroupWriter(Options options, std::unique_ptr<Connection> conn);
  void Loop();
  void RunBatch(std::vector<Item>* batch);
  void AnswerAll(std::vector<Item>* items, const absl::Status& status);
  // Disconnected: fail what is queued and reconnect with backoff (writer thread).
  void Reconnect(absl::Status cause);
  absl::Status Inject(absl::string_view point) const;

  const Options options_;
  std::unique_ptr<Connection> conn_;  // Writer thread only.

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> pending_;
  bool stopping_ = false;
  absl::Status health_;  // Under mu_.
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> ops_{0};
  std::atomic<int> backend_pid_{0};
  std::thread thread_;
};

}  // namespace portcullis::pg

#endif  // PORTCULLIS_GATEWAY_PG_PG_WRITER_H_
