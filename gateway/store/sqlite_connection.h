// The SQLite message store's internal helpers (not part of its interface):
// RAII over the C API, a connection that names its file in every error, one
// use of a prepared statement, and the row readers the store's files share.
// Included only by gateway/store/sqlite_*.cc.
#ifndef PORTCULLIS_GATEWAY_STORE_SQLITE_CONNECTION_H_
#define PORTCULLIS_GATEWAY_STORE_SQLITE_CONNECTION_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/store/store_types.h"
#include "google/protobuf/timestamp.pb.h"

namespace portcullis {
namespace sqlite_store {

// RAII over the C API: every connection is closed and every statement
// finalized on every path.

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// The absl::StatusCode for an SQLite result code.
absl::StatusCode CodeFor(int rc);

// One SQLite connection and the file it is on: every error names both.
class Connection {
 public:
  static absl::StatusOr<Connection> Open(const std::string& path, int busy_timeout_ms) {
    sqlite3* raw = nullptr;
    // NOMUTEX: each connection is used by one thread at a time (the writer
    // thread, or whoever holds a reader lease), so SQLite's own per-call
    // connection mutex would be pure cost.
    int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    Connection c(path, DbPtr(raw));  // Closed on every path, also when the open failed.
    if (rc != SQLITE_OK) {
      return absl::Status(CodeFor(rc), absl::StrCat("message store ", path, ": cannot open: ",
                                                    raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, busy_timeout_ms);
    return c;
  }

  sqlite3* db() const { return db_.get(); }
  const std::string& path() const { return path_; }

  absl::Status Error(int rc, absl::string_view what) const {
    return absl::Status(CodeFor(rc), absl::StrCat("message store ", path_, ": ", what, ": ", sqlite3_errmsg(db()),
                                                  " (", sqlite3_errstr(rc), ")"));
  }

  absl::Status Exec(const char* sql, absl::string_view what) const {
    int rc = sqlite3_exec(db(), sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? absl::OkStatus() : Error(rc, what);
  }

  // Persistent: prepared once per connection and reused for its lifetime.
  absl::Status Prepare(const char* sql, StmtPtr* out) const {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    out->reset(raw);
    return rc == SQLITE_OK ? absl::OkStatus() : Error(rc, absl::StrCat("preparing `", sql, "`"));
  }

  bool InTransaction() const { return sqlite3_get_autocommit(db()) == 0; }

 private:
  Connection(std::string path, DbPtr db) : path_(std::move(path)), db_(std::move(db)) {}
  std::string path_;
  DbPtr db_;
};

// One use of a prepared statement. The destructor resets it on every path,
// so a cached statement never keeps a read transaction open (which would
// hold back WAL checkpoints) nor keeps pointers to bound data.
//
// Text and blobs are bound without copying (SQLITE_STATIC): the bound bytes
// must stay alive until the Query is destroyed.
class Query {
 public:
  Query(const Connection& conn, const StmtPtr& stmt) : conn_(conn), stmt_(stmt.get()) {}
  ~Query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& Text(int i, absl::string_view v) {
    // A null pointer would bind SQL NULL; an empty string must stay ''.
    Keep(sqlite3_bind_text64(stmt_, i, v.data() ? v.data() : "", v.size(), SQLITE_STATIC, SQLITE_UTF8));
    return *this;
  }
  Query& Blob(int i, absl::string_view v) {
    Keep(sqlite3_bind_blob64(stmt_, i, v.data() ? v.data() : "", v.size(), SQLITE_STATIC));
    return *this;
  }
  Query& Int(int i, int64_t v) {
    Keep(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }

  // True with a row to read, false when done.
  absl::StatusOr<bool> Step(absl::string_view what) {
    if (bind_rc_ != SQLITE_OK) return conn_.Error(bind_rc_, what);
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return conn_.Error(rc, what);
  }
  // For statements that return no rows.
  absl::Status Run(absl::string_view what) {
    auto row = Step(what);
    return row.ok() ? absl::OkStatus() : row.status();
  }

  int64_t ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool ColumnIsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  // Valid until the next Step or the end of the Query.
  absl::string_view ColumnBytes(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? absl::string_view() : absl::string_view(static_cast<const char*>(p), static_cast<size_t>(n));
  }
  std::string ColumnText(int col) const { return std::string(ColumnBytes(col)); }

 private:
  void Keep(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  const Connection& conn_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};


// Run a statement prepared for this call only (start-up and pragmas); the
// first column of its first row.
absl::StatusOr<int64_t> QueryInt(const Connection& conn, const char* sql);
absl::StatusOr<std::string> QueryText(const Connection& conn, const char* sql);

int64_t MicrosOf(const google::protobuf::Timestamp& t);
// The in-memory key of (sender, message_id).
std::string Key(const std::string& sender, const std::string& id);
absl::Status NotFound(const std::string& sender, const std::string& id);
absl::Status NotARecipient(const std::string& party);

// The columns of a DeliveryRow, in ReadDeliveryRow's order (table alias d).
#define kDeliveryColumns                                                                                        \
  "d.delivery_id, d.seq, d.sender, d.message_id, d.recipient, d.case_reference, d.state, d.attempts, "          \
  "d.next_attempt_micros, d.last_error, d.expires_micros, d.updated_micros, d.officer, d.reason, "          \
  "d.officer_verified"
constexpr int kDeliveryColumnCount = 15;

DeliveryRow ReadDeliveryRow(const Query& q);
// One recipient's view of a delivery row, from a statement selecting
// `state, attempts, updated_micros, reason, officer, next_attempt_micros, seq,
// officer_verified`.
RecipientRecord ReadRecipientRecord(const Query& q, const std::string& party);

}  // namespace sqlite_store
}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_SQLITE_CONNECTION_H_
