// Pull mode (docs/delivery.md, "Pull"): how far a party's Receive stream
// was read, and its confirmations. Implementations are thread-safe.
#ifndef PORTCULLIS_GATEWAY_STORE_PULL_CURSORS_H_
#define PORTCULLIS_GATEWAY_STORE_PULL_CURSORS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/store/store_types.h"

namespace portcullis {

class PullCursors {
 public:
  virtual ~PullCursors() = default;
  // Pull mode: delivery `through_delivery_id` to `recipient` and every
  // earlier (lower seq) audited ACCEPTED delivery to it become DELIVERED,
  // durably, but never beyond what was read for sending (RecordPulled): a
  // stale id whose delivery was re-sequenced (a retried dead letter) cannot
  // confirm what was never sent. NOT_FOUND if `recipient` has no such delivery.
  virtual absl::StatusOr<ConfirmResult> ConfirmPulled(const std::string& recipient,
                                                      const std::string& through_delivery_id) = 0;
  // Pull mode: deliveries to `recipient` up to `seq` were read for sending
  // (kept as a high-water mark; written without waiting).
  virtual void RecordPulled(const std::string& recipient, int64_t seq) = 0;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_PULL_CURSORS_H_
