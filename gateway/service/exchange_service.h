// The Exchange gRPC service (callback API): where a caller is authenticated
// (peer certificate -> party) and its request parsed. A submission is then
// checked, stored, audited and handed to delivery by the acceptance pipeline
// (acceptance.h) and a recipient's decision is Decide's (decision.h), both
// without gRPC; the consultations (Track, ListCase) and the pull calls
// (Receive, Confirm) are decided here.
//
// Every refusal leaves as a grpc::Status with a precise code and a
// google.rpc.Status in its details (ToGrpcStatus, portcullis/v1/refusal_status.h). Every call, accepted or refused,
// appends an audit record, and the response is sent only once that record is
// durable. Thread-safe; no global lock per message.
#ifndef PORTCULLIS_GATEWAY_SERVICE_EXCHANGE_SERVICE_H_
#define PORTCULLIS_GATEWAY_SERVICE_EXCHANGE_SERVICE_H_

#include <memory>

#include "gateway/audit/audit_log.h"
#include "gateway/config/config.h"
#include "gateway/delivery/dispatcher.h"
#include "gateway/service/acceptance.h"
#include "gateway/service/authenticate.h"
#include "gateway/service/officer_identity.h"
#include "gateway/service/dispatcher_handoff.h"
#include "gateway/service/unary_call.h"
#include "gateway/store/message_store.h"
#include "portcullis/v1/exchange.grpc.pb.h"

namespace portcullis {

// Every method is registered raw (bytes in, bytes out): the request is parsed
// once in ServeUnary / Receive, so a request that does not parse is refused
// INVALID_ARGUMENT MALFORMED_REQUEST (and audited) instead of gRPC's own
// UNIMPLEMENTED, and unknown fields are refused at any depth
// (gateway/policy/wire_request.h) before any handler sees the request.
using RawExchangeService = v1::Exchange::WithRawCallbackMethod_Submit<
    v1::Exchange::WithRawCallbackMethod_Track<v1::Exchange::WithRawCallbackMethod_Acknowledge<
        v1::Exchange::WithRawCallbackMethod_Receive<v1::Exchange::WithRawCallbackMethod_Confirm<
            v1::Exchange::WithRawCallbackMethod_ListCase<v1::Exchange::Service>>>>>>;

class ExchangeService final : public RawExchangeService {
 public:
  // Pointers must outlive the service.
  // `officers` (may be null: no party's officers are verified) must outlive the service.
  // `recorder` null: the pipeline's PairedAcceptance (acceptance_recorder.h).
  ExchangeService(std::shared_ptr<const Config> config, MessageStore* store, AuditLog* audit,
                  Dispatcher* dispatcher, const OfficerIdentity* officers, AcceptanceRecorder* recorder = nullptr);

  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Track(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Acknowledge(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Receive(grpc::CallbackServerContext* context,
                                                      const grpc::ByteBuffer* request) override;
  grpc::ServerUnaryReactor* Confirm(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListCase(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;

 private:
  // Parses the request, then runs `handler`, which finishes `call`.
  template <class Request, class Response>
  grpc::ServerUnaryReactor* ServeUnary(grpc::CallbackServerContext* context, const grpc::ByteBuffer* in,
                                       grpc::ByteBuffer* out, const char* action,
                                       void (ExchangeService::*handler)(grpc::CallbackServerContext*,
                                                                        const Request*, Response*, UnaryCall*));
  // The refused record of a request that did not parse (or of an
  // unauthenticated caller: then *status is that refusal).
  AuditRecord UnparsedRecord(grpc::CallbackServerContext* context, const char* action, const absl::Status& refusal,
                             absl::Status* status);
  // A request that did not parse: audited as refused, then answered.
  void RefuseUnparsed(grpc::CallbackServerContext* context, const char* action, const absl::Status& refusal,
                      UnaryCall* call);

  void HandleSubmit(grpc::CallbackServerContext* context, const v1::SubmitRequest* request, v1::Receipt* receipt,
                    UnaryCall* reactor);
  void HandleTrack(grpc::CallbackServerContext* context, const v1::TrackRequest* request,
                   v1::TrackResponse* response, UnaryCall* reactor);
  void HandleAcknowledge(grpc::CallbackServerContext* context, const v1::AcknowledgeRequest* request,
                         v1::AcknowledgeResponse* response, UnaryCall* reactor);
  grpc::ServerWriteReactor<grpc::ByteBuffer>* HandleReceive(grpc::CallbackServerContext* context,
                                                            const v1::ReceiveRequest* request);
  void HandleConfirm(grpc::CallbackServerContext* context, const v1::ConfirmRequest* request,
                     v1::ConfirmResponse* response, UnaryCall* reactor);
  // Every message of a case the caller sent or is a recipient of, paged; a
  // consultation, so officer and justification are required and recorded.
  void HandleListCase(grpc::CallbackServerContext* context, const v1::ListCaseRequest* request,
                      v1::ListCaseResponse* response, UnaryCall* reactor);

  absl::StatusOr<const Party*> PullParty(grpc::CallbackServerContext& context, AuditRecord* record);
  absl::StatusOr<size_t> ConfirmThrough(const Party& party, const std::string& id, const char* field);

  std::shared_ptr<const Config> config_;
  MessageStore* store_;
  AuditLog* audit_;
  Dispatcher* dispatcher_;
  DispatcherHandoff handoff_;
  AcceptancePipeline acceptance_;
  const OfficerIdentity* officers_;  // Submit's steps: the service only translates to and from the wire.
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_EXCHANGE_SERVICE_H_
