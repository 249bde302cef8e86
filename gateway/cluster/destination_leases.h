// Who delivers to each push destination when several replicas share one
// PostgreSQL database (docs/cluster.md, "The unit of claim: a push
// destination"): a lease per destination in `destination_leases`, on the
// database's clock, held by one replica at a time.
//
// A thread per replica, every lease / 5:
//   (a) upserts this replica's heartbeat row in `portcullis_replicas`, with
//       this process's incarnation (a random token made at construction). It
//       succeeds only if the row is this incarnation's, claimable (''), or
//       its heartbeat is older than one lease (database clock): a second live
//       process with the same replica id does not lease at all (takes,
//       renews, releases nothing; MayStart false; logged once per change) and
//       tries again each round, so it takes over once the other has stopped;
//   (b) renews the leases it holds (a lease it no longer holds in the
//       database, e.g. taken over after it lapsed, is lost);
//   (c) takes free (released) or expired leases while it holds fewer than its
//       fair share: ceil(push destinations / live replicas), live = a
//       heartbeat within one lease (five missed rounds): a dead replica stops
//       counting about when its leases expire, so the survivors' shares grow
//       in time to take its destinations over;
//   (d) rebalances: holding more than its fair share for kSurplusRounds
//       rounds in a row, it gives ONE lease up (the listener told first, so
//       MayStart is false before the row is released); a replica below its
//       share takes it at its next round.
// Nothing is taken or renewed (and no heartbeat written) while `healthy`
// answers false: a replica that cannot record lets its leases lapse.
// Every statement that renews, takes or releases checks, in the database,
// that this incarnation owns the replica id's heartbeat row.
//
// Fencing: a lease is valid locally from the moment the round's heartbeat was
// SENT (steady clock) for lease - lease / 10; MayStart is false after that,
// before the database lets another replica take it over, and before another
// process with this replica id can own the heartbeat row (and so take this
// id's leases as its own). The statements run on a connection of this
// object's own (never queued behind the store's writer), reopened when it
// breaks, with a statement timeout of one lease.
//
// Thread-safe. Listener calls come from the lease thread, outside its lock.
#ifndef PORTCULLIS_GATEWAY_CLUSTER_DESTINATION_LEASES_H_
#define PORTCULLIS_GATEWAY_CLUSTER_DESTINATION_LEASES_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gateway/delivery/ownership.h"

namespace portcullis {
namespace pg {
class Connection;
}  // namespace pg

struct DestinationLeasesOptions {
  std::string dsn;         // The gateway's database (store.dsn).
  std::string replica_id;  // Not empty.
  // Every push destination of the exchange (party ids): the leases contended for.
  std::vector<std::string> destinations;
  std::chrono::milliseconds lease{5000};  // cluster.lease_ms
  std::string info;                       // portcullis_replicas.info: for operators.
  // False while this replica cannot record (its store's or audit log's
  // Health): no lease is taken or renewed. Null: always healthy.
  std::function<bool()> healthy;
};

class DestinationLeases : public DestinationOwnership {
 public:
  using Clock = std::chrono::steady_clock;

  explicit DestinationLeases(DestinationLeasesOptions options);
  // Stop(): the leases held stay in the database until they expire.
  ~DestinationLeases() override;
  DestinationLeases(const DestinationLeases&) = delete;
  DestinationLeases& operator=(const DestinationLeases&) = delete;

  // Starts the lease thread (its first round at once). Call once, after SetListener.
  void Start();
  // Ends the lease thread without releasing anything (as if the replica
  // died: the leases lapse after one lease). Idempotent.
  void Stop();
  // Stop(), then gives up every lease this replica holds (holder '', expired)
  // and marks it not alive, so that another replica takes over at once. Call
  // after the dispatcher has stopped. An error if the database could not be
  // told (the leases then lapse by themselves), FAILED_PRECONDITION (nothing
  // changed) if another process owns this replica id's heartbeat row.
  absl::Status ReleaseAll();

  bool MayStart(const std::string& destination) const override;
  void SetListener(Listener listener) override;

  // The destinations held now, each with the end of its local validity.
  std::map<std::string, Clock::time_point> Held() const;
  const std::string& replica_id() const { return options_.replica_id; }
  // How often a round runs: lease / 5.
  std::chrono::milliseconds period() const;
  // This process's token in portcullis_replicas.incarnation.
  const std::string& incarnation() const { return incarnation_; }
  // True while another live process owns this replica id (nothing leased).
  bool id_in_use_elsewhere() const { return id_in_use_.load(); }

  // Rounds in a row above the fair share before one surplus lease is given up.
  static constexpr int kSurplusRounds = 3;

  // One round on the caller's thread (tests; not while Start()ed): OK if
  // every statement ran (or nothing was to be done).
  absl::Status RunRound();

 private:
  void Loop();
  // Opens the connection if it is missing or broken.
  absl::Status Connect();
  // Destinations whose local validity has passed: lost (appended to `lost`).
  void ExpireLocal(std::vector<std::string>* lost);
  // Every destination held: lost (another process owns the replica id).
  void DropAll(std::vector<std::string>* lost);
  // *ours: whether this incarnation owns the replica id's row now.
  absl::Status Heartbeat(bool* ours);
  absl::Status Renew(std::vector<std::string>* lost);
  absl::Status Acquire(std::vector<std::string>* gained, size_t* fair_share);
  // Gives one surplus lease up after kSurplusRounds rounds above fair_share.
  absl::Status Rebalance(size_t fair_share);
  void Notify(const std::vector<std::string>& destinations, bool held);
  std::chrono::milliseconds validity() const;
  long long lease_micros() const;

  const DestinationLeasesOptions options_;
  const std::string incarnation_;
  // The lease thread's (or RunRound's caller's) only:
  std::unique_ptr<pg::Connection> conn_;
  Clock::time_point round_sent_;  // When this round's heartbeat was sent.
  int surplus_rounds_ = 0;        // Rounds in a row above the fair share.
  std::string last_error_;        // Logged once per change.
  std::atomic<bool> id_in_use_{false};
  std::mt19937 rng_{std::random_device{}()};
  Listener listener_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Clock::time_point> held_;  // Guarded by mu_.
  bool stop_ = false;                              // Guarded by mu_.
  std::thread thread_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_CLUSTER_DESTINATION_LEASES_H_
