#include "gateway/cluster/pg_stream_claims.h"

#include <utility>

namespace portcullis {

PgStreamClaims::PgStreamClaims(std::string dsn, std::string replica_id, std::chrono::milliseconds poll_interval,
                               int connect_timeout_seconds)
    : dsn_(std::move(dsn)),
      replica_id_(std::move(replica_id)),
      poll_interval_(poll_interval),
      connect_timeout_seconds_(connect_timeout_seconds) {}

absl::StatusOr<pg::Result> PgStreamClaims::Exec(const char* sql, std::initializer_list<pg::Param> params) {
  std::lock_guard<std::mutex> lock(mu_);
  if (conn_ == nullptr || !conn_->ok()) {
    conn_.reset();
    auto conn = pg::Connection::Open(dsn_, connect_timeout_seconds_);
    if (!conn.ok()) return conn.status();
    conn_ = *std::move(conn);
  }
  auto res = conn_->Exec(sql, params);
  if (!res.ok() && !conn_->ok()) conn_.reset();  // Reopened at the next call.
  return res;
}

absl::StatusOr<int64_t> PgStreamClaims::Claim(const std::string& party) {
  // One statement: the row lock orders concurrent claims (each gets its own
  // generation; the highest wins), and the NOTIFY goes out at its commit.
  auto res = Exec(
      "WITH up AS (INSERT INTO receive_streams AS r (recipient, holder, generation, opened_micros) "
      "VALUES ($1, $2, 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint) "
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
