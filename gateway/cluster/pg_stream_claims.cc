#include "gateway/cluster/pg_stream_claims.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/pg/pg_clock.h"

namespace portcullis {
namespace {

// The connection is of no further use (as gateway/pg/pg_writer.cc): broken
// (08), the server shutting down or restarted (57P), a read-only server
// (25006: a standby, or a primary demoted), the session's transaction ended.
bool SessionLevel(const std::string& state) {
  return absl::StartsWith(state, "08") || absl::StartsWith(state, "57P") || state == "25006" || state == "25P03";
}

}  // namespace

PgStreamClaims::PgStreamClaims(std::string dsn, std::string replica_id, std::chrono::milliseconds poll_interval,
                               int connect_timeout_seconds, std::chrono::milliseconds statement_timeout)
    : dsn_(std::move(dsn)),
      replica_id_(std::move(replica_id)),
      poll_interval_(poll_interval),
      connect_timeout_seconds_(connect_timeout_seconds),
      statement_timeout_(statement_timeout) {}

absl::StatusOr<pg::Result> PgStreamClaims::Exec(const char* sql, std::initializer_list<pg::Param> params) {
  std::lock_guard<std::mutex> lock(mu_);
  if (conn_ == nullptr || !conn_->ok()) {
    conn_.reset();
    // A claim writes: only a server that accepts writes (with several hosts
    // in the DSN, the primary), never a standby.
    auto conn = pg::Connection::Open(dsn_, connect_timeout_seconds_, /*read_write=*/true);
    if (!conn.ok()) return conn.status();
    const std::string timeout =
        absl::StrCat("SET statement_timeout = ", std::max<int64_t>(1, statement_timeout_.count()));
    if (absl::Status s = (*conn)->RunScript(timeout.c_str()); !s.ok()) return s;
    conn_ = *std::move(conn);
  }
  auto res = conn_->Exec(sql, params);
  // Reopened at the next call: a broken session, or one that can no longer
  // write (found on a standby after a failover).
  if (!res.ok() && (!conn_->ok() || SessionLevel(pg::SqlState(res.status())))) conn_.reset();
  return res;
}

absl::StatusOr<int64_t> PgStreamClaims::Claim(const std::string& party) {
  // One statement: the row lock orders concurrent claims (each gets its own
  // generation; the highest wins), and the NOTIFY goes out at its commit.
  auto res = Exec(
      "WITH up AS (INSERT INTO receive_streams AS r (recipient, holder, generation, opened_micros) "
      "VALUES ($1, $2, 1, " PORTCULLIS_PG_NOW_MICROS ") "
      "ON CONFLICT (recipient) DO UPDATE SET holder = excluded.holder, generation = r.generation + 1, "
      "opened_micros = excluded.opened_micros RETURNING generation) "
      "SELECT generation, pg_notify('portcullis_streams', $1) FROM up",
      {party, replica_id_});
  if (!res.ok()) return res.status();
  if (res->rows() != 1) return absl::InternalError("postgres: claiming a Receive stream returned no row");
  return res->Int(0, 0);
}

absl::StatusOr<StreamClaims::State> PgStreamClaims::Read(const std::string& party) {
  auto res = Exec(
      "SELECT COALESCE((SELECT generation FROM receive_streams WHERE recipient = $1), 0), "
      "COALESCE((SELECT min(seq) FROM deliveries WHERE recipient = $1 AND state = 1), 0)",
      {party});
  if (!res.ok()) return res.status();
  State state;
  state.generation = res->Int(0, 0);
  state.first_accepted_seq = res->Int(0, 1);
  return state;
}

absl::Status PgStreamClaims::Announce(const std::string& party) {
  return Exec("SELECT pg_notify('portcullis_streams', $1)", {party}).status();
}

}  // namespace portcullis
