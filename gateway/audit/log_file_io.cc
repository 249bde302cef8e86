#include "gateway/audit/log_file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "gateway/common/log.h"
#include "gateway/common/sync_dir.h"

namespace portcullis::audit_file {

absl::Status ErrnoStatus(absl::string_view what, const std::string& path, int err) {
  return absl::UnavailableError(absl::StrCat("audit log ", what, " ", path, ": ", std::strerror(err)));
}

absl::StatusOr<int> OpenForAppend(const std::string& path) {
  bool existed = ::access(path.c_str(), F_OK) == 0;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  if (!existed) {
    absl::Status s = SyncParentDir(path);
    if (!s.ok()) {
      ::close(fd);
      return s;
    }
  }
  return fd;
}

absl::Status TruncateTornLine(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::OkStatus();
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  const size_t keep = content.rfind('\n') == std::string::npos ? 0 : content.rfind('\n') + 1;
  if (keep == content.size()) return absl::OkStatus();
  if (::truncate(path.c_str(), static_cast<off_t>(keep)) != 0) return ErrnoStatus("truncate torn tail of", path, errno);
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    return ErrnoStatus("fsync", path, err);
  }
  ::close(fd);
  LogLine("%s: truncated an incomplete last line (torn write)\n", path.c_str());
  return absl::OkStatus();
}

absl::Status AppendLineDurably(int fd, const std::string& line, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus("stat", path, errno);
  absl::Status s = WriteAll(fd, line, path);
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus("fsync", path, errno);
  if (!s.ok() && ::ftruncate(fd, st.st_size) != 0) {
    LogLine("cannot cut %s back after a failed write: %s\n", path.c_str(), std::strerror(errno));
  }
  return s;
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path, errno);
    }
    off += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace portcullis::audit_file
