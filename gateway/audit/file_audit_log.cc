#include "gateway/audit/file_audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace portcullis {
namespace {

absl::Status ErrnoStatus(absl::string_view what, const std::string& path, int err) {
  return absl::UnavailableError(absl::StrCat("audit log ", what, " ", path, ": ", std::strerror(err)));
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status WriteAll(int fd, const std::string& data, const std::string& path) {
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

}  // namespace

absl::StatusOr<std::unique_ptr<FileAuditLog>> FileAuditLog::Open(const std::string& path) {
  bool existed = ::access(path.c_str(), F_OK) == 0;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  // Recovery: count complete lines, truncate a torn tail.
  uint64_t lines = 0;
  off_t last_newline_end = 0, pos = 0;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, pos);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus("read", path, err);
    }
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        ++lines;
        last_newline_end = pos + i + 1;
      }
    }
    pos += n;
  }
  if (pos != last_newline_end) {
    if (::ftruncate(fd, last_newline_end) != 0 || ::fsync(fd) != 0) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus("truncate torn tail of", path, err);
    }
  }
  if (::lseek(fd, 0, SEEK_END) < 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus("seek", path, err);
  }
  if (!existed) {
    // Make the new file's directory entry durable.
    int dfd = ::open(DirName(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || ::fsync(dfd) != 0) {
      int err = errno;
      if (dfd >= 0) ::close(dfd);
      ::close(fd);
      return ErrnoStatus("fsync directory of", path, err);
    }
    ::close(dfd);
  }
  return std::unique_ptr<FileAuditLog>(new FileAuditLog(path, fd, lines));
}

FileAuditLog::FileAuditLog(std::string path, int fd, uint64_t next_index)
    : path_(std::move(path)), fd_(fd), next_index_(next_index) {
  writer_ = std::thread([this] { WriterLoop(); });
}

FileAuditLog::~FileAuditLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  writer_.join();
  ::close(fd_);
}

void FileAuditLog::Append(AuditRecord record, Done done) {
  absl::Status failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_.ok() && !stopping_) {
      pending_.emplace_back(std::move(record), std::move(done));
      if (pending_.size() == 1) cv_.notify_one();
      return;
    }
    failed = failed_.ok() ? absl::UnavailableError("audit log is closing") : failed_;
  }
  done(failed);
}

absl::Status FileAuditLog::Health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

uint64_t FileAuditLog::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_index_;
}

uint64_t FileAuditLog::sync_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return syncs_;
}

void FileAuditLog::WriterLoop() {
  std::vector<std::pair<AuditRecord, Done>> batch;
  std::string buffer;
  for (;;) {
    uint64_t first_index;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // Stopping and drained.
      batch.swap(pending_);
      first_index = next_index_;
    }
    buffer.clear();
    uint64_t index = first_index;
    for (auto& [record, done] : batch) {
      record.index = index++;
      if (record.time_micros == 0) record.time_micros = NowMicros();
      buffer.append(ToJsonLine(record));
      buffer.push_back('\n');
    }
    absl::Status status = WriteAll(fd_, buffer, path_);
    if (status.ok() && ::fdatasync(fd_) != 0) status = ErrnoStatus("fdatasync", path_, errno);
    if (!status.ok()) {
      // A partial write leaves a torn tail that recovery truncates; nothing
      // in this batch was acknowledged. The failure is sticky.
      std::lock_guard<std::mutex> lock(mu_);
      failed_ = status;
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      next_index_ = index;
      ++syncs_;
    }
    for (auto& [record, done] : batch) {
      if (status.ok()) {
        done(record.index);
      } else {
        done(status);
      }
    }
    batch.clear();
  }
}

}  // namespace portcullis
