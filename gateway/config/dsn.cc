#include "gateway/config/dsn.h"

#include <libpq-fe.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace portcullis {
namespace {

constexpr char kHidden[] = "***";

bool IsSecretKey(absl::string_view key) { return key == "password" || key == "sslpassword"; }

bool IsUri(absl::string_view dsn) {
  return absl::StartsWith(dsn, "postgresql://") || absl::StartsWith(dsn, "postgres://");
}

bool IsSpace(char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); }

// keyword = value pairs, as libpq's conninfo_parse reads them.
std::string RedactKeywordValue(absl::string_view in) {
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    size_t start = i;
    while (i < in.size() && IsSpace(in[i])) ++i;
    absl::StrAppend(&out, in.substr(start, i - start));
    if (i == in.size()) break;
    size_t key_start = i;
    while (i < in.size() && in[i] != '=' && !IsSpace(in[i])) ++i;
    absl::string_view key = in.substr(key_start, i - key_start);
    size_t eq = i;
    while (eq < in.size() && IsSpace(in[eq])) ++eq;
    if (eq == in.size() || in[eq] != '=') return out + "...";
    size_t value_start = eq + 1;
    while (value_start < in.size() && IsSpace(in[value_start])) ++value_start;
    size_t value_end = value_start;
    if (value_end < in.size() && in[value_end] == '\'') {
      ++value_end;
      while (value_end < in.size() && in[value_end] != '\'') value_end += in[value_end] == '\\' ? 2 : 1;
      if (value_end >= in.size()) return out + std::string(key) + "=...";
      ++value_end;  // the closing quote
    } else {
      while (value_end < in.size() && !IsSpace(in[value_end])) value_end += in[value_end] == '\\' ? 2 : 1;
      value_end = std::min(value_end, in.size());
    }
    if (IsSecretKey(key)) {
      absl::StrAppend(&out, key, "=", kHidden);
    } else {
      absl::StrAppend(&out, in.substr(key_start, value_end - key_start));
    }
    i = value_end;
  }
  return out;
}

// postgresql://[user[:password]@][hosts][/dbname][?key=value&...]
std::string RedactUri(absl::string_view in) {
  const size_t scheme_end = in.find("://") + 3;
  const size_t query = in.find('?', scheme_end);
  absl::string_view before_query = in.substr(0, query);
  std::string out;
  // The user part ends at the last '@' (an unencoded '@' or '/' in a password
  // cannot hide the rest of it: everything up to the last '@' is redacted).
  const size_t at = before_query.rfind('@');
  if (at != absl::string_view::npos && at >= scheme_end) {
    absl::string_view userinfo = before_query.substr(scheme_end, at - scheme_end);
    const size_t colon = userinfo.find(':');
    out = std::string(in.substr(0, scheme_end));
    if (colon == absl::string_view::npos) {
      absl::StrAppend(&out, userinfo);
    } else {
      absl::StrAppend(&out, userinfo.substr(0, colon), ":", kHidden);
    }
    absl::StrAppend(&out, before_query.substr(at));
  } else {
    out = std::string(before_query);
  }
  if (query == absl::string_view::npos) return out;
  out += '?';
  bool first = true;
  for (absl::string_view param : absl::StrSplit(in.substr(query + 1), '&')) {
    if (!first) out += '&';
    first = false;
    const size_t eq = param.find('=');
    absl::string_view key = param.substr(0, eq);
    if (eq != absl::string_view::npos && IsSecretKey(key)) {
      absl::StrAppend(&out, key, "=", kHidden);
    } else {
      absl::StrAppend(&out, param);
    }
  }
  return out;
}

bool HoldsSecret(absl::string_view dsn) {
  if (absl::StrContains(dsn, "password")) return true;
  if (!IsUri(dsn)) return false;
  return RedactUri(dsn) != dsn;
}

// libpq's message with every "quoted" fragment replaced by "...".
std::string WithoutQuotedFragments(absl::string_view message) {
  std::string out;
  bool inside = false;
  for (char c : message) {
    if (c == '"') {
      out += '"';
      if (!inside) out += "...";
      inside = !inside;
    } else if (!inside) {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string RedactDsn(absl::string_view dsn) { return IsUri(dsn) ? RedactUri(dsn) : RedactKeywordValue(dsn); }

std::string CheckDsn(const std::string& dsn) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
  if (options != nullptr) {
    PQconninfoFree(options);
    return "";
  }
  std::string message = error != nullptr ? error : "out of memory";
  if (error != nullptr) PQfreemem(error);
  message = std::string(absl::StripTrailingAsciiWhitespace(message));
  return HoldsSecret(dsn) ? WithoutQuotedFragments(message) : message;
}

}  // namespace portcullis
