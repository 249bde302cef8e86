#include "adapters/common/native_inbox.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/common/envelope_json.h"
#include "adapters/common/json_doc.h"

namespace portcullis::adapters {
namespace {

namespace fs = std::filesystem;

absl::Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, "write");
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

bool Exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string DeliveriesDir(const std::string& inbox) { return inbox + "/deliveries"; }
std::string NativeDir(const std::string& inbox) { return inbox + "/native"; }
std::string DecisionsDir(const std::string& inbox) { return inbox + "/decisions"; }

absl::Status WriteFileDurably(const std::string& dir, const std::string& name, const std::string& content) {
  std::error_code ec;
  if (fs::create_directories(dir, ec)) fs::permissions(dir, fs::perms::owner_all, ec);
  if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  std::string temp = absl::StrCat(dir, "/.tmp-", name, "-XXXXXX");
  int fd = mkstemp(temp.data());
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot create a file in ", dir));
  absl::Status written = WriteAll(fd, content);
  if (written.ok() && fsync(fd) != 0) written = absl::ErrnoToStatus(errno, "fsync");
  if (close(fd) != 0 && written.ok()) written = absl::ErrnoToStatus(errno, "close");
  const std::string path = absl::StrCat(dir, "/", name);
  if (written.ok() && rename(temp.c_str(), path.c_str()) != 0) {
    written = absl::ErrnoToStatus(errno, absl::StrCat("rename into ", path));
  }
  if (!written.ok()) {
    unlink(temp.c_str());
    return absl::Status(written.code(), absl::StrCat("cannot write ", path, ": ", written.message()));
  }
  const int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", dir));
  const bool synced = fsync(dir_fd) == 0;
  const int err = errno;
  close(dir_fd);
  if (!synced) return absl::ErrnoToStatus(err, absl::StrCat("cannot fsync ", dir));
  return absl::OkStatus();
}

namespace {
constexpr char kUnrenderableUrl[] = "type.portcullis.gov.uk/portcullis.adapters.Unrenderable";
}  // namespace

absl::Status UnrenderableError(const std::string& message) {
  absl::Status status = absl::FailedPreconditionError(message);
  status.SetPayload(kUnrenderableUrl, absl::Cord("1"));
  return status;
}

bool IsUnrenderable(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kUnrenderableUrl).has_value();
}

absl::StatusOr<std::unique_ptr<NativeInbox>> NativeInbox::Open(const std::string& inbox, const NativeFormat& format) {
  absl::StatusOr<std::unique_ptr<Inbox>> deliveries = Inbox::Open(DeliveriesDir(inbox));
  if (!deliveries.ok()) return deliveries.status();
  // Temporary files of an interrupted render never became a native file.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(NativeDir(inbox), ec)) {
    if (entry.path().filename().string().rfind(".tmp-", 0) == 0) fs::remove(entry.path(), ec);
  }
  return std::unique_ptr<NativeInbox>(
      new NativeInbox(inbox, format, std::shared_ptr<Inbox>(std::move(*deliveries))));
}

absl::StatusOr<bool> NativeInbox::Store(const v1::Delivery& delivery) {
  absl::StatusOr<bool> stored = deliveries_->Store(delivery);
  if (!stored.ok()) return stored;
  // A duplicate whose earlier render failed is rendered now: what is
  // confirmed must have its native file (or its reason).
  if (absl::Status s = Complete(delivery, *stored); !s.ok()) return s;
  return *stored;
}

absl::Status NativeInbox::Complete(const v1::Delivery& delivery, bool is_new) {
  // A duplicate without its native file is rendered again: after a failed
  // write, or to refuse again one that cannot be rendered (Render is
  // deterministic), so a retry is answered as the first attempt was.
  const bool rendered = Exists(absl::StrCat(NativeDir(dir_), "/", delivery.delivery_id(), ".json"));
  return is_new || !rendered ? Render(delivery) : absl::OkStatus();
}

bool NativeInbox::Rendered(const std::string& delivery_id) const {
  const std::string native = absl::StrCat(NativeDir(dir_), "/", delivery_id);
  return Exists(native + ".json") || Exists(native + ".error.txt");
}

