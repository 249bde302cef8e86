// The one JSON writer of the tools (portcullis-audit, portcullis-admin,
// liaison, portcullis-submit): documents are built as nlohmann::ordered_json
// (members in insertion order) and written on one line, so no tool escapes
// JSON by hand. Text is written as UTF-8; bytes that are not UTF-8 become
// U+FFFD. The audit log's canonical record lines are not written here
// (gateway/audit/log_format.h: their bytes are hashed). Thread-safe.
#ifndef PORTCULLIS_TOOLS_COMMON_JSON_OUT_H_
#define PORTCULLIS_TOOLS_COMMON_JSON_OUT_H_

#include <string>

#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

namespace portcullis::tools {

using Json = nlohmann::ordered_json;

// `value` on one line, without a trailing newline.
std::string JsonText(const Json& value);

// A proto message as its proto JSON (proto field names, enums by name,
// fields in declaration order). {} if it cannot be printed.
Json ProtoJson(const google::protobuf::Message& message);

// JSON text (e.g. an audit record line) as a value; a string holding the
// text if it is not JSON.
Json ParsedJson(const std::string& text);

}  // namespace portcullis::tools

#endif  // PORTCULLIS_TOOLS_COMMON_JSON_OUT_H_
