#include "gateway/audit/leaf_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace portcullis {
namespace {
constexpr uint64_t kLeafBytes = 32;

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat("leaf file ", what, " ", path, ": ", std::strerror(errno)));
}
}  // namespace

absl::StatusOr<std::unique_ptr<LeafFile>> LeafFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    absl::Status s = Errno("stat", path);
    ::close(fd);
    return s;
  }
  const uint64_t bytes = static_cast<uint64_t>(st.st_size);
  const uint64_t leaves = bytes / kLeafBytes;
  if (bytes % kLeafBytes != 0 && ::ftruncate(fd, static_cast<off_t>(leaves * kLeafBytes)) != 0) {
    absl::Status s = Errno("truncate", path);
    ::close(fd);
    return s;
  }
  return std::unique_ptr<LeafFile>(new LeafFile(path, fd, leaves));
}

LeafFile::~LeafFile() { ::close(fd_); }

absl::Status LeafFile::Append(const std::vector<merkle::Hash>& leaves) {
  if (leaves.empty()) return absl::OkStatus();
  std::string buf;
  buf.reserve(leaves.size() * kLeafBytes);
  for (const auto& h : leaves) buf.append(reinterpret_cast<const char*>(h.data()), h.size());
  off_t off = static_cast<off_t>(size_.load() * kLeafBytes);
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::pwrite(fd_, buf.data() + done, buf.size() - done, off + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path_);
    }
    done += static_cast<size_t>(n);
  }
  size_.fetch_add(leaves.size());
  return absl::OkStatus();
}

absl::Status LeafFile::Sync() {
  if (::fdatasync(fd_) != 0) return Errno("fdatasync", path_);
  return absl::OkStatus();
}

absl::Status LeafFile::Truncate(uint64_t leaves) {
  if (leaves >= size_.load()) return absl::OkStatus();
  if (::ftruncate(fd_, static_cast<off_t>(leaves * kLeafBytes)) != 0) return Errno("truncate", path_);
  size_.store(leaves);
  return absl::OkStatus();
}

absl::Status LeafFile::ReadLeaves(uint64_t begin, uint64_t end, std::vector<merkle::Hash>* out) const {
  if (begin > end || end > size_.load()) {
    return absl::OutOfRangeError(
        absl::StrCat("leaf file ", path_, ": leaves [", begin, ", ", end, ") beyond its ", size_.load()));
  }
  out->resize(end - begin);
  char* dst = reinterpret_cast<char*>(out->data());
  const size_t total = (end - begin) * kLeafBytes;
  size_t done = 0;
  while (done < total) {
    ssize_t n = ::pread(fd_, dst + done, total - done, static_cast<off_t>(begin * kLeafBytes + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("read", path_);
    }
    if (n == 0) return absl::DataLossError(absl::StrCat("leaf file ", path_, " is shorter than expected"));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace portcullis
