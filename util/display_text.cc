#include "util/display_text.h"

#include <cstdint>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "util/hex.h"
#include "util/utf8.h"

namespace portcullis {
namespace {

// Code points that a terminal acts on or that hide or reorder text.
bool Hidden(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200B || cp == 0x200C || cp == 0x200D ||
         cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2069) ||
         cp == 0xFEFF;
}

// Appends the escape for one unit of `text` at `i`; returns its length in input bytes.
size_t AppendUnit(absl::string_view text, size_t i, std::string* out) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  char buf[12];
  if (c >= 0x20 && c < 0x7F) {
    if (c == '\\') out->append("\\\\");
    else out->push_back(static_cast<char>(c));
    return 1;
  }
  if (c < 0x80) {  // C0 control or DEL.
    if (c == '\t') out->append("\\t");
    else if (c == '\n') out->append("\\n");
    else if (c == '\r') out->append("\\r");
    else absl::StrAppend(out, "\\x", HexByte(c));
    return 1;
  }
  uint32_t cp = 0;
  const size_t n = DecodeUtf8At(text, i, &cp);
  if (n == 0) {
    absl::StrAppend(out, "\\x", HexByte(c));
    return 1;
  }
  if (Hidden(cp)) {
    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
    out->append(buf);
  } else {
    out->append(text.data() + i, n);
  }
  return n;
}

}  // namespace

std::string DisplayText(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) i += AppendUnit(text, i, &out);
  return out;
}

std::string DisplayLines(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '\n') {
      out.push_back('\n');
      ++i;
    } else {
      i += AppendUnit(text, i, &out);
    }
  }
  return out;
}

std::string DisplayJson(absl::string_view json) {
  std::string out;
  out.reserve(json.size());
  char buf[12];
  for (size_t i = 0; i < json.size();) {
    const unsigned char c = static_cast<unsigned char>(json[i]);
    if (c == '\n' || (c >= 0x20 && c < 0x7F)) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t n = c < 0x80 ? 1 : DecodeUtf8At(json, i, &cp);
    if (c < 0x80) cp = c;
    if (n == 0) {
      out.append("\\ufffd");
      ++i;
    } else if (cp < 0x80 || Hidden(cp)) {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
      out.append(buf);
      i += n;
    } else {
      out.append(json.data() + i, n);
      i += n;
    }
  }
  return out;
}

std::string CsvCell(absl::string_view text) {
  std::string out = "\"";
  if (!text.empty() && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@' || text[0] == '\t' ||
                        text[0] == '\r')) {
    out.push_back('\'');
  }
  for (char c : DisplayText(text)) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace portcullis
