// The registry of native formats. Each format lives in its own folder
// (adapters/<name>/format.*, its own library) and is listed here once.
#include "adapters/registry/native_formats.h"

#include <algorithm>

#include "adapters/border_force/format.h"
#include "adapters/europol/format.h"
#include "adapters/fr_dnpaf/format.h"
#include "adapters/hoie/format.h"
#include "adapters/nca/format.h"

namespace portcullis::adapters {
namespace {

const NativeFormat* const* Formats(size_t* count) {
  static const NativeFormat* const kFormats[] = {
      &border_force::Format(),
      &hoie::Format(),
      &nca::Format(),
      &fr_dnpaf::Format(),
      &europol::Format(),
  };
  *count = sizeof kFormats / sizeof kFormats[0];
  return kFormats;
}

}  // namespace

const NativeFormat* FindNativeFormat(std::string_view name) {
  size_t count = 0;
  const NativeFormat* const* formats = Formats(&count);
  for (size_t i = 0; i < count; ++i) {
    if (formats[i]->name() == name) return formats[i];
  }
  return nullptr;
}

std::vector<std::string> NativeFormatNames() {
  size_t count = 0;
  const NativeFormat* const* formats = Formats(&count);
  std::vector<std::string> names;
  for (size_t i = 0; i < count; ++i) names.emplace_back(formats[i]->name());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace portcullis::adapters
