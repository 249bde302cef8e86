// Delivers accepted messages to their recipients, from the durable store
// (docs/delivery.md, "Scheduling"):
//
// - Push destinations: each pages its ACCEPTED deliveries from the store in
//   seq (commit) order, holding at most kWindow of them in memory, so memory
//   does not grow with the backlog. Every attempt has a deadline; a failed one
//   is retried with exponential backoff and jitter, its attempt count and due
//   time kept in the store (a restart continues them); a circuit breaker per
//   destination stops attempts to a dead partner; at most delivery.workers
//   pushes are in flight per destination.
// - Order: pushes of one case from one sender to one recipient go one at a
//   time, in seq order: a message waits until the one before it is delivered
//   or is a dead letter, so a retry never lets a later message overtake.
// - Pull destinations: their Receive streams page from the store
//   (PullStreams); Confirm marks what the recipient holds.
// - Expiry: deliveries still ACCEPTED after delivery.max_age_ms become
//   EXPIRED (dead letters); after delivery.max_attempts (if set) FAILED.
// - A delivery that can never succeed (permanent_failure.h: a listed refusal
//   by the endpoint, or larger than the party accepts) is FAILED at once,
//   push or pull, and its lane moves on: it never holds up what is behind it.
//
// Every outcome updates the store, releases the destination's backlog once
// (whoever moves a delivery out of ACCEPTED releases it) and is audited.
//
// - Replicas (docs/cluster.md): a push destination is delivered to only while
//   the DestinationOwnership says so (its lease). One not held reads no page
//   and starts no attempt; when lost, the jobs in memory for it that only
//   wait (a backoff, the breaker, a lane) are dropped at once, those being
//   pushed or recorded at their next step (in-flight pushes complete and
//   record their outcome);
//   when gained, once nothing of the earlier tenure is held, it pages from
//   the start (seq 0), as after a restart.
//
// Thread-safe. One scheduler thread pages and starts attempts; attempts
// complete on gRPC's threads; a sweeper thread expires old deliveries and
// (every cluster.poll_ms with PostgreSQL) makes every destination look at the
// store again.
#ifndef PORTCULLIS_GATEWAY_DELIVERY_DISPATCHER_H_
#define PORTCULLIS_GATEWAY_DELIVERY_DISPATCHER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gateway/audit/audit_log.h"
#include "gateway/config/config.h"
#include "gateway/delivery/backlog.h"
#include "gateway/delivery/circuit_breaker.h"
#include "gateway/delivery/pull_streams.h"
#include "gateway/delivery/delivery_metrics.h"
#include "gateway/delivery/ownership.h"
#include "gateway/delivery/transport.h"
#include "gateway/store/message_store.h"

namespace portcullis {


class Dispatcher {
 public:
  // Most deliveries a push destination holds in memory at once; the rest wait
  // in the store.
  static constexpr size_t kWindow = 1024;

  // All pointers must outlive the Dispatcher. `ownership`: which push
  // destinations this gateway may deliver to (null: all, always); its
  // listener is set here, and must not be called once the Dispatcher is gone.
  Dispatcher(std::shared_ptr<const Config> config, MessageStore* store, AuditLog* audit,
             DeliveryTransport* transport, DestinationOwnership* ownership = nullptr);
  ~Dispatcher();

  // Counts the backlog in the store and starts delivering everything ACCEPTED
  // (after a restart: resumes it). Call once, after the start-up pairing.
  absl::Status Start();

  PullStreams* pull_streams() { return pull_streams_.get(); }
  // Room per destination: Submit reserves it, leaving ACCEPTED releases it.
  Backlog* backlog() { return &backlog_; }
  const CircuitBreakers& breakers() const { return breakers_; }
  // Push attempts in flight to `destination` (at most delivery.workers).
  int pushes_in_flight(const std::string& destination);
  // Deliveries to push destination `destination` held in memory (<= kWindow).
  size_t held_in_memory(const std::string& destination);

