#include "gateway/pg/pg_listener.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gateway/common/log.h"
#include "gateway/pg/pg_connection.h"

namespace portcullis::pg {
namespace {

bool PlainIdentifier(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> Listener::Start(ListenerOptions options) {
  for (const std::string& channel : options.channels) {
    if (!PlainIdentifier(channel)) {
      return absl::InvalidArgumentError(absl::StrCat("postgres: bad LISTEN channel name '", channel, "'"));
    }
  }
  std::unique_ptr<Listener> l(new Listener(std::move(options)));
  if (pipe2(l->wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::ResourceExhaustedError("postgres: listener: cannot create a pipe");
  }
  absl::Status connected = l->Connect();
  if (!connected.ok()) {
    if (!l->options_.connect_in_background || connected.code() != absl::StatusCode::kUnavailable) return connected;
    // The thread connects (with backoff) and then calls on_reconnect.
    LogLine("LISTEN connection: %s; listening once it can be made (polling meanwhile)\n",
            connected.ToString().c_str());
  }
  Listener* self = l.get();
  l->thread_ = std::thread([self, at_start = connected.ok()] {
    if (at_start && self->options_.on_reconnect_at_start && self->options_.on_reconnect) {
      self->options_.on_reconnect();
    }
    self->Loop();
  });
  return l;
}

Listener::~Listener() {
  Stop();
  for (int& fd : wake_pipe_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
}

void Listener::Stop() {
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (!stopping_.exchange(true) && wake_pipe_[1] >= 0) {
    const char b = 1;
    ssize_t n = write(wake_pipe_[1], &b, 1);
    (void)n;  // A full pipe already wakes the thread.
  }
  if (thread_.joinable()) thread_.join();
  Close();
}

absl::Status Listener::Connect() {
  const std::string timeout = std::to_string(options_.connect_timeout_seconds > 0 ? options_.connect_timeout_seconds : 5);
  // As Connection::Open: a dead server or a partition is found in seconds
  // (keepalives, tcp_user_timeout), the DSN's own values override these.
  const char* keys[] = {"keepalives",       "keepalives_idle", "keepalives_interval", "keepalives_count",
                        "tcp_user_timeout", "application_name", "dbname",             "connect_timeout",
                        nullptr};
  const char* values[] = {"1", "5", "2", "3", "15000", "portcullis-listener", options_.dsn.c_str(), timeout.c_str(),
                          nullptr};
  pg_conn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return absl::ResourceExhaustedError("postgres: listener: cannot allocate a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    absl::Status s = absl::UnavailableError(absl::StrCat("postgres: listener cannot connect to ",
                                                         RedactDsn(options_.dsn), ": ",
                                                         absl::StripAsciiWhitespace(PQerrorMessage(conn))));
    PQfinish(conn);
    return s;
  }
  for (const std::string& channel : options_.channels) {
    const std::string sql = absl::StrCat("LISTEN ", channel);
    PGresult* res = PQexec(conn, sql.c_str());
    const bool ok = res != nullptr && PQresultStatus(res) == PGRES_COMMAND_OK;
    absl::Status s = ok ? absl::OkStatus() : ErrorStatus(conn, res, sql);
    if (res != nullptr) PQclear(res);
    if (!s.ok()) {
      PQfinish(conn);
      return s;
    }
  }
  if (PQsetnonblocking(conn, 1) != 0) {
    PQfinish(conn);
    return absl::UnavailableError("postgres: listener: cannot make the connection non-blocking");
  }
  conn_ = conn;
  backend_pid_.store(PQbackendPID(conn));
  return absl::OkStatus();
}

void Listener::Close() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
  backend_pid_.store(0);
}

bool Listener::WaitReadable(int fd, int ms) {
  struct pollfd fds[2];
  nfds_t n = 0;
  fds[n++] = {wake_pipe_[0], POLLIN, 0};
  if (fd >= 0) fds[n++] = {fd, POLLIN, 0};
  for (;;) {
    if (stopping_.load()) return false;
    int r = poll(fds, n, ms);
    if (r < 0 && errno == EINTR) continue;
    return !stopping_.load() && (fds[0].revents & POLLIN) == 0;
  }
}

bool Listener::Drain() {
  if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) return false;
  while (PGnotify* n = PQnotifies(conn_)) {
    const std::string channel = n->relname != nullptr ? n->relname : "";
    const std::string payload = n->extra != nullptr ? n->extra : "";
    PQfreemem(n);
    if (options_.on_notify) options_.on_notify(channel, payload);
  }
  return true;
}

void Listener::Loop() {
  int backoff_ms = options_.initial_backoff_ms;
  while (!stopping_.load()) {
    if (conn_ == nullptr) {
      if (!WaitReadable(-1, backoff_ms)) return;
      absl::Status s = Connect();
      if (!s.ok()) {
        // Logged at the first failure and then once per longest wait, not at every attempt.
        if (backoff_ms == options_.initial_backoff_ms || backoff_ms == options_.max_backoff_ms) {
          LogLine("LISTEN connection: %s; trying again\n", s.ToString().c_str());
        }
        backoff_ms = std::min(backoff_ms * 2, options_.max_backoff_ms);
        continue;
      }
      backoff_ms = options_.initial_backoff_ms;
      reconnects_.fetch_add(1);
      LogLine("LISTEN connection back; looking at everything again\n");
      // Notifications sent while away are lost: the owner rescans.
      if (options_.on_reconnect) options_.on_reconnect();
      continue;
    }
    if (!WaitReadable(PQsocket(conn_), -1)) return;
    if (!Drain()) {
      LogLine("LISTEN connection lost (%s); reconnecting\n",
                   std::string(absl::StripAsciiWhitespace(PQerrorMessage(conn_))).c_str());
      Close();
    }
  }
}

}  // namespace portcullis::pg
