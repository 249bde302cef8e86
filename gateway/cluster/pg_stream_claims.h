// StreamClaims on PostgreSQL (docs/cluster.md, "Receive streams across
// replicas"): the party's row in receive_streams. Claim takes the next
// generation with this replica as holder and NOTIFYs portcullis_streams with
// the party, in one statement; Read gives the generation and the party's
// lowest ACCEPTED seq. One connection of its own, opened on first use (only
// to a server that accepts writes, with a statement timeout) and again after
// it broke or answered with a session-level error (a standby's 25006, a
// server shutting down: as gateway/pg/pg_writer.cc); errors are UNAVAILABLE
// (logged by the caller).
#ifndef PORTCULLIS_GATEWAY_CLUSTER_PG_STREAM_CLAIMS_H_
#define PORTCULLIS_GATEWAY_CLUSTER_PG_STREAM_CLAIMS_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "gateway/delivery/stream_claims.h"
#include "gateway/pg/pg_connection.h"

namespace portcullis {

class PgStreamClaims final : public StreamClaims {
 public:
  // `statement_timeout`: the longest a claim or read may wait (the caller's
  // pump serves every pull party).
  PgStreamClaims(std::string dsn, std::string replica_id, std::chrono::milliseconds poll_interval,
                 int connect_timeout_seconds = 5,
                 std::chrono::milliseconds statement_timeout = std::chrono::seconds(5));

  bool clustered() const override { return true; }
  std::chrono::milliseconds poll_interval() const override { return poll_interval_; }
  absl::StatusOr<int64_t> Claim(const std::string& party) override;
  absl::StatusOr<State> Read(const std::string& party) override;
  absl::Status Announce(const std::string& party) override;

 private:
  // Runs `sql` on the connection (opened if needed; dropped when broken).
  absl::StatusOr<pg::Result> Exec(const char* sql, std::initializer_list<pg::Param> params);

  const std::string dsn_;
  const std::string replica_id_;
  const std::chrono::milliseconds poll_interval_;
  const int connect_timeout_seconds_;
  const std::chrono::milliseconds statement_timeout_;
  std::mutex mu_;
  std::unique_ptr<pg::Connection> conn_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_CLUSTER_PG_STREAM_CLAIMS_H_
