// One circuit breaker per destination: after `failures_to_open` failed
// attempts in a row the destination is left alone for `cooldown` (no
// attempts, none spent); then one probe goes; its success closes the breaker,
// its failure opens it again. A dead partner then costs a few attempts per
// cool-down, not one per queued message per backoff step. Thread-safe.
#ifndef PORTCULLIS_GATEWAY_DELIVERY_CIRCUIT_BREAKER_H_
#define PORTCULLIS_GATEWAY_DELIVERY_CIRCUIT_BREAKER_H_

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace portcullis {

class CircuitBreakers {
 public:
  using Clock = std::chrono::steady_clock;
  CircuitBreakers(int failures_to_open, std::chrono::milliseconds cooldown);

  // nullopt: an attempt to `destination` may start now. Otherwise the time
  // to come back (the breaker is open, or its one probe is in flight).
  std::optional<Clock::time_point> Admit(const std::string& destination);
  // The outcome of an admitted attempt.
  void Record(const std::string& destination, bool success);
  // "closed", "open" or "half_open" (a probe in flight), for metrics and tests.
  std::string StateOf(const std::string& destination) const;

 private:
  struct State {
    int failures = 0;
    Clock::time_point open_until;
    bool probing = false;
  };
  const int failures_to_open_;
  const std::chrono::milliseconds cooldown_;
  mutable std::mutex mu_;
  std::map<std::string, State> states_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_DELIVERY_CIRCUIT_BREAKER_H_
