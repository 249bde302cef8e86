// Digests the gateway records: payload checks, delivery ids, deterministic
// serialization. SHA-256 itself is util/sha256.h. Thread-safe.
#ifndef PORTCULLIS_GATEWAY_COMMON_DIGEST_H_
#define PORTCULLIS_GATEWAY_COMMON_DIGEST_H_

#include <string>
#include "absl/strings/string_view.h"

#include <google/protobuf/message_lite.h>

#include "util/sha256.h"  // Sha256Into, Sha256Hex.

namespace portcullis {

bool IsLowerHexSha256(absl::string_view s);

// The stable id of one message's delivery to one recipient, the same on every
// retry (endpoints discard duplicates of an at-least-once push by it): the
// first 32 hex characters of SHA-256("sender\nmessage_id\nrecipient").
std::string DeliveryIdFor(absl::string_view sender, absl::string_view message_id, absl::string_view recipient);

// Deterministic protobuf serialization (stable map order), the form whose
// digest the gateway records.
std::string DeterministicBytes(const google::protobuf::MessageLite& message);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_COMMON_DIGEST_H_
