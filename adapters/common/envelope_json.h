// Envelopes as JSON, in the proto3 JSON mapping with the proto's own field
// names ("message_id", "case_reference") and enums by name ("URGENT").
// Unknown fields are errors, so a misspelt field is never silently dropped.
// Pure functions apart from reading the file; thread-safe.
#ifndef PORTCULLIS_ADAPTERS_COMMON_ENVELOPE_JSON_H_
#define PORTCULLIS_ADAPTERS_COMMON_ENVELOPE_JSON_H_

#include <string>

#include <google/protobuf/message.h>

#include "absl/status/statusor.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis::adapters {

// Largest JSON file LoadEnvelopeJson reads (an 8 MiB envelope, base64 attachments).
inline constexpr size_t kMaxEnvelopeJsonBytes = 16 * 1024 * 1024;

// Parses `json` into `message` (any type, same rules); errors read
// "<source_name>: <parser message>" (INVALID_ARGUMENT).
absl::Status FromJson(const std::string& json, const std::string& source_name, google::protobuf::Message* message);

// Parses `json`; errors read "<source_name>: <parser message>" (INVALID_ARGUMENT).
absl::StatusOr<v1::Envelope> ParseEnvelopeJson(const std::string& json, const std::string& source_name);

// Reads and parses the file at `path`: NOT_FOUND if it cannot be opened,
// FAILED_PRECONDITION if it is not a regular file or is too large, DATA_LOSS
// on a read error, INVALID_ARGUMENT if it does not parse. Every error message
// starts with the path.
absl::StatusOr<v1::Envelope> LoadEnvelopeJson(const std::string& path);

// Pretty-printed JSON (two-space indent, proto field names, enums by name).
// Never fails for a message of a compiled-in type; returns "{}" otherwise.
std::string ToJson(const google::protobuf::Message& message);

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_ENVELOPE_JSON_H_
