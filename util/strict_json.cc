#include "util/strict_json.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <exception>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace portcullis {
namespace {

using Json = nlohmann::json;

// Accepts every value (the check is the parser's); keeps the first error.
class ErrorCatcher : public nlohmann::json_sax<Json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    position_ = position;
    what_ = ex.what();
    return false;
  }

  std::size_t position() const { return position_; }
  const std::string& what() const { return what_; }

 private:
  std::size_t position_ = 0;
  std::string what_;
};

// nlohmann's "[json.exception.parse_error.101] parse error at line 2, column 3:
// syntax error while parsing value - invalid literal; last read: '...'" without
// its prefix (the place is given separately) or the text it last read (which
// may hold any bytes of the input).
std::string CleanMessage(std::string what) {
  if (size_t at = what.find("syntax error"); at != std::string::npos) {
    what.erase(0, at);
  } else if (size_t colon = what.find(": "); colon != std::string::npos) {
    what.erase(0, colon + 2);
  }
  const std::string last_read = "; last read: '";
  if (size_t start = what.find(last_read); start != std::string::npos) {
    const size_t end = what.find("'; expected ", start + last_read.size());
    what.erase(start, end == std::string::npos ? std::string::npos : end + 1 - start);
  }
  return what;
}

// What a person most likely wrote, for the usual non-JSON habits.
std::string Hint(absl::string_view text, size_t last, absl::string_view message) {
  if (last >= text.size()) return "";
  const char c = text[last];
  const absl::string_view rest = text.substr(last);
  if (c == '/') return "JSON has no comments";
  if (c == '\'') return "JSON strings and keys take double quotes";
  if (absl::StartsWith(rest, "NaN") || absl::StartsWith(rest, "Infinity")) {
    return "NaN and Infinity are not JSON numbers";
  }
  if (absl::StrContains(message, "while parsing object key") && (absl::ascii_isalpha(c) || c == '_')) {
    return "keys must be double-quoted strings";
  }
  if (c == '}' || c == ']') {
    size_t before = last;
    while (before > 0 && absl::ascii_isspace(static_cast<unsigned char>(text[before - 1]))) --before;
    if (before > 0 && text[before - 1] == ',') return "no comma after the last element";
  }
  return "";
}

}  // namespace

std::optional<JsonSyntaxError> CheckStrictJson(absl::string_view text) {
  ErrorCatcher catcher;
  bool ok = false;
  try {
    ok = Json::sax_parse(text.data(), text.data() + text.size(), &catcher, nlohmann::detail::input_format_t::json,
                         /*strict=*/true, /*ignore_comments=*/false);
  } catch (const std::exception& e) {  // Not expected: the handler never throws.
    return JsonSyntaxError{Location{}, absl::StrCat("cannot check: ", e.what())};
  }
  if (ok) return std::nullopt;
  // `position` counts the bytes read: the last one read is where it stopped.
  const size_t last = catcher.position() > 0 ? catcher.position() - 1 : 0;
  std::string message = CleanMessage(catcher.what());
  if (std::string hint = Hint(text, last, message); !hint.empty()) absl::StrAppend(&message, " (", hint, ")");
  return JsonSyntaxError{LocationAtOffset(text, last), std::move(message)};
}

}  // namespace portcullis
