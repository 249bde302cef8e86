// The backlog bound of one destination (docs/delivery.md, back-pressure), as
// both counters apply it: the in-memory Backlog (gateway/delivery/backlog.h,
// SQLite) and the acceptance transaction on PostgreSQL (backlog_counts,
// docs/cluster.md "Backlog bounds"). One refusal text for both.
#ifndef PORTCULLIS_GATEWAY_STORE_BACKLOG_BOUND_H_
#define PORTCULLIS_GATEWAY_STORE_BACKLOG_BOUND_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace portcullis {

struct BacklogBound {
  uint64_t max_messages = 0;  // 0 = no bound (tests, tools).
  uint64_t max_bytes = 0;
  bool set() const { return max_messages > 0 || max_bytes > 0; }
};

// OK if one more delivery of `bytes` fits beside `messages` deliveries of
// `held_bytes` waiting for `recipient`; else RESOURCE_EXHAUSTED BACKLOG_FULL
// (field "recipients") naming the recipient and the bound it reached.
absl::Status CheckBacklogRoom(const BacklogBound& bound, const std::string& recipient, uint64_t messages,
                              uint64_t held_bytes, uint64_t bytes);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_BACKLOG_BOUND_H_
