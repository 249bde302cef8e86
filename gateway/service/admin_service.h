// The Admin gRPC service (protos/portcullis/v1/admin.proto): dead letters and
// delivery statistics, for operators (parties of kind `operator`). With
// several replicas on one database (docs/cluster.md, "Operators") the
// figures read from the database are cluster-wide and the per-process
// counters are labelled with the answering replica's id.
//
// Every call, allowed or refused, is recorded (actions dead_letter_list,
// dead_letter_retry, dead_letter_cancel, delivery_stats, with the caller's
// identity, the officer, the stated reason and the delivery's message id,
// sender and recipient) and answered only once that record is durable. A
// retried dead letter is handed to the dispatcher only after its record is
// durable; if the record cannot be written the call fails UNAVAILABLE
// (AUDIT_UNAVAILABLE) and the delivery, already ACCEPTED in the store,
// resumes at the next start.
//
// Store reads and writes are made on the calling thread (operator actions are
// rare and each is one indexed query or one group-committed write).
// Thread-safe: no state of its own.
#ifndef PORTCULLIS_GATEWAY_SERVICE_ADMIN_SERVICE_H_
#define PORTCULLIS_GATEWAY_SERVICE_ADMIN_SERVICE_H_

#include <memory>

#include "gateway/audit/audit_log.h"
#include "gateway/config/config.h"
#include "gateway/delivery/dispatcher.h"
#include "gateway/service/officer_identity.h"
#include "gateway/store/cluster_view.h"
#include "gateway/store/message_store.h"
#include "portcullis/v1/admin.grpc.pb.h"

namespace portcullis {

class AdminService final : public v1::Admin::CallbackService {
 public:
  static constexpr uint32_t kDefaultPage = 100;
  static constexpr uint32_t kMaxPage = 1000;

  // `store`, `audit`, `dispatcher` and `cluster` must outlive the service.
  // `officers`: verifies callers' officer assertions (nullptr: none checked).
  // `cluster`: leases and replicas for GetDeliveryStats (nullptr: none, as on SQLite).
  AdminService(std::shared_ptr<const Config> config, MessageStore* store, AuditLog* audit, Dispatcher* dispatcher,
               const OfficerIdentity* officers, const ClusterView* cluster = nullptr);

  grpc::ServerUnaryReactor* ListDeadLetters(grpc::CallbackServerContext* context,
                                            const v1::ListDeadLettersRequest* request,
                                            v1::ListDeadLettersResponse* response) override;
  grpc::ServerUnaryReactor* RetryDeadLetter(grpc::CallbackServerContext* context,
                                            const v1::RetryDeadLetterRequest* request,
                                            v1::DeadLetter* response) override;
  grpc::ServerUnaryReactor* CancelDeadLetter(grpc::CallbackServerContext* context,
                                             const v1::CancelDeadLetterRequest* request,
                                             v1::DeadLetter* response) override;
  grpc::ServerUnaryReactor* GetDeliveryStats(grpc::CallbackServerContext* context,
                                             const v1::GetDeliveryStatsRequest* request,
                                             v1::DeliveryStats* response) override;

 private:
  // Retry and Cancel: the shared checks, the store change, the record.
  grpc::ServerUnaryReactor* ActOnDeadLetter(grpc::CallbackServerContext* context, const char* action,
                                            const std::string& delivery_id, const std::string& reason,
                                            const std::string& officer, v1::DeadLetter* response);

  std::shared_ptr<const Config> config_;
  MessageStore* store_;
  AuditLog* audit_;
  Dispatcher* dispatcher_;
  const OfficerIdentity* officers_;
  std::unique_ptr<ClusterView> no_cluster_;  // Stands in when none is given.
  const ClusterView* cluster_;
};

// The operators' view of a delivery row.
void ToDeadLetter(const DeliveryRow& row, v1::DeadLetter* out);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_ADMIN_SERVICE_H_
