// The registry of native formats: maps a name from a party's adapter config
// ("border_force", "nca", "hoie", "europol", "fr_dnpaf") to its NativeFormat.
// It is the one place that knows every format (library
// portcullis_native_formats, above the five format libraries); the format
// interface itself (adapters/common/native_format.h) knows none.
#ifndef PORTCULLIS_ADAPTERS_REGISTRY_NATIVE_FORMATS_H_
#define PORTCULLIS_ADAPTERS_REGISTRY_NATIVE_FORMATS_H_

#include <string>
#include <string_view>
#include <vector>

#include "adapters/common/native_format.h"

namespace portcullis::adapters {

// The format called `name`, or nullptr.
const NativeFormat* FindNativeFormat(std::string_view name);
// Every registered format's name, sorted.
std::vector<std::string> NativeFormatNames();

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_REGISTRY_NATIVE_FORMATS_H_
