#include "gateway/pg/pg_connection.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <cstring>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace portcullis::pg {
namespace {

constexpr char kSqlStatePayload[] = "type.portcullis/pg.sqlstate";

absl::StatusCode CodeForSqlState(absl::string_view state) {
  if (state.empty()) return absl::StatusCode::kUnavailable;  // No server answer: the connection failed.
  // 25006: a read-only (standby) server; 25P03: our transaction was ended for idling.
  if (absl::StartsWith(state, "08") || absl::StartsWith(state, "53") || absl::StartsWith(state, "57P") ||
      state == "55P03" || state == "25006" || state == "25P03" || state == "57014") {
    return absl::StatusCode::kUnavailable;
  }
  if (state == "23505") return absl::StatusCode::kAlreadyExists;
  if (absl::StartsWith(state, "23")) return absl::StatusCode::kFailedPrecondition;
  if (state == "40001" || state == "40P01") return absl::StatusCode::kAborted;
  return absl::StatusCode::kInternal;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::Status ErrorStatus(pg_conn* conn, pg_result* res, absl::string_view what) {
  std::string state;
  std::string words;
  if (res != nullptr) {
    const char* s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (s != nullptr) state = s;
    const char* m = PQresultErrorMessage(res);
    if (m != nullptr) words = m;
  }
  if (words.empty() && conn != nullptr) words = PQerrorMessage(conn);
  absl::StatusCode code = CodeForSqlState(state);
  if (conn != nullptr && PQstatus(conn) != CONNECTION_OK) code = absl::StatusCode::kUnavailable;
  absl::Status status(code, absl::StrCat("postgres: ", what, state.empty() ? "" : " [", state,
                                         state.empty() ? "" : "]", ": ", absl::StripAsciiWhitespace(words)));
  if (!state.empty()) status.SetPayload(kSqlStatePayload, absl::Cord(state));
  return status;
}

std::string SqlState(const absl::Status& status) {
  auto payload = status.GetPayload(kSqlStatePayload);
  return payload.has_value() ? std::string(*payload) : std::string();
}

std::string RedactDsn(absl::string_view dsn) {
  static const std::regex kv(R"((password\s*=\s*)('([^'\\]|\\.)*'|\S+))", std::regex::icase);
  static const std::regex uri(R"((://[^:/@\s]*:)[^@\s]*@)");
  std::string out = std::regex_replace(std::string(dsn), kv, "$1***");
  return std::regex_replace(out, uri, "$1***@");
}

// --- Result

Result::Result(pg_result* res) : res_(res) {}
Result::Result(Result&& other) noexcept : res_(other.res_) { other.res_ = nullptr; }
Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (res_ != nullptr) PQclear(res_);
    res_ = other.res_;
    other.res_ = nullptr;
  }
  return *this;
}
Result::~Result() {
  if (res_ != nullptr) PQclear(res_);
}
int Result::rows() const { return res_ == nullptr ? 0 : PQntuples(res_); }
int Result::columns() const { return res_ == nullptr ? 0 : PQnfields(res_); }
bool Result::IsNull(int row, int column) const { return PQgetisnull(res_, row, column) != 0; }
absl::string_view Result::Text(int row, int column) const {
  return absl::string_view(PQgetvalue(res_, row, column), static_cast<size_t>(PQgetlength(res_, row, column)));
}
int64_t Result::Int(int row, int column) const {
  int64_t v = 0;
  if (IsNull(row, column) || !absl::SimpleAtoi(Text(row, column), &v)) return 0;
  return v;
}
bool Result::Bool(int row, int column) const { return !IsNull(row, column) && Text(row, column) == "t"; }
std::string Result::Bytes(int row, int column) const {
  absl::string_view t = Text(row, column);
  std::string out;
  if (!absl::ConsumePrefix(&t, "\\x")) return std::string(t);  // Not hex output: as sent (never with bytea_output=hex).
  out.resize(t.size() / 2);
  for (size_t i = 0; i + 1 < t.size(); i += 2) {
    out[i / 2] = static_cast<char>((HexValue(t[i]) << 4) | HexValue(t[i + 1]));
  }
  return out;
}
int64_t Result::affected() const {
  int64_t v = 0;
  if (res_ == nullptr || !absl::SimpleAtoi(PQcmdTuples(res_), &v)) return 0;
  return v;
}

