#include "gateway/delivery/delivery_metrics.h"

namespace portcullis {
namespace {
void Add(std::atomic<uint64_t>* counter) { counter->fetch_add(1, std::memory_order_relaxed); }
uint64_t Read(const std::atomic<uint64_t>& counter) { return counter.load(std::memory_order_relaxed); }
}  // namespace

DeliveryMetrics::DeliveryMetrics(const Config& config) {
  for (const Party& p : config.parties) {
    if (p.delivery.mode == DeliveryMode::kNone) continue;
    destinations_.emplace(p.id, std::make_unique<Counters>());
  }
}

DeliveryMetrics::Counters* DeliveryMetrics::Find(const std::string& destination) const {
  auto it = destinations_.find(destination);
  return it == destinations_.end() ? nullptr : it->second.get();
}

void DeliveryMetrics::CountAttempt(const std::string& destination) {
  if (Counters* c = Find(destination)) Add(&c->attempts);
}

void DeliveryMetrics::CountFailure(const std::string& destination) {
  if (Counters* c = Find(destination)) Add(&c->failures);
}

void DeliveryMetrics::CountRetryScheduled(const std::string& destination) {
  if (Counters* c = Find(destination)) Add(&c->retries_scheduled);
}

void DeliveryMetrics::CountDelivered(const std::string& destination) {
  if (Counters* c = Find(destination)) Add(&c->delivered);
}

void DeliveryMetrics::CountFailed(const std::string& destination) {
  if (Counters* c = Find(destination)) Add(&c->dead_lettered);
}

void DeliveryMetrics::CountExpired(const std::string& destination) {
  if (Counters* c = Find(destination)) {
    Add(&c->dead_lettered);
    Add(&c->expired);
  }
}

std::map<std::string, DestinationCounters> DeliveryMetrics::Snapshot() const {
  std::map<std::string, DestinationCounters> out;
  for (const auto& [id, c] : destinations_) {
    DestinationCounters& d = out[id];
    d.attempts = Read(c->attempts);
    d.failures = Read(c->failures);
    d.retries_scheduled = Read(c->retries_scheduled);
    d.delivered = Read(c->delivered);
    d.dead_lettered = Read(c->dead_lettered);
    d.expired = Read(c->expired);
  }
  return out;
}

}  // namespace portcullis
