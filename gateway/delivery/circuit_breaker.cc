#include "gateway/delivery/circuit_breaker.h"

#include <algorithm>

namespace portcullis {

CircuitBreakers::CircuitBreakers(int failures_to_open, std::chrono::milliseconds cooldown)
    : failures_to_open_(failures_to_open), cooldown_(cooldown) {}

std::optional<CircuitBreakers::Clock::time_point> CircuitBreakers::Admit(const std::string& destination) {
  std::lock_guard<std::mutex> lock(mu_);
  State& s = states_[destination];
  if (s.failures < failures_to_open_) return std::nullopt;  // Closed.
  const Clock::time_point now = Clock::now();
  if (now < s.open_until) return s.open_until;  // Open.
  if (s.probing) {
    // Half open: one probe at a time; the others look again shortly.
    return now + std::max<std::chrono::milliseconds>(cooldown_ / 10, std::chrono::milliseconds(50));
  }
  s.probing = true;
  return std::nullopt;
}

void CircuitBreakers::Record(const std::string& destination, bool success) {
  std::lock_guard<std::mutex> lock(mu_);
  State& s = states_[destination];
  s.probing = false;
  if (success) {
    s.failures = 0;
    return;
  }
  if (++s.failures >= failures_to_open_) s.open_until = Clock::now() + cooldown_;
}

std::string CircuitBreakers::StateOf(const std::string& destination) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(destination);
  if (it == states_.end() || it->second.failures < failures_to_open_) return "closed";
  if (it->second.probing) return "half_open";
  return "open";
}

}  // namespace portcullis
