// Per-destination delivery counters (docs/delivery.md, "Visibility"): push
// attempts and their failures, retries scheduled, deliveries made, and
// deliveries that became dead letters (FAILED or EXPIRED). Counted since the
// gateway started; the Admin service's GetDeliveryStats reports them with the
// backlog, breaker state and the store's dead-letter counts.
//
// Thread-safe without a lock per message: the destinations are fixed at
// construction (every party that receives messages) and each holds its own
// atomic counters. A count for a destination that is not configured is
// dropped (nothing can be delivered to one).
#ifndef PORTCULLIS_GATEWAY_DELIVERY_DELIVERY_METRICS_H_
#define PORTCULLIS_GATEWAY_DELIVERY_DELIVERY_METRICS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "gateway/config/config.h"

namespace portcullis {

// One destination's counters at one moment.
struct DestinationCounters {
  uint64_t attempts = 0;           // Push attempts started.
  uint64_t failures = 0;           // Push attempts that failed.
  uint64_t retries_scheduled = 0;  // Failed attempts after which another was scheduled.
  uint64_t delivered = 0;          // Pushed successfully, or sent on a Receive stream.
  uint64_t dead_lettered = 0;      // Became FAILED or EXPIRED.
  uint64_t expired = 0;            // Of those, EXPIRED.
};

class DeliveryMetrics {
 public:
  // One entry per party with a delivery mode (push or pull).
  explicit DeliveryMetrics(const Config& config);

  void CountAttempt(const std::string& destination);
  void CountFailure(const std::string& destination);
  void CountRetryScheduled(const std::string& destination);
  void CountDelivered(const std::string& destination);
  // A delivery became FAILED (max attempts reached).
  void CountFailed(const std::string& destination);
  // A delivery became EXPIRED (max age reached).
  void CountExpired(const std::string& destination);

  // Every destination's counters, by party id. Each counter is read on its
  // own (relaxed): a snapshot taken during traffic may be off by in-flight
  // increments between counters, never by lost ones.
  std::map<std::string, DestinationCounters> Snapshot() const;

 private:
  struct Counters {
    std::atomic<uint64_t> attempts{0};
    std::atomic<uint64_t> failures{0};
    std::atomic<uint64_t> retries_scheduled{0};
    std::atomic<uint64_t> delivered{0};
    std::atomic<uint64_t> dead_lettered{0};
    std::atomic<uint64_t> expired{0};
  };
  Counters* Find(const std::string& destination) const;

  // Fixed at construction; only the atomics change afterwards.
  std::map<std::string, std::unique_ptr<Counters>> destinations_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_DELIVERY_DELIVERY_METRICS_H_
