// Decoding one UTF-8 sequence, strictly (no overlong forms, no surrogates,
// nothing above U+10FFFF). Shared by the audit log's JSON escaping and the
// tools' display escaping. Pure functions; thread-safe.
#ifndef PORTCULLIS_UTIL_UTF8_H_
#define PORTCULLIS_UTIL_UTF8_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace portcullis {

// Length (1 to 4) of the valid UTF-8 sequence at s[i], with its code point
// in *code_point; 0 if the bytes at i are not one. Requires i < s.size().
size_t DecodeUtf8At(absl::string_view s, size_t i, uint32_t* code_point);

}  // namespace portcullis

#endif  // PORTCULLIS_UTIL_UTF8_H_
