#include "adapters/common/envelope_json.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"

namespace portcullis::adapters {

absl::Status FromJson(const std::string& json, const std::string& source_name, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(json, message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ": ", status.message().ToString()));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Envelope> ParseEnvelopeJson(const std::string& json, const std::string& source_name) {
  v1::Envelope envelope;
  if (absl::Status s = FromJson(json, source_name, &envelope); !s.ok()) return s;
  return envelope;
}

absl::StatusOr<v1::Envelope> LoadEnvelopeJson(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(path, ": not a regular file"));
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxEnvelopeJsonBytes) {
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": larger than ", kMaxEnvelopeJsonBytes, " bytes; not an envelope"));
  }
  std::string json;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return absl::DataLossError(absl::StrCat(path, ": read error: ", std::strerror(err)));
    }
    if (n == 0) break;
    json.append(buffer, static_cast<size_t>(n));
    if (json.size() > kMaxEnvelopeJsonBytes) {
      close(fd);
      return absl::FailedPreconditionError(absl::StrCat(path, ": grew past ", kMaxEnvelopeJsonBytes, " bytes"));
    }
  }
  close(fd);
  return ParseEnvelopeJson(json, path);
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) return "{}";
  return out;
}

}  // namespace portcullis::adapters
