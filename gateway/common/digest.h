// SHA-256 helpers (OpenSSL). Thread-safe, no state.
#ifndef PORTCULLIS_GATEWAY_COMMON_DIGEST_H_
#define PORTCULLIS_GATEWAY_COMMON_DIGEST_H_

#include <string>
#include "absl/strings/string_view.h"

#include <google/protobuf/message_lite.h>

namespace portcullis {

// Lower-case hex SHA-256 of `data` (64 characters).
std::string Sha256Hex(absl::string_view data);

bool IsLowerHexSha256(absl::string_view s);

// Deterministic protobuf serialization (stable map order), the form whose
// digest the gateway records.
std::string DeterministicBytes(const google::protobuf::MessageLite& message);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_COMMON_DIGEST_H_
