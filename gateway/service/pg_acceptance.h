// The AcceptanceRecorder on PostgreSQL (acceptance_recorder.h,
// docs/storage.md "Data flow"): the message's rows and its acceptance record
// commit in one transaction of the shared GroupWriter, so there is no pairing
// step and no crash window between them. Answered once that COMMIT returned;
// delivery starts at the same moment.
#ifndef PORTCULLIS_GATEWAY_SERVICE_PG_ACCEPTANCE_H_
#define PORTCULLIS_GATEWAY_SERVICE_PG_ACCEPTANCE_H_

#include <memory>

#include "gateway/audit/pg_audit_log.h"
#include "gateway/pg/pg_writer.h"
#include "gateway/service/acceptance.h"
#include "gateway/service/acceptance_recorder.h"
#include "gateway/store/pg_message_store.h"

namespace portcullis {

class PgAcceptance final : public AcceptanceRecorder {
 public:
  // `store` and `audit` write through `writer`. Pointers must outlive this
  // and every recording in flight.
  PgAcceptance(pg::GroupWriter* writer, PgMessageStore* store, PgAuditLog* audit, DeliveryHandoff* delivery)
      : writer_(writer), store_(store), audit_(audit), delivery_(delivery) {}
  void Record(std::shared_ptr<const v1::Envelope> envelope, v1::Receipt receipt, AuditRecord record,
              Answered answered) override;

 private:
  pg::GroupWriter* writer_;
  PgMessageStore* store_;
  PgAuditLog* audit_;
  DeliveryHandoff* delivery_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_PG_ACCEPTANCE_H_
