#include "gateway/common/log.h"

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace portcullis {
namespace {

std::mutex& PrefixMutex() {
  static std::mutex mu;
  return mu;
}

std::string& Prefix() {
  static std::string* prefix = new std::string("portcullis: ");  // Never destroyed: logging at exit is safe.
  return *prefix;
}

}  // namespace

void SetLogReplica(absl::string_view replica_id) {
  std::lock_guard<std::mutex> lock(PrefixMutex());
  Prefix() = replica_id.empty() ? std::string("portcullis: ")
                                : "portcullis[" + std::string(replica_id) + "]: ";
}

std::string LogPrefix() {
  std::lock_guard<std::mutex> lock(PrefixMutex());
  return Prefix();
}

void LogLine(const char* format, ...) {
  std::string line = LogPrefix();
  va_list args;
  va_start(args, format);
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (n > 0) {
    const size_t at = line.size();
    line.resize(at + static_cast<size_t>(n) + 1);
    std::vsnprintf(&line[at], static_cast<size_t>(n) + 1, format, args);
    line.resize(at + static_cast<size_t>(n));
  }
  va_end(args);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace portcullis
