#include "util/expand_env.h"

#include <cstdlib>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace portcullis {
namespace {

constexpr int kMaxEnvNesting = 8;

bool IsVarChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }

absl::StatusOr<std::string> ExpandEnvAt(absl::string_view in, int depth) {
  if (depth > kMaxEnvNesting) {
    return absl::InvalidArgumentError("environment defaults are nested too deeply");
  }
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] != '$' || i + 1 >= in.size() || (in[i + 1] != '$' && in[i + 1] != '{')) {
      out.push_back(in[i++]);
      continue;
    }
    if (in[i + 1] == '$') {
      out.push_back('$');
      i += 2;
      continue;
    }
    size_t end = i + 2;
    while (end < in.size() && IsVarChar(in[end])) ++end;
    const std::string name(in.substr(i + 2, end - i - 2));
    if (name.empty() || absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) {
      return absl::InvalidArgumentError(
          "malformed '${...}': expected a variable name ([A-Za-z_][A-Za-z0-9_]*) after '${'");
    }
    std::optional<absl::string_view> fallback;
    if (end < in.size() && in[end] == '}') {
      i = end + 1;
    } else if (in.substr(end, 2) == ":-") {
      size_t close = end + 2;
      int nesting = 0;
      for (; close < in.size(); ++close) {
        if (in[close] == '$' && close + 1 < in.size() && in[close + 1] == '{') {
          ++nesting;
          ++close;
        } else if (in[close] == '}') {
          if (nesting == 0) break;
          --nesting;
        }
      }
      if (close >= in.size()) {
        return absl::InvalidArgumentError(absl::StrCat("unterminated '${", name, ":-': missing '}'"));
      }
      fallback = in.substr(end + 2, close - end - 2);
      i = close + 1;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed '${", name, "': expected '}' or ':-default}' after the variable name"));
    }
    const char* value = std::getenv(name.c_str());
    if (value != nullptr && (*value != '\0' || !fallback.has_value())) {
      out += value;
    } else if (fallback.has_value()) {
      absl::StatusOr<std::string> expanded = ExpandEnvAt(*fallback, depth + 1);
      if (!expanded.ok()) return expanded.status();
      out += *expanded;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("environment variable ", name, " is not set (write ${",
                                                     name, ":-default} to give a default)"));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> ExpandEnv(absl::string_view in) { return ExpandEnvAt(in, 0); }

}  // namespace portcullis