  // An accepted (stored and audited) message: its recipients' destinations
  // look for new work in the store.
  void Dispatch(const MessageRecord& message);
  // `recipient` has new deliveries in the store (e.g. a dead letter retried).
  void Wake(const std::string& recipient);

  // Pull mode: the recipient holds `through_delivery_id` and everything sent
  // before it. Records, releases and audits each newly confirmed delivery.
  // Returns how many were newly confirmed; NOT_FOUND for an unknown id.
  absl::StatusOr<size_t> ConfirmPulled(const std::string& party, const std::string& through_delivery_id);

  // A message's audit pairing could not be written: the sweeper writes it
  // again until it is durable, then dispatches the message (until then no
  // destination passes it).
  void RetryPairing(std::shared_ptr<const MessageRecord> message, uint64_t audit_index);

  // Stops starting attempts and waits (up to `grace`) for in-flight ones.
  // What is not delivered stays ACCEPTED in the store for the next start.
  void Shutdown(std::chrono::milliseconds grace);

  // Per-destination counters (attempts, failures, retries, deliveries, dead letters).
  DeliveryMetrics* metrics() { return &metrics_; }
  // Delivers again a dead letter that an operator retried (the store has
  // already made it ACCEPTED): counts it in the destination's backlog again
  // (no bound is checked: the operator's decision is not refused) and
  // dispatches it, continuing its attempt count. Does nothing if the message
  // is gone.
  void Redeliver(const DeliveryRow& row);

 private:
  struct Job {
    int64_t seq = 0;
    uint64_t tenure = 0;  // The destination's tenure it was read in (Destination::tenure).
    std::string sender, message_id;
    std::string lane;  // Sender and case reference: the unit of ordering within the destination.
    uint32_t attempt = 1;  // The attempt this job makes next.
    std::chrono::steady_clock::time_point due;
    // The outcome of this job's last push, whose write answered an error
    // that may hide a commit (a COMMIT's answer lost: UNKNOWN). If the row is
    // found settled that way (same seq), its record is written and its room
    // released then (StartAttempt).
    struct Unrecorded {
      std::string outcome;  // "delivered" or "failed".
      uint32_t attempts = 0;
      std::string reason, code;
      bool attempted = true;
    };
    std::optional<Unrecorded> unrecorded;
  };
  struct Destination {
    explicit Destination(const Party* p) : party(p) {}
    const Party* const party;
    // All below guarded by the dispatcher's mutex.
    int64_t loaded_seq = 0;      // Highest seq read from the store.
    bool more = true;            // The store may hold ACCEPTED deliveries after loaded_seq.
    bool refill_queued = false;  // In refills_.
    size_t held = 0;             // Jobs in memory: scheduled, waiting in a lane, parked or in flight.
    // Busy lanes: the head is scheduled or in flight; these wait behind it.
    std::map<std::string, std::deque<Job>> lanes;
    int pushing = 0;          // Push attempts in flight.
    std::deque<Job> parked;   // Due, waiting for one of those to end.
    // Grows each time the destination is lost: jobs of an earlier tenure are dropped.
    uint64_t tenure = 0;
    // Jobs were dropped (or the destination gained): once none is held, the
    // next page starts from seq 0.
    bool reset = false;
  };
  struct Scheduled {
    std::chrono::steady_clock::time_point due;
    uint64_t order;
    Destination* dest;
    Job job;
    bool operator>(const Scheduled& o) const { return due != o.due ? due > o.due : order > o.order; }
  };

