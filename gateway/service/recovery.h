// Start-up recovery of accepted messages (docs/delivery.md): pairs every
// stored message with its acceptance record in the audit log, writing a
// "recovered" record where a crash came between the two commits, and resumes
// every delivery that was not finished.
#ifndef PORTCULLIS_GATEWAY_SERVICE_RECOVERY_H_
#define PORTCULLIS_GATEWAY_SERVICE_RECOVERY_H_

#include <cstdint>

#include "absl/status/status.h"
#include "gateway/audit/audit_log.h"
#include "gateway/config/config.h"
#include "gateway/delivery/dispatcher.h"
#include "gateway/store/message_store.h"

namespace portcullis {

struct RecoveryReport {
  uint64_t paired = 0;      // Acceptance records found in the audit log.
  uint64_t recovered = 0;   // Acceptance records written now (crash between the commits).
  uint64_t resumed = 0;     // Deliveries started again.
};

// Before the gateway serves: every message with no audit index is paired.
absl::StatusOr<RecoveryReport> PairUnauditedMessages(MessageStore* store, AuditLog* audit);

// Every delivery still ACCEPTED is handed to the dispatcher again.
absl::Status ResumeDeliveries(const Config& config, MessageStore* store, Dispatcher* dispatcher,
                              RecoveryReport* report);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_RECOVERY_H_
