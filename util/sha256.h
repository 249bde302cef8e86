// SHA-256 (OpenSSL) for the gateway, the adapters and the tools: one
// implementation. Thread-safe (per-thread digest contexts).
#ifndef PORTCULLIS_UTIL_SHA256_H_
#define PORTCULLIS_UTIL_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace portcullis {

// SHA-256 of the concatenation of `a` and `b` into out[32]. The digest is
// fetched from OpenSSL once and each thread reuses one context: no per-call
// algorithm lookup or allocation (3-4x faster than one-shot SHA256() for the
// short inputs of Merkle nodes).
void Sha256Into(absl::string_view a, absl::string_view b, unsigned char out[32]);

// Lower-case hex SHA-256 of `data` (64 characters).
std::string Sha256Hex(absl::string_view data);

}  // namespace portcullis

#endif  // PORTCULLIS_UTIL_SHA256_H_