  void SchedulerLoop();
  // The ownership's listener: `destination` gained or lost.
  void OnOwnership(const std::string& destination, bool held);
  // The job may go on: read in this tenure, and the destination is held (requires mu_).
  bool CurrentLocked(const Destination* d, const Job& job) const;
  // Drops a lane's head `job` and everything waiting behind it; the next
  // page starts from seq 0 once nothing is held (requires mu_).
  void DropLaneLocked(Destination* d, const Job& job);
  // The destination was lost: drops its waiting jobs of earlier tenures
  // (scheduled, parked, behind a lane's head) at once (requires mu_).
  void PurgeLocked(Destination* d);
  void QueueRefillLocked(Destination* d);
  // Every destination looks at the store again (requires mu_).
  void RescanLocked();
  // Re-audits unpaired messages and expires old deliveries (sweeper thread, without mu_).
  void SweepOnce();
  void SweeperLoop();
  // Reads the destination's next page from the store (scheduler thread).
  void Refill(Destination* d);
  void ScheduleLocked(Destination* d, Job job);
  // The job left its lane (delivered, dead letter or gone): the next one of its lane starts.
  void FinishJob(Destination* d, const Job& job);
  void StartAttempt(Destination* d, const Job& job);
  // If the job may not go on (CurrentLocked): drops its lane, ends its
  // in-flight count and returns true.
  bool DroppedAtStart(Destination* d, const Job& job);
  void RetryLater(Destination* d, Job job, std::chrono::steady_clock::time_point when);
  // `attempted`: false if the outcome was decided without a push (the
  // delivery can never be carried).
  void OnAttemptDone(Destination* d, const Job& job, const std::shared_ptr<const MessageRecord>& message,
                     absl::Status status, bool attempted);
  // `code`: the listed reason of a delivery that can never succeed, if it is one.
  // `sent`: false if the outcome was decided without sending (too large for
  // the channel); `attempts` is then the attempts made before.
  void RecordOutcome(const MessageRecord& message, const std::string& recipient, const std::string& mode,
                     const std::string& outcome, uint32_t attempts, const std::string& reason,
                     const std::string& code = "", bool sent = true);
  // OK if `envelope` is within what `party` accepts (its max_message_bytes);
  // else a PermanentFailure TOO_LARGE.
  absl::Status FitsParty(const Party& party, const v1::Envelope& envelope) const;
  // A pull delivery that can never be sent: FAILED now (a dead letter with
  // `why`), released and audited; `done(true)` once that is durable (or the
  // row was settled meanwhile), `done(false)` if it could not be recorded.
  void PullUndeliverable(const std::string& party, const DeliveryRow& row,
                         std::shared_ptr<const MessageRecord> message, const absl::Status& why,
                         std::function<void(bool recorded)> done);
  // Audits and releases deliveries another call moved out of ACCEPTED.
  void RecordChanged(const std::vector<ChangedDelivery>& changed, const std::string& mode, const std::string& outcome);
  // Schedules one parked job if a push slot is free (requires mu_).
  void UnparkLocked(Destination* d);
  std::chrono::milliseconds Backoff(uint32_t attempt);

  std::shared_ptr<const Config> config_;
  MessageStore* store_;
  AuditLog* audit_;
  DeliveryTransport* transport_;
  Backlog backlog_;
  CircuitBreakers breakers_;
  std::unique_ptr<PullStreams> pull_streams_;
  AlwaysOwner always_owner_;
  DestinationOwnership* ownership_;  // Never null.

  std::mutex mu_;
  std::condition_variable cv_;       // Work for the scheduler; in-flight attempts ending.
  std::condition_variable stop_cv_;  // The sweeper's: only Shutdown wakes it early.
  // One per push-mode party; fixed at construction.
  std::map<std::string, std::unique_ptr<Destination>> destinations_;
  std::priority_queue<Scheduled, std::vector<Scheduled>, std::greater<Scheduled>> scheduled_;
  std::deque<Destination*> refills_;  // Destinations that want their next page read.
  std::vector<std::pair<std::shared_ptr<const MessageRecord>, uint64_t>> unpaired_;  // For RetryPairing.
  uint64_t next_order_ = 0;
  int in_flight_ = 0;  // Attempts being started or awaiting their outcome.
  bool started_ = false;
  bool stopping_ = false;
  std::mt19937_64 rng_{std::random_device{}()};
  std::thread scheduler_;
  std::thread sweeper_;
  DeliveryMetrics metrics_{*config_};
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_DELIVERY_DISPATCHER_H_
