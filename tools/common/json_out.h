// The one JSON writer of the tools (portcullis-audit, portcullis-admin,
// liaison, portcullis-submit): documents are built as nlohmann::ordered_json
// (members in insertion order) and written on one line, so no tool escapes
// JSON by hand. Text is written as UTF-8; bytes that are not UTF-8 become
// U+FFFD; C0 controls and DEL are escaped (\u00XX), so no raw control byte
// reaches a screen. The audit log's canonical record lines are not written
// here (gateway/audit/log_format.h: their bytes are hashed); JsonWithLines
// embeds them byte for byte. Thread-safe.
#ifndef PORTCULLIS_TOOLS_COMMON_JSON_OUT_H_
#define PORTCULLIS_TOOLS_COMMON_JSON_OUT_H_

#include <string>
#include <vector>

#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

namespace portcullis::tools {

using Json = nlohmann::ordered_json;

// `value` on one line, without a trailing newline.
std::string JsonText(const Json& value);

// A proto message as its proto JSON (proto field names, enums by name,
// fields in declaration order). {} if it cannot be printed.
Json ProtoJson(const google::protobuf::Message& message);

// JSON text as a value; a string holding the text if it is not JSON.
Json ParsedJson(const std::string& text);

// One object: the members of `before`, then `key` holding `lines` (each
// already JSON: the audit log's record lines, kept byte for byte, as their
// hashes cover those bytes) as an array, then the members of `after`.
// JsonWithLine: `key` holds the one line itself. `before` and `after` must
// be objects.
std::string JsonWithLines(const Json& before, const std::string& key, const std::vector<std::string>& lines,
                          const Json& after = Json::object());
std::string JsonWithLine(const Json& before, const std::string& key, const std::string& line,
                         const Json& after = Json::object());

}  // namespace portcullis::tools

#endif  // PORTCULLIS_TOOLS_COMMON_JSON_OUT_H_
