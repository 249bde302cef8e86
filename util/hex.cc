#include "util/hex.h"

#include "absl/strings/escaping.h"

namespace portcullis {

std::string HexEncode(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

std::string HexEncode(const unsigned char* data, size_t size) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(data), size));
}

}  // namespace portcullis
