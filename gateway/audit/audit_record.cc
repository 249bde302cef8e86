#include "gateway/audit/audit_record.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "util/utf8.h"

namespace portcullis {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid (or a line
// separator U+2028/U+2029, which some readers break lines at: escaped too).
size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  uint32_t cp = 0;
  const size_t n = DecodeUtf8At(s, i, &cp);
  if (cp == 0x2028 || cp == 0x2029) return 0;
  return n;
}

}  // namespace

void AppendJsonString(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    // Fast path: a run of printable ASCII that needs no escape, appended at once.
    size_t run = i;
    while (run < s.size()) {
      const unsigned char b = static_cast<unsigned char>(s[run]);
      if (b < 0x20 || b >= 0x7F || b == '"' || b == '\\') break;
      ++run;
    }
    if (run > i) {
      out->append(s.data() + i, run - i);
      i = run;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out->append(buf);
      ++i;
      continue;
    }
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      // Invalid or line-separating sequence: one escaped replacement per byte
      // (U+2028/2029 keep their identity as escapes).
      if (i + 2 < s.size() && c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
          (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
        out->append(static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029");
        i += 3;
      } else {
        out->append("\\ufffd");
        ++i;
      }
      continue;
    }
    out->append(s.data() + i, n);
    i += n;
  }
  out->push_back('"');
}

}  // namespace portcullis
