#include "tools/common/json_out.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace portcullis::tools {

std::string JsonText(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  // nlohmann escapes C0 controls but writes DEL raw; DEL can only be inside a string here.
  return absl::StrReplaceAll(text, {{"\x7f", "\\u007f"}});
}

namespace {

// `before`'s members, `key`: `value` (JSON text), then `after`'s members.
std::string Spliced(const Json& before, const std::string& key, const std::string& value, const Json& after) {
  std::string head = JsonText(before);
  head.pop_back();  // '}'
  std::string tail = JsonText(after);
  tail.erase(0, 1);  // '{'
  return absl::StrCat(head, head.size() > 1 ? "," : "", JsonText(Json(key)), ":", value,
                      tail.size() > 1 ? "," : "", tail);
}

}  // namespace

std::string JsonWithLines(const Json& before, const std::string& key, const std::vector<std::string>& lines,
                          const Json& after) {
  return Spliced(before, key, absl::StrCat("[", absl::StrJoin(lines, ","), "]"), after);
}

std::string JsonWithLine(const Json& before, const std::string& key, const std::string& line, const Json& after) {
  return Spliced(before, key, line, after);
}

Json ProtoJson(const google::protobuf::Message& message) {
  std::string text;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(message, &text, o).ok()) return Json::object();
  return ParsedJson(text);
}

Json ParsedJson(const std::string& text) {
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return Json(text);
  return value;
}

}  // namespace portcullis::tools