// --- Connection

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& dsn, int connect_timeout_seconds,
                                                             bool read_write) {
  const std::string timeout = std::to_string(connect_timeout_seconds > 0 ? connect_timeout_seconds : 5);
  // Dead peers are found in seconds, not after the kernel's two hours: TCP
  // keepalives and a limit on unacknowledged data (a frozen or partitioned
  // server). The DSN's own values (after) override these; the configured
  // connect timeout and the writer's read-write requirement override the DSN.
  const char* keys[] = {"keepalives",          "keepalives_idle", "keepalives_interval", "keepalives_count",
                        "tcp_user_timeout",    "application_name", "client_encoding",    "dbname",
                        "connect_timeout",     read_write ? "target_session_attrs" : nullptr, nullptr};
  const char* values[] = {"1", "5", "2", "3", "15000", "portcullis", "UTF8", dsn.c_str(), timeout.c_str(),
                          read_write ? "read-write" : nullptr, nullptr};
  pg_conn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return absl::ResourceExhaustedError("postgres: cannot allocate a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("postgres: cannot connect to ", RedactDsn(dsn), ": ",
                     absl::StripAsciiWhitespace(PQerrorMessage(conn))));
    PQfinish(conn);
    return s;
  }
  std::unique_ptr<Connection> c(new Connection(conn));
  // Results in the forms Result reads; commits durable before they answer;
  // no statement, lock wait or abandoned transaction without a limit (a
  // stuck peer must not hold the head row, or a reader a connection, for
  // ever); READ COMMITTED whatever the database's default.
  absl::Status s = c->RunScript(
      "SET bytea_output = 'hex'; SET synchronous_commit = on; SET statement_timeout = '30s'; "
      "SET lock_timeout = '10s'; SET idle_in_transaction_session_timeout = '60s'; "
      "SET default_transaction_isolation = 'read committed'");
  if (!s.ok()) return s;
  return c;
}

Connection::~Connection() { PQfinish(conn_); }

bool Connection::ok() const { return PQstatus(conn_) == CONNECTION_OK; }
bool Connection::in_transaction() const {
  PGTransactionStatusType t = PQtransactionStatus(conn_);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}
int Connection::backend_pid() const { return PQbackendPID(conn_); }

absl::StatusOr<Result> Connection::Exec(const char* sql, std::initializer_list<Param> params) {
  return ExecParams(sql, params.begin(), params.size());
}
absl::StatusOr<Result> Connection::Exec(const char* sql, const std::vector<Param>& params) {
  return ExecParams(sql, params.data(), params.size());
}

absl::Status Connection::Run(const char* sql, std::initializer_list<Param> params) {
  return ExecParams(sql, params.begin(), params.size()).status();
}

absl::Status Connection::RunScript(const char* sql) {
  // PQexec returns the last statement's result; an earlier failure stops there.
  PGresult* raw = PQexec(conn_, sql);
  Result owner(raw);
  ExecStatusType st = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return absl::OkStatus();
  return ErrorStatus(conn_, raw, "script");
}

absl::StatusOr<Result> Connection::ExecParams(const char* sql, const Param* params, size_t count) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = absl::StrCat("p", prepared_.size() + 1);
    PGresult* prep = PQprepare(conn_, name.c_str(), sql, 0, nullptr);
    Result owner(prep);
    if (prep == nullptr || PQresultStatus(prep) != PGRES_COMMAND_OK) {
      return ErrorStatus(conn_, prep, absl::StrCat("preparing \"", absl::string_view(sql).substr(0, 60), "\""));
    }
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  for (size_t i = 0; i < count; ++i) {
    // libpq sends text parameters as C strings: a NUL would cut the value short, silently.
    if (!params[i].is_null() && !params[i].binary() && params[i].value().find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("postgres: text parameter $", i + 1, " contains a NUL byte"));
    }
  }
  std::vector<const char*> values(count);
  std::vector<int> lengths(count);
  std::vector<int> formats(count);
  for (size_t i = 0; i < count; ++i) {
    const Param& p = params[i];
    values[i] = p.is_null() ? nullptr : p.value().data();
    lengths[i] = p.is_null() ? 0 : static_cast<int>(p.value().size());
    formats[i] = p.binary() ? 1 : 0;
  }
  PGresult* raw = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(count), values.data(), lengths.data(),
                                 formats.data(), 0);
  Result res(raw);
  ExecStatusType st = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return ErrorStatus(conn_, raw, absl::StrCat("\"", absl::string_view(sql).substr(0, 60), "\""));
  }
  return res;
}

}  // namespace portcullis::pg
