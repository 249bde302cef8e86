// Reading a request off the wire, once, before any handler sees it: the bytes
// must parse as the method's request message, and nothing outside the
// contract may ride along. Stateless, thread-safe, gRPC-free.
//
// Refusals (INVALID_ARGUMENT, field = the path in the request):
//   MALFORMED_REQUEST   the bytes are not a serialized request of this method
//   UNKNOWN_FIELD       a field number the contract does not define, at any
//                       depth (the message names the number and wire type)
//   UNKNOWN_ENUM_VALUE  an enum field holds a number the contract does not define
// Nothing refused here is stored, forwarded or written to the audit log.
#ifndef PORTCULLIS_GATEWAY_POLICY_WIRE_REQUEST_H_
#define PORTCULLIS_GATEWAY_POLICY_WIRE_REQUEST_H_

#include <string>

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace portcullis {

// Parses `bytes` into `*out` (cleared first) and checks it with
// CheckContractFields. Field paths start at the request's fields, e.g.
// "envelope.case_referral.crossing".
absl::Status ParseWireRequest(absl::string_view bytes, google::protobuf::Message* out);

// No unknown field and no undefined enum value anywhere in `message`.
// `path` is the message's own path ("" at the top).
absl::Status CheckContractFields(const google::protobuf::Message& message, const std::string& path = "");

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_POLICY_WIRE_REQUEST_H_
