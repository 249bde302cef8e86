#include "tools/common/json_out.h"

#include <google/protobuf/util/json_util.h>

namespace portcullis::tools {

std::string JsonText(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

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
