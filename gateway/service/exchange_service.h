// The Exchange gRPC service (callback API): where a caller is authenticated
// (peer certificate -> party), its request checked (envelope, routes,
// clearance), recorded (audit log, message store) and handed to delivery.
//
// Every refusal leaves as a grpc::Status with a precise code and a
// v1::Refusal in its details (ToGrpcStatus). Every call, accepted or refused,
// appends an audit record, and the response is sent only once that record is
// durable. Thread-safe; no global lock per message.
#ifndef PORTCULLIS_GATEWAY_SERVICE_EXCHANGE_SERVICE_H_
#define PORTCULLIS_GATEWAY_SERVICE_EXCHANGE_SERVICE_H_

#include <memory>

#include "gateway/audit/audit_log.h"
#include "gateway/config/config.h"
#include "gateway/delivery/dispatcher.h"
#include "gateway/store/message_store.h"
#include "portcullis/v1/exchange.grpc.pb.h"

namespace portcullis {

class ExchangeService final : public v1::Exchange::CallbackService {
 public:
  // Pointers must outlive the service.
  ExchangeService(std::shared_ptr<const Config> config, MessageStore* store, AuditLog* audit,
                  Dispatcher* dispatcher);

  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* context, const v1::SubmitRequest* request,
                                   v1::Receipt* receipt) override;
  grpc::ServerUnaryReactor* Track(grpc::CallbackServerContext* context, const v1::TrackRequest* request,
                                  v1::TrackResponse* response) override;
  grpc::ServerUnaryReactor* Acknowledge(grpc::CallbackServerContext* context,
                                        const v1::AcknowledgeRequest* request,
                                        v1::AcknowledgeResponse* response) override;
  grpc::ServerWriteReactor<v1::Delivery>* Receive(grpc::CallbackServerContext* context,
                                                  const v1::ReceiveRequest* request) override;
  grpc::ServerUnaryReactor* Confirm(grpc::CallbackServerContext* context, const v1::ConfirmRequest* request,
                                    v1::ConfirmResponse* response) override;
  // Every message of a case the caller sent or is a recipient of, paged; a
  // consultation, so officer and justification are required and recorded.
  grpc::ServerUnaryReactor* ListCase(grpc::CallbackServerContext* context, const v1::ListCaseRequest* request,
                                     v1::ListCaseResponse* response) override;

 private:
  absl::StatusOr<const Party*> PullParty(grpc::CallbackServerContext& context, AuditRecord* record);
  absl::StatusOr<size_t> ConfirmThrough(const Party& party, const std::string& id, const char* field);

  std::shared_ptr<const Config> config_;
  MessageStore* store_;
  AuditLog* audit_;
  Dispatcher* dispatcher_;
};

// The party a call comes from, decided from the verified peer certificate's
// URI SANs (AuthContext "peer_uri"): exactly one must name a configured
// party. UNAUTHENTICATED otherwise.
absl::StatusOr<const Party*> AuthenticatePeer(const grpc::ServerContextBase& context, const Config& config);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_EXCHANGE_SERVICE_H_