absl::Status NativeInbox::Render(const v1::Delivery& delivery) {
  const std::string& id = delivery.delivery_id();
  if (absl::Status s = Inbox::CheckDeliveryId(id); !s.ok()) return s;
  absl::StatusOr<std::string> native = format_.FromEnvelope(delivery.envelope());
  if (native.ok()) return WriteFileDurably(NativeDir(dir_), id + ".json", *native);
  // Kept all the same (deliveries/ holds it); say why it has no native form.
  const std::string why = absl::StrCat("delivery ", id, " (message ", delivery.envelope().message_id(), " from ",
                                       delivery.envelope().sender(), ") has no ", std::string(format_.name()),
                                       " rendering: ", native.status().message());
  if (absl::Status s = WriteFileDurably(NativeDir(dir_), id + ".error.txt", why + "\n"); !s.ok()) return s;
  return UnrenderableError(why);
}

absl::StatusOr<int> NativeInbox::Repair(std::vector<std::string>* problems) {
  int repaired = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(DeliveriesDir(dir_), ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".json" || name[0] == '.') continue;
    const std::string id = entry.path().stem().string();
    if (Rendered(id)) continue;
    // One unreadable file must not stop the party from receiving: say so, carry on.
    absl::StatusOr<v1::Delivery> delivery = deliveries_->Load(id);
    absl::Status s = delivery.ok() ? Render(*delivery) : delivery.status();
    if (!s.ok()) {
      if (problems != nullptr) problems->push_back(absl::StrCat(entry.path().string(), ": ", s.message()));
      continue;
    }
    ++repaired;
  }
  if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot list ", DeliveriesDir(dir_), ": ", ec.message()));
  return repaired;
}

absl::Status RecordConsultation(const std::string& inbox, const Consultation& c) {
  JsonOut line = JsonOut::Object();
  line.Set("time", JsonOut::String(absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone())));
  line.Set("party", JsonOut::String(c.party));
  line.Set("officer", JsonOut::String(c.officer));
  line.Set("justification", JsonOut::String(c.justification));
  line.Set("action", JsonOut::String(c.action));
  JsonOut ids = JsonOut::Array();
  for (const std::string& id : c.message_ids) ids.Push(JsonOut::String(id));
  line.Set("messages", std::move(ids));
  std::string text = line.DumpLine();
  text.push_back('\n');
  const std::string path = inbox + "/consultations.log";
  const bool created = !Exists(path);
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot record the consultation in ", path));
  const off_t start = lseek(fd, 0, SEEK_END);
  absl::Status written = WriteAll(fd, text);
  if (!written.ok() && start >= 0) (void)ftruncate(fd, start);  // No torn line for the next record.
  if (written.ok() && fdatasync(fd) != 0) written = absl::ErrnoToStatus(errno, "fdatasync");
  close(fd);
  if (written.ok() && created) {  // The new file's directory entry must be durable too.
    const int dir_fd = open(inbox.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0 || fsync(dir_fd) != 0) written = absl::ErrnoToStatus(errno, "fsync of the inbox");
    if (dir_fd >= 0) close(dir_fd);
  }
  if (!written.ok()) {
    return absl::Status(written.code(), absl::StrCat("cannot record the consultation in ", path, ": ",
                                                     written.message()));
  }
  return absl::OkStatus();
}

std::vector<v1::Delivery> ListInbox(const std::string& inbox, std::vector<std::string>* problems) {
  std::vector<v1::Delivery> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(DeliveriesDir(inbox), ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".json" || name[0] == '.') continue;
    absl::StatusOr<std::string> text = ReadSmallFile(entry.path().string());
    v1::Delivery delivery;
    absl::Status parsed = text.ok() ? FromJson(*text, entry.path().string(), &delivery) : text.status();
    if (!parsed.ok()) {
      if (problems != nullptr) problems->emplace_back(parsed.message());
      continue;
    }
    out.push_back(std::move(delivery));
  }
  std::stable_sort(out.begin(), out.end(), [](const v1::Delivery& a, const v1::Delivery& b) {
    const auto& x = a.accepted_at();
    const auto& y = b.accepted_at();
    if (x.seconds() != y.seconds()) return x.seconds() < y.seconds();
    if (x.nanos() != y.nanos()) return x.nanos() < y.nanos();
    return a.delivery_id() < b.delivery_id();
  });
  return out;
}

}  // namespace portcullis::adapters
