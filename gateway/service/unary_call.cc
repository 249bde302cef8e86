#include "gateway/service/unary_call.h"

#include <google/protobuf/message.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <vector>

#include "gateway/common/refusal.h"
#include "gateway/policy/wire_request.h"

namespace portcullis {

UnaryCall::UnaryCall(grpc::CallbackServerContext* context, grpc::ByteBuffer* out)
    : reactor_(context->DefaultReactor()), out_(out), request_id_(NewRequestId()) {
  context->AddInitialMetadata(kRequestIdMetadata, request_id_);
}

void UnaryCall::Finish(const grpc::Status& status) {
  grpc::Status final_status = status;
  if (status.ok()) {
    bool own_buffer = false;
    grpc::Status s = grpc::SerializationTraits<google::protobuf::Message>::Serialize(response_message(), out_,
                                                                                     &own_buffer);
    if (!s.ok()) final_status = ToGrpcStatus(absl::InternalError("cannot serialize the response"), request_id_);
  }
  grpc::ServerUnaryReactor* reactor = reactor_;
  delete this;
  reactor->Finish(final_status);
}

void UnaryCall::Finish(const absl::Status& status) { Finish(ToGrpcStatus(status, request_id_)); }

absl::Status ParseByteBuffer(const grpc::ByteBuffer& in, google::protobuf::Message* out) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (in.Dump(&slices).ok()) {
    bytes.reserve(in.Length());
    for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return ParseWireRequest(bytes, out);
}

}  // namespace portcullis
