// The one hex encoder: lower-case, two digits per byte, as every hash, id and
// signature the project writes (the audit log's chain and Merkle hashes,
// checkpoint signatures and key ids, delivery and request ids, attachment
// digests) and the \xNN / \u00NN escapes of its text output. Thread-safe.
#ifndef PORTCULLIS_UTIL_HEX_H_
#define PORTCULLIS_UTIL_HEX_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace portcullis {

// "00ff10" for the bytes 0x00 0xff 0x10.
std::string HexEncode(absl::string_view bytes);
std::string HexEncode(const unsigned char* data, size_t size);

// The two digits of one byte ("0a" for '\n').
inline std::string HexByte(unsigned char byte) { return HexEncode(&byte, 1); }

}  // namespace portcullis

#endif  // PORTCULLIS_UTIL_HEX_H_
