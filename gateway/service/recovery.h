// Start-up recovery of accepted messages (docs/delivery.md): pairs every
// stored message with its acceptance record in the audit log, writing a
// "recovered" record where a crash came between the two commits. (The
// dispatcher then resumes every delivery that was not finished: Start().)
#ifndef PORTCULLIS_GATEWAY_SERVICE_RECOVERY_H_
#define PORTCULLIS_GATEWAY_SERVICE_RECOVERY_H_

#include <cstdint>

#include "absl/status/status.h"
#include "gateway/audit/audit_log.h"
#include "gateway/store/message_store.h"

namespace portcullis {

struct RecoveryReport {
  uint64_t paired = 0;      // Acceptance records found in the audit log.
  uint64_t recovered = 0;   // Acceptance records written now (crash between the commits).
  uint64_t resumed = 0;     // Deliveries still to make (the dispatcher resumes them).
};

// Before the gateway serves: every message with no audit index is paired.
absl::StatusOr<RecoveryReport> PairUnauditedMessages(MessageStore* store, AuditLog* audit);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_RECOVERY_H_
