// The Audit gRPC service (protos/portcullis/v1/audit.proto): queries,
// checkpoints and proofs over the audit log, for auditors; inclusion proofs
// also for the parties of the message a record is about.
//
// Every call, allowed or refused, is recorded (action audit_query /
// audit_checkpoint / audit_proof, with the caller's identity and, for
// queries, the stated reason) and answered only once that record is durable.
// Queries scan the log from the page token, at most kMaxScan records per call
// (bounded work per call; the page token continues the scan).
#ifndef PORTCULLIS_GATEWAY_SERVICE_AUDIT_SERVICE_H_
#define PORTCULLIS_GATEWAY_SERVICE_AUDIT_SERVICE_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "gateway/audit/audit_log.h"
#include "gateway/config/config.h"
#include "gateway/service/officer_identity.h"
#include "portcullis/v1/audit.grpc.pb.h"

namespace portcullis {

class AuditService final : public v1::Audit::CallbackService {
 public:
  static constexpr uint64_t kMaxScan = 100000;

  // `audit` must outlive the service.
  // `officers`: verifies callers' officer assertions (nullptr: none checked).
  AuditService(std::shared_ptr<const Config> config, AuditLog* audit, const OfficerIdentity* officers);

  grpc::ServerUnaryReactor* Query(grpc::CallbackServerContext* context, const v1::AuditQueryRequest* request,
                                  v1::AuditQueryResponse* response) override;
  grpc::ServerUnaryReactor* GetCheckpoint(grpc::CallbackServerContext* context,
                                          const v1::GetCheckpointRequest* request,
                                          v1::SignedCheckpoint* response) override;
  grpc::ServerUnaryReactor* GetInclusionProof(grpc::CallbackServerContext* context,
                                              const v1::InclusionProofRequest* request,
                                              v1::InclusionProof* response) override;
  grpc::ServerUnaryReactor* GetConsistencyProof(grpc::CallbackServerContext* context,
                                                const v1::ConsistencyProofRequest* request,
                                                v1::ConsistencyProof* response) override;

 private:
  static constexpr std::chrono::seconds kFreshCheckpointInterval{1};
  // The latest checkpoint if it covers `min_size` records; else one signed
  // now, unless one was signed on demand less than a second ago.
  std::optional<Checkpoint> CoveringCheckpoint(uint64_t min_size);

  std::shared_ptr<const Config> config_;
  AuditLog* audit_;
  const OfficerIdentity* officers_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_fresh_checkpoint_;
};

// Fills a SignedCheckpoint message from a checkpoint.
void ToProto(const Checkpoint& checkpoint, v1::SignedCheckpoint* out);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_AUDIT_SERVICE_H_
