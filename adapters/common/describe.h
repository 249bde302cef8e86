// Statuses and envelopes in words, for people at a terminal. The wire form of
// a refusal (v1::RefusalStatus / v1::RefusalInStatus) lives next to the
// contract in portcullis/v1/refusal_status.h.
//
// DescribeStatus turns any status into one line, e.g.
//   PERMISSION_DENIED (ROUTE_NOT_PERMITTED) envelope.recipients[0]: no route lets ...
// Pure functions; thread-safe.
#ifndef PORTCULLIS_ADAPTERS_COMMON_DESCRIBE_H_
#define PORTCULLIS_ADAPTERS_COMMON_DESCRIBE_H_

#include <string>

#include <grpcpp/support/status.h>

#include "portcullis/v1/exchange.pb.h"

namespace portcullis::adapters {

// The code as a word ("OK", "PERMISSION_DENIED", ...; "CODE_<n>" if unknown).
std::string StatusCodeName(grpc::StatusCode code);

// "CODE (REASON) field: message" when the status carries a Refusal
// ("CODE (REASON): message" without a field); otherwise "CODE: message",
// or just "CODE" when there is no message. "OK" for an OK status.
std::string DescribeStatus(const grpc::Status& status);

// The envelope's body in words: "case referral", "intelligence report",
// "request for information", "response", or "no body".
std::string BodyTypeName(const v1::Envelope& envelope);

// One line for a stored delivery, e.g. "stored delivery 3f2a...: case referral
// BF-REF-1 case BF-2026-1 from uk/border-force, OFFICIAL_SENSITIVE".
std::string DescribeStoredDelivery(const v1::Delivery& delivery);

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_DESCRIBE_H_
