#include "adapters/common/inbox.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "adapters/common/envelope_json.h"

namespace portcullis::adapters {
namespace {

constexpr char kTempPrefix[] = ".tmp-";  // Never a valid id: ids have no '.'.
constexpr size_t kMaxIdLength = 128;

absl::Status SysError(int err, const std::string& what) { return absl::ErrnoToStatus(err, what); }

absl::Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError(errno, "write");
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

absl::Status Inbox::CheckDeliveryId(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("delivery id is empty");
  if (id.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(absl::StrCat("delivery id is longer than ", kMaxIdLength, " characters"));
  }
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return absl::InvalidArgumentError("delivery id may only contain [A-Za-z0-9_-]");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Inbox>> Inbox::Open(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("inbox directory is empty");
  std::error_code ec;
  const bool created = std::filesystem::create_directories(dir, ec);
  if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot create inbox ", dir, ": ", ec.message()));
  // Deliveries hold personal data: a new inbox is private to its owner (files are 0600 too).
  if (created) std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return SysError(errno, absl::StrCat("cannot open inbox ", dir));
  const std::string lock_path = dir + "/.lock";
  int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) {
    absl::Status s = SysError(errno, absl::StrCat("cannot open ", lock_path));
    close(dir_fd);
    return s;
  }
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(lock_fd);
    close(dir_fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat("inbox ", dir, " is in use by another process or Inbox"));
    }
    return SysError(err, absl::StrCat("cannot lock ", lock_path));
  }
  // Leftovers of a Store interrupted by a crash: never renamed, so never stored.
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kTempPrefix, 0) == 0) std::filesystem::remove(entry.path(), ec);
  }
  fsync(dir_fd);  // Make the directory entry of a newly created inbox durable too.
  return std::unique_ptr<Inbox>(new Inbox(dir, dir_fd, lock_fd));
}

Inbox::~Inbox() {
  close(lock_fd_);  // Releases the flock.
  close(dir_fd_);
}

std::string Inbox::PathFor(const std::string& delivery_id) const {
  return absl::StrCat(dir_, "/", delivery_id, ".json");
}

bool Inbox::Contains(const std::string& delivery_id) const {
  return CheckDeliveryId(delivery_id).ok() && Exists(PathFor(delivery_id));
}

absl::StatusOr<bool> Inbox::Store(const v1::Delivery& delivery) {
  if (absl::Status s = CheckDeliveryId(delivery.delivery_id()); !s.ok()) return s;
  const std::string path = PathFor(delivery.delivery_id());
  if (Exists(path)) return false;

  // Write and fsync outside the lock, so concurrent deliveries sync in parallel.
  std::string temp = absl::StrCat(dir_, "/", kTempPrefix, delivery.delivery_id(), "-XXXXXX");
  int fd = mkstemp(temp.data());
  if (fd < 0) return SysError(errno, absl::StrCat("cannot create a file in inbox ", dir_));
  absl::Status written = WriteAll(fd, ToJson(delivery) + "\n");
  if (written.ok() && fsync(fd) != 0) written = SysError(errno, "fsync");
  if (close(fd) != 0 && written.ok()) written = SysError(errno, "close");
  if (!written.ok()) {
    unlink(temp.c_str());
    return absl::Status(written.code(), absl::StrCat("cannot write ", temp, ": ", written.message()));
  }

  std::lock_guard<std::mutex> lock(mu_);
  if (Exists(path)) {  // Stored concurrently under the same id.
    unlink(temp.c_str());
    return false;
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    absl::Status s = SysError(errno, absl::StrCat("cannot rename into ", path));
    unlink(temp.c_str());
    return s;
  }
  if (fsync(dir_fd_) != 0) {
    // Not known to be durable: take it back so that a retry stores it again
    // rather than reporting a duplicate.
    absl::Status s = SysError(errno, absl::StrCat("cannot fsync inbox ", dir_));
    unlink(path.c_str());
    return s;
  }
  return true;
}

absl::StatusOr<v1::Delivery> Inbox::Load(const std::string& delivery_id) const {
  if (absl::Status s = CheckDeliveryId(delivery_id); !s.ok()) return s;
  const std::string path = PathFor(delivery_id);
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("delivery ", delivery_id, " is not in inbox ", dir_));
  std::stringstream text;
  text << in.rdbuf();
  v1::Delivery delivery;
  absl::Status parsed = FromJson(text.str(), path, &delivery);
  if (!parsed.ok()) return absl::DataLossError(parsed.message());
  return delivery;
}

}  // namespace portcullis::adapters
