// A thin, typed layer over libpq (docs/storage.md, "Module boundaries"): one
// connection with parameterised statements prepared once per connection,
// results read by row and column, and PostgreSQL's errors as absl::Status.
// Knows nothing of Portcullis's types. A Connection is used by one thread at
// a time.
//
// Errors: the status message carries the SQLSTATE and the server's words,
// for the gateway's log only (never for a party). Codes:
//   UNAVAILABLE          the connection is broken, the server is shutting
//                        down, read-only or out of resources, a lock or
//                        statement timed out (SQLSTATE classes 08, 53, 57P,
//                        55P03, 25006, 25P03, 57014): retry later;
//   ALREADY_EXISTS       a unique constraint (23505);
//   FAILED_PRECONDITION  another integrity constraint (class 23);
//   ABORTED              a serialisation failure or deadlock (40001, 40P01);
//   INTERNAL             anything else (a bug: bad SQL, wrong types).
#ifndef PORTCULLIS_GATEWAY_PG_PG_CONNECTION_H_
#define PORTCULLIS_GATEWAY_PG_PG_CONNECTION_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct pg_conn;
struct pg_result;

namespace portcullis::pg {

// A statement parameter: text, bytea (sent binary) or NULL.
class Param {
 public:
  Param(std::nullptr_t) {}  // NOLINT: NULL
  Param(const char* text) : value_(text) {}  // NOLINT
  Param(std::string text) : value_(std::move(text)) {}  // NOLINT
  Param(absl::string_view text) : value_(std::string(text)) {}  // NOLINT
  Param(int v) : value_(std::to_string(v)) {}  // NOLINT
  Param(long v) : value_(std::to_string(v)) {}  // NOLINT
  Param(long long v) : value_(std::to_string(v)) {}  // NOLINT
  Param(unsigned v) : value_(std::to_string(v)) {}  // NOLINT
  Param(unsigned long v) : value_(std::to_string(v)) {}  // NOLINT
  Param(unsigned long long v) : value_(std::to_string(v)) {}  // NOLINT
  Param(bool v) : value_(v ? "t" : "f") {}  // NOLINT
  // Raw bytes for a bytea parameter.
  static Param Bytes(std::string bytes) {
    Param p(std::move(bytes));
    p.binary_ = true;
    return p;
  }
  bool is_null() const { return !value_.has_value(); }
  bool binary() const { return binary_; }
  const std::string& value() const { return *value_; }

 private:
  std::optional<std::string> value_;
  bool binary_ = false;
};

// A statement's result (text format). Row and column numbers start at 0.
class Result {
 public:
  Result() = default;
  explicit Result(pg_result* res);
  Result(Result&& other) noexcept;
  Result& operator=(Result&& other) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result();

  int rows() const;
  int columns() const;
  bool IsNull(int row, int column) const;
  absl::string_view Text(int row, int column) const;  // "" for NULL
  int64_t Int(int row, int column) const;             // 0 for NULL
  bool Bool(int row, int column) const;               // false for NULL
  std::string Bytes(int row, int column) const;       // a bytea column's bytes ("" for NULL)
  int64_t affected() const;                           // rows an INSERT/UPDATE/DELETE changed

 private:
  pg_result* res_ = nullptr;
};

class Connection {
 public:
  // Connects with `dsn` (libpq conninfo or URI), waiting at most
  // `connect_timeout_seconds`; `read_write`: only to a server that accepts
  // writes (a primary, not a standby). UNAVAILABLE (with libpq's words) on
  // failure. Every session has TCP keepalives, a 30 s statement timeout, a
  // 10 s lock timeout and READ COMMITTED.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& dsn, int connect_timeout_seconds = 5,
                                                          bool read_write = false);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement ($1, $2, ... placeholders), prepared on first use on
  // this connection and reused after. `sql` must be a constant text (it is
  // the cache key).
  // A text parameter holding a NUL byte is INVALID_ARGUMENT (libpq would
  // cut it short).
  absl::StatusOr<Result> Exec(const char* sql, std::initializer_list<Param> params = {});
  absl::StatusOr<Result> Exec(const char* sql, const std::vector<Param>& params);
  // The same, for statements whose rows are not wanted.
  absl::Status Run(const char* sql, std::initializer_list<Param> params = {});
  // Several ;-separated statements without parameters (schema, BEGIN...).
  absl::Status RunScript(const char* sql);

  // False once the connection is broken (the server went away).
  bool ok() const;
  // Inside a transaction block (possibly failed): PQtransactionStatus.
  bool in_transaction() const;
  // The backend's process id (tests terminate it to break the connection).
  int backend_pid() const;

 private:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  absl::StatusOr<Result> ExecParams(const char* sql, const Param* params, size_t count);

  pg_conn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name.
};

// The absl::Status for a failed result (or a broken connection when `res`
// is null), with `what` leading its message.
absl::Status ErrorStatus(pg_conn* conn, pg_result* res, absl::string_view what);

// The SQLSTATE a status made by this layer carries ("" if none).
std::string SqlState(const absl::Status& status);

// `dsn` with any password value replaced by "***" (for messages and logs).
std::string RedactDsn(absl::string_view dsn);

}  // namespace portcullis::pg

#endif  // PORTCULLIS_GATEWAY_PG_PG_CONNECTION_H_
