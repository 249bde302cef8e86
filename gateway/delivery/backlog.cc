#include "gateway/delivery/backlog.h"

#include <vector>

namespace portcullis {

Backlog::Backlog(const Config& config)
    : bound_{static_cast<uint64_t>(config.delivery.max_backlog_messages),
             static_cast<uint64_t>(config.delivery.max_backlog_mib) << 20},
      counting_(config.store.backend != StoreBackend::kPostgres) {
  if (!counting_) return;  // No lanes: Reserve finds none, Release and Add find none.
  for (const Party& p : config.parties) lanes_[p.id] = std::make_unique<Lane>();
}

Backlog::Lane* Backlog::Find(const std::string& recipient) const {
  auto it = lanes_.find(recipient);
  return it == lanes_.end() ? nullptr : it->second.get();
}

absl::Status Backlog::Reserve(const google::protobuf::RepeatedPtrField<std::string>& recipients, uint64_t bytes) {
  // One lane locked at a time (never two: no lock order to get wrong).
  std::vector<Lane*> taken;
  absl::Status refusal;
  for (const std::string& r : recipients) {
    Lane* lane = Find(r);
    if (lane == nullptr) continue;  // Routes were checked: not a party of this config.
    std::lock_guard<std::mutex> lock(lane->mu);
    refusal = CheckBacklogRoom(bound_, r, lane->messages, lane->bytes, bytes);
    if (!refusal.ok()) break;
    lane->messages += 1;
    lane->bytes += bytes;
    taken.push_back(lane);
  }
  if (!refusal.ok()) {
    for (Lane* l : taken) {
      std::lock_guard<std::mutex> undo(l->mu);
      l->messages -= 1;
      l->bytes -= bytes;
    }
  }
  return refusal;
}

void Backlog::Release(const std::string& recipient, uint64_t bytes) {
  Lane* lane = Find(recipient);
  if (lane == nullptr) return;
  std::lock_guard<std::mutex> lock(lane->mu);
  lane->messages -= lane->messages > 0 ? 1 : 0;
  lane->bytes -= std::min(lane->bytes, bytes);
}

void Backlog::Add(const std::string& recipient, uint64_t messages, uint64_t bytes) {
  Lane* lane = Find(recipient);
  if (lane == nullptr) return;
  std::lock_guard<std::mutex> lock(lane->mu);
  lane->messages += messages;
  lane->bytes += bytes;
}

uint64_t Backlog::messages(const std::string& recipient) const {
  Lane* lane = Find(recipient);
  if (lane == nullptr) return 0;
  std::lock_guard<std::mutex> lock(lane->mu);
  return lane->messages;
}

uint64_t Backlog::bytes(const std::string& recipient) const {
  Lane* lane = Find(recipient);
  if (lane == nullptr) return 0;
  std::lock_guard<std::mutex> lock(lane->mu);
  return lane->bytes;
}

}  // namespace portcullis
