// One unary call of a raw callback method (the Exchange service registers
// every method raw: gRPC 1.51's callback API would otherwise answer
// UNIMPLEMENTED for a request it cannot parse, before any handler runs). The
// request bytes are parsed once here (gateway/policy/wire_request.h); the
// handler fills the typed response and finishes the call through this object,
// which serializes the response, converts the status at the edge
// (ToGrpcStatus, with this call's id as incident id) and ends the call.
//
// Each call has a request id (16 hex digits), sent to the caller as initial
// metadata `portcullis-request-id` and stamped on the call's audit record.
// Lifetime: created by StartUnaryCall, deletes itself in Finish. Not
// thread-safe: one Finish per call.
#ifndef PORTCULLIS_GATEWAY_SERVICE_UNARY_CALL_H_
#define PORTCULLIS_GATEWAY_SERVICE_UNARY_CALL_H_

#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"

namespace google::protobuf {
class Message;
}

namespace portcullis {

inline constexpr char kRequestIdMetadata[] = "portcullis-request-id";

class UnaryCall {
 public:
  UnaryCall(const UnaryCall&) = delete;
  UnaryCall& operator=(const UnaryCall&) = delete;

  const std::string& request_id() const { return request_id_; }
  grpc::ServerUnaryReactor* reactor() const { return reactor_; }

  // Ends the call (and deletes this object): on OK the response is sent.
  void Finish(const grpc::Status& status);
  void Finish(const absl::Status& status);

 protected:
  UnaryCall(grpc::CallbackServerContext* context, grpc::ByteBuffer* out);
  virtual ~UnaryCall() = default;
  virtual const google::protobuf::Message& response_message() const = 0;

 private:
  grpc::ServerUnaryReactor* reactor_;
  grpc::ByteBuffer* out_;
  std::string request_id_;
};

template <class Request, class Response>
class TypedUnaryCall final : public UnaryCall {
 public:
  TypedUnaryCall(grpc::CallbackServerContext* context, grpc::ByteBuffer* out) : UnaryCall(context, out) {}
  Request request;
  Response response;

 private:
  const google::protobuf::Message& response_message() const override { return response; }
};

// The bytes of `in` parsed into `*out` with every contract check of
// ParseWireRequest (MALFORMED_REQUEST, UNKNOWN_FIELD, UNKNOWN_ENUM_VALUE).
absl::Status ParseByteBuffer(const grpc::ByteBuffer& in, google::protobuf::Message* out);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_UNARY_CALL_H_
