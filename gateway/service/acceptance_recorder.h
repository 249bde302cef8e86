// The seam through which the acceptance pipeline (acceptance.h) makes a
// message accepted: stored, and its acceptance record durable, before the
// receipt is answered (docs/storage.md). Two implementations:
//   PairedAcceptance (paired_acceptance.h): the message store and the audit
//     log are separate (SQLite + file log): store, then audit, then pair;
//   PgAcceptance (pg_acceptance.h): both in one PostgreSQL transaction.
#ifndef PORTCULLIS_GATEWAY_SERVICE_ACCEPTANCE_RECORDER_H_
#define PORTCULLIS_GATEWAY_SERVICE_ACCEPTANCE_RECORDER_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "gateway/audit/audit_record.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis {

class AcceptanceRecorder {
 public:
  // The receipt (audit_index set), or the refusal to answer: nothing was
  // accepted (STORE_UNAVAILABLE, AUDIT_UNAVAILABLE), or the outcome is
  // unknown (OUTCOME_UNKNOWN: a resubmission of the id tells).
  using Answered = std::function<void(absl::StatusOr<v1::Receipt>)>;
  virtual ~AcceptanceRecorder() = default;
  // `envelope` was reserved (MessageStore::Reserve) and has room in every
  // recipient's backlog; `record` is its acceptance record. Calls `answered`
  // exactly once, on any thread, only once both are durable (or with the
  // refusal); hands the message to delivery once it may be delivered.
  virtual void Record(std::shared_ptr<const v1::Envelope> envelope, v1::Receipt receipt, AuditRecord record,
                      Answered answered) = 0;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_ACCEPTANCE_RECORDER_H_
