// Delivers accepted messages to their recipients, after the Receipt has been
// returned: push-mode recipients through a DeliveryTransport, with retries
// (exponential backoff with jitter, a deadline per attempt, a maximum number
// of attempts), pull-mode recipients through their PullQueues entry.
// Every attempt's outcome updates the MessageStore and is audited.
//
// Order: pushes of one case from one sender to one recipient go one at a
// time, in the order they were dispatched (submission order): a message
// waits in its lane until the one before it is delivered or has finally
// failed, so a retry never lets a later message overtake. Other cases and
// recipients are independent.
//
// Thread-safe. One scheduler thread starts attempts; attempts complete on
// gRPC's threads. Shutdown() stops scheduling and waits for in-flight pushes.
#ifndef PORTCULLIS_GATEWAY_DELIVERY_DISPATCHER_H_
#define PORTCULLIS_GATEWAY_DELIVERY_DISPATCHER_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gateway/audit/audit_log.h"
#include "gateway/delivery/backlog.h"
#include "gateway/delivery/circuit_breaker.h"
#include "gateway/delivery/delivery_metrics.h"
#include "gateway/config/config.h"
#include "gateway/delivery/pull_queues.h"
#include "gateway/delivery/transport.h"
#include "gateway/store/message_store.h"

namespace portcullis {

// Stable id of one message's delivery to one recipient (same on every retry).
std::string DeliveryId(const std::string& sender, const std::string& message_id, const std::string& recipient);

class Dispatcher {
 public:
  // All pointers must outlive the Dispatcher.
  Dispatcher(std::shared_ptr<const Config> config, MessageStore* store, AuditLog* audit,
             DeliveryTransport* transport);
  ~Dispatcher();

  // The pull queues, whose streams report back to this dispatcher.
  PullQueues* pull_queues() { return &pull_queues_; }
  // Room per destination: Submit reserves it, a finished delivery releases it.
  Backlog* backlog() { return &backlog_; }
  const CircuitBreakers& breakers() const { return breakers_; }
  // Push attempts in flight to `destination` (at most delivery.workers).
  int pushes_in_flight(const std::string& destination);

  // Starts delivering an accepted message to every recipient.
  void Dispatch(const MessageRecord& message);
  // Starts (or, after a restart, resumes) delivering it to one recipient.
  // A resumed push continues its attempt count and keeps its due time
  // (`next_attempt_micros`, wall clock; 0 = now).
  void DispatchTo(const MessageRecord& message, const std::string& recipient, uint32_t attempts_made = 0,
                  int64_t next_attempt_micros = 0);

  // Stops starting attempts and waits (up to `grace`) for in-flight ones.
  // Scheduled retries that did not start stay ACCEPTED.
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
    std::chrono::steady_clock::time_point due;
    uint64_t seq;
    std::string sender, message_id, recipient;
    uint32_t attempt;
    std::string lane;  // sender, case reference and recipient: the unit of ordering.
    bool operator>(const Job& o) const { return due != o.due ? due > o.due : seq > o.seq; }
  };
  void SchedulerLoop();
  void Schedule(Job job);
  void ScheduleLocked(Job job);
  // The lane's head is finished (delivered, finally failed or gone): the next one starts.
  void FinishInLane(const Job& job);
  void StartAttempt(const Job& job);
  void NotStarted();  // StartAttempt decided not to push (held, gone, breaker open).
  void OnAttemptDone(const Job& job, const std::shared_ptr<const MessageRecord>& message, absl::Status status);
  void RecordOutcome(const MessageRecord& message, const std::string& recipient, const std::string& mode,
                     const std::string& outcome, uint32_t attempts, const std::string& reason);
  void OnPulled(const std::string& party, const v1::Delivery& delivery);
  std::chrono::milliseconds Backoff(uint32_t attempt);

  std::shared_ptr<const Config> config_;
  MessageStore* store_;
  AuditLog* audit_;
  DeliveryTransport* transport_;
  PullQueues pull_queues_;
  Backlog backlog_;
  CircuitBreakers breakers_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Job, std::vector<Job>, std::greater<Job>> jobs_;
  // Busy lanes: each has a job scheduled or in flight; these wait behind it.
  std::map<std::string, std::deque<Job>> lanes_;
  std::map<std::string, int> pushing_;  // Push attempts in flight per destination.
  std::map<std::string, std::deque<Job>> parked_;  // Waiting for one of those to end.
  uint64_t next_seq_ = 0;
  int in_flight_ = 0;
  bool stopping_ = false;
  std::mt19937_64 rng_{std::random_device{}()};
  std::thread scheduler_;
  DeliveryMetrics metrics_{*config_};
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_DELIVERY_DISPATCHER_H_
