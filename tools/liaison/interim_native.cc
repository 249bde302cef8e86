// INTERIM, liaison branch only: the read side of native_inbox.h and the batch
// functions of native_submit.h, so that `liaison` links and its test runs
// before the lead's adapters/common/native_submit.cc and native_inbox.cc are
// on main. tools/CMakeLists.txt compiles this file only while those files do
// not exist; delete it once they do.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "adapters/common/envelope_json.h"
#include "adapters/common/json_doc.h"
#include "adapters/common/native_inbox.h"
#include "adapters/common/native_submit.h"
#include "adapters/common/native_util.h"

namespace portcullis::adapters {

#ifndef PORTCULLIS_HAVE_NATIVE_INBOX
std::string DeliveriesDir(const std::string& inbox) { return inbox + "/deliveries"; }
std::string NativeDir(const std::string& inbox) { return inbox + "/native"; }
std::string DecisionsDir(const std::string& inbox) { return inbox + "/decisions"; }

absl::Status WriteFileDurably(const std::string& dir, const std::string& name, const std::string& content) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  chmod(dir.c_str(), 0700);
  const std::string temp = absl::StrCat(dir, "/.tmp-", name, "-", getpid());
  const std::string path = absl::StrCat(dir, "/", name);
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", temp, ": ", strerror(errno)));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      close(fd);
      unlink(temp.c_str());
      return absl::InternalError(absl::StrCat("cannot write ", temp, ": ", strerror(e)));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    unlink(temp.c_str());
    return absl::InternalError(absl::StrCat("cannot fsync ", temp, ": ", strerror(errno)));
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    unlink(temp.c_str());
    return absl::InternalError(absl::StrCat("cannot rename into ", path, ": ", strerror(errno)));
  }
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || fsync(dfd) != 0) {
    if (dfd >= 0) close(dfd);
    return absl::InternalError(absl::StrCat("cannot fsync ", dir, ": ", strerror(errno)));
  }
  close(dfd);
  return absl::OkStatus();
}

std::vector<v1::Delivery> ListInbox(const std::string& inbox, std::vector<std::string>* problems) {
  std::vector<v1::Delivery> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(DeliveriesDir(inbox), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 6 || name[0] == '.' || name.substr(name.size() - 5) != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    v1::Delivery d;
    absl::Status s = FromJson(text.str(), entry.path().string(), &d);
    if (!s.ok()) {
      if (problems != nullptr) problems->emplace_back(s.message());
      continue;
    }
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const v1::Delivery& a, const v1::Delivery& b) {
    const auto& x = a.accepted_at();
    const auto& y = b.accepted_at();
    if (x.seconds() != y.seconds()) return x.seconds() < y.seconds();
    if (x.nanos() != y.nanos()) return x.nanos() < y.nanos();
    return a.delivery_id() < b.delivery_id();
  });
  return out;
}
#endif

#ifndef PORTCULLIS_HAVE_NATIVE_SUBMIT
std::vector<NativeRecord> PrepareBatch(const NativeFormat& format, const std::vector<std::string>& files,
                                       const std::string& party, absl::Time now) {
  std::vector<NativeRecord> records;
  for (const std::string& file : files) {
    NativeRecord r;
    r.file = file;
    absl::StatusOr<JsonDoc> doc = JsonDoc::Load(file);
    if (!doc.ok()) {
      r.problem = doc.status();
    } else {
      absl::StatusOr<v1::Envelope> env = format.ToEnvelope(*doc);
      if (!env.ok()) {
        r.problem = env.status();
      } else {
        r.envelope = *std::move(env);
        if (!r.envelope.has_created_at()) *r.envelope.mutable_created_at() = ToProtoTime(now);
        if (!r.envelope.sender().empty() && r.envelope.sender() != party) {
          r.problem = absl::InvalidArgumentError(absl::StrCat(file, ": sender \"", r.envelope.sender(),
                                                              "\" is not this party (\"", party, "\")"));
        }
      }
    }
    records.push_back(std::move(r));
  }
  return records;
}

size_t CountBad(const std::vector<NativeRecord>& records) {
  return static_cast<size_t>(
      std::count_if(records.begin(), records.end(), [](const NativeRecord& r) { return !r.problem.ok(); }));
}

size_t SubmitBatch(v1::Exchange::StubInterface& stub, std::vector<NativeRecord>& records, bool partial,
                   absl::Duration timeout) {
  if (!partial && CountBad(records) > 0) return 0;
  size_t accepted = 0;
  for (NativeRecord& r : records) {
    if (!r.problem.ok()) continue;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
    v1::SubmitRequest req;
    *req.mutable_envelope() = r.envelope;
    r.status = stub.Submit(&ctx, req, &r.receipt);
    r.submitted = true;
    if (r.status.ok()) ++accepted;
  }
  return accepted;
}
#endif

}  // namespace portcullis::adapters
