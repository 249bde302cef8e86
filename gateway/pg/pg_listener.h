// LISTEN/NOTIFY on a dedicated libpq connection (docs/cluster.md, "Waking
// other replicas"). Knows nothing of Portcullis's types.
//
// A Listener connects with the given DSN (keepalives as Connection::Open),
// LISTENs on its channels and calls `on_notify(channel, payload)` from its
// own thread for every notification. When the connection breaks (server
// restart, failover, pg_terminate_backend) it reconnects with backoff
// (100 ms doubling to 5 s) and, once listening again, calls `on_reconnect`:
// notifications sent while it was away are lost, so the owner rescans
// everything. The first connection made by Start also counts as a
// (re)connect only if `on_reconnect_at_start` is set. With
// `connect_in_background`, Start does not fail when that first connection
// cannot be made: it logs it and the thread keeps trying (with the backoff);
// `on_reconnect` is called once it listens.
//
// Callbacks run on the listener's thread, one at a time; they must not call
// Stop. Stop() returns promptly (a wake-up pipe interrupts poll()).
#ifndef PORTCULLIS_GATEWAY_PG_PG_LISTENER_H_
#define PORTCULLIS_GATEWAY_PG_PG_LISTENER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct pg_conn;

namespace portcullis::pg {

struct ListenerOptions {
  std::string dsn;
  std::vector<std::string> channels;  // Plain identifiers (letters, digits, '_').
  std::function<void(const std::string& channel, const std::string& payload)> on_notify;
  std::function<void()> on_reconnect;
  bool on_reconnect_at_start = false;
  // Start succeeds even if the server cannot be reached yet (see above).
  bool connect_in_background = false;
  int connect_timeout_seconds = 5;
  // Reconnect backoff bounds.
  int initial_backoff_ms = 100;
  int max_backoff_ms = 5000;
};

class Listener {
 public:
  // Connects and LISTENs before returning (so a NOTIFY committed after Start
  // returns is delivered); UNAVAILABLE if the first connection fails (unless
  // connect_in_background: then it returns disconnected and connects in its
  // thread), INVALID_ARGUMENT for a bad channel name.
  static absl::StatusOr<std::unique_ptr<Listener>> Start(ListenerOptions options);
  ~Listener();  // Stop().
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Ends the thread and closes the connection; idempotent.
  void Stop();

  // The backend pid of the current connection (0 while disconnected); tests
  // terminate it to break the connection.
  int backend_pid() const { return backend_pid_.load(); }
  // How many times it reconnected after a break.
  int reconnects() const { return reconnects_.load(); }

 private:
  explicit Listener(ListenerOptions options) : options_(std::move(options)) {}
  absl::Status Connect();  // Opens conn_ and LISTENs.
  void Loop();
  // Waits up to `ms` for the socket (or forever when -1) or the wake-up
  // pipe; false when stopping.
  bool WaitReadable(int fd, int ms);
  bool Drain();  // Reads notifications; false when the connection broke.
  void Close();

  ListenerOptions options_;
  pg_conn* conn_ = nullptr;  // Listener thread only (after Start).
  int wake_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  std::atomic<int> backend_pid_{0};
  std::atomic<int> reconnects_{0};
  std::mutex stop_mu_;
  std::thread thread_;
};

}  // namespace portcullis::pg

#endif  // PORTCULLIS_GATEWAY_PG_PG_LISTENER_H_
