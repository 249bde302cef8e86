// The strict JSON check for records people write by hand (the native JSON
// formats, adapters/common/json_doc.h): RFC 8259 only, so that no comment,
// unquoted key, single quote, trailing comma, NaN or other YAML or JavaScript
// extension passes because a lenient reader happened to accept it. Duplicate
// keys are not seen here (nlohmann::json keeps the last silently); the
// located read refuses them (AddDuplicateKeys in util/located_yaml.h).
//
// Thread-safe; never throws.
#ifndef PORTCULLIS_UTIL_STRICT_JSON_H_
#define PORTCULLIS_UTIL_STRICT_JSON_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "util/located_input.h"

namespace portcullis {

struct JsonSyntaxError {
  Location at;          // Where the parser stopped: the last character it read.
  std::string message;  // e.g. "syntax error while parsing object key - ... (JSON has no comments)"
};

// nullopt if `text` is one RFC 8259 JSON text; otherwise the first error.
std::optional<JsonSyntaxError> CheckStrictJson(absl::string_view text);

}  // namespace portcullis

#endif  // PORTCULLIS_UTIL_STRICT_JSON_H_
