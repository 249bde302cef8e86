// Who holds a pull party's Receive stream across replicas (docs/cluster.md,
// "Receive streams across replicas"): the seam between PullStreams and the
// database. With PostgreSQL (gateway/cluster/pg_stream_claims.h) a stream
// claims the party's row in receive_streams (the next generation) before it
// sends anything, and ends RECEIVE_STREAM_REPLACED once the generation moved
// on; on SQLite (one gateway) NoStreamClaims: nothing to claim, the
// in-process replacement of PullStreams is the whole rule.
//
// PullStreams calls these from its pump thread only, never holding a
// party's lock (they may block on the database).
#ifndef PORTCULLIS_GATEWAY_DELIVERY_STREAM_CLAIMS_H_
#define PORTCULLIS_GATEWAY_DELIVERY_STREAM_CLAIMS_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace portcullis {

class StreamClaims {
 public:
  // The party's stream as the database sees it.
  struct State {
    int64_t generation = 0;  // 0: never claimed.
    // The lowest seq of the party's ACCEPTED deliveries; 0 if it has none.
    // Everything a stream sent below it was settled, wherever confirmed.
    int64_t first_accepted_seq = 0;
  };

  virtual ~StreamClaims() = default;
  // False: a single gateway; the other calls are never made.
  virtual bool clustered() const = 0;
  // How often an open stream looks at the database without a notification.
  virtual std::chrono::milliseconds poll_interval() const = 0;
  // Takes the party's stream for this replica: the new generation (every
  // other replica's stream of the party ends when it sees it). Also tells
  // every replica (NOTIFY portcullis_streams).
  virtual absl::StatusOr<int64_t> Claim(const std::string& party) = 0;
  virtual absl::StatusOr<State> Read(const std::string& party) = 0;
  // The party's stream state changed here in a way another replica's open
  // stream should look at (a confirm made on this replica): NOTIFY.
  virtual absl::Status Announce(const std::string& party) = 0;
};

// One gateway (SQLite): nothing is shared.
class NoStreamClaims final : public StreamClaims {
 public:
  bool clustered() const override { return false; }
  std::chrono::milliseconds poll_interval() const override { return std::chrono::seconds(1); }
  absl::StatusOr<int64_t> Claim(const std::string&) override { return 0; }
  absl::StatusOr<State> Read(const std::string&) override { return State{}; }
  absl::Status Announce(const std::string&) override { return absl::OkStatus(); }
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_DELIVERY_STREAM_CLAIMS_H_
