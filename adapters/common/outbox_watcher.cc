#include "adapters/common/outbox_watcher.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/common/describe.h"
#include "adapters/common/envelope_json.h"
#include "adapters/common/native_inbox.h"
#include "adapters/common/native_submit.h"
#include "portcullis/v1/refusal_status.h"

namespace portcullis::adapters {
namespace {

namespace fs = std::filesystem;

bool Transient(const grpc::Status& status) {
  const grpc::StatusCode code = status.error_code();
  if (code == grpc::StatusCode::UNAUTHENTICATED) {
    // The identity provider's new key not yet in the gateway's officer_keys_dir
    // (rotation lag), or clocks apart: the same record goes through later.
    std::optional<v1::Refusal> refusal = v1::RefusalInStatus(status);
    return refusal.has_value() &&
           (refusal->reason() == "ASSERTION_KEY_UNKNOWN" || refusal->reason() == "ASSERTION_EXPIRED");
  }
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED || code == grpc::StatusCode::ABORTED ||
         code == grpc::StatusCode::CANCELLED || code == grpc::StatusCode::INTERNAL ||
         code == grpc::StatusCode::UNKNOWN;
}

absl::Time ModificationTime(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return absl::Now();
  return absl::TimeFromTimespec(st.st_mtim);
}

}  // namespace

OutboxWatcher::OutboxWatcher(OutboxWatcherOptions options) : options_(std::move(options)) {}

OutboxWatcher::~OutboxWatcher() { Stop(); }

void OutboxWatcher::Start() { worker_ = std::thread([this] { Run(); }); }

void OutboxWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void OutboxWatcher::Event(const std::string& what) const {
  if (options_.on_event) options_.on_event(what);
}

void OutboxWatcher::Run() {
  while (true) {
    ScanOnce();
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, options_.poll_interval, [this] { return stopping_; })) return;
  }
}

void OutboxWatcher::ScanOnce() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file(ec) && name[0] != '.' && entry.path().extension() == ".json") names.push_back(name);
  }
  std::sort(names.begin(), names.end());  // Case systems number their exports: keep their order.
  for (const std::string& name : names) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    // Case systems number their exports: a later one never overtakes one
    // that must be retried.
    if (!Handle(name)) return;
  }
}

bool OutboxWatcher::Handle(const std::string& name) {
  const std::string path = absl::StrCat(options_.dir, "/", name);
  std::vector<NativeRecord> records =
      PrepareBatch(*options_.format, {path}, options_.party, ModificationTime(path));
  NativeRecord& record = records[0];
  if (record.problem.ok()) {
    SubmitBatch(*options_.stub, records, false, absl::Seconds(30), options_.credentials);
    if (!record.status.ok() && Transient(record.status)) {
      Event(absl::StrCat(name, ": not submitted yet (", DescribeStatus(record.status), "); will retry"));
      return false;
    }
  }
  const bool sent = record.problem.ok() && record.status.ok();
  const std::string folder = absl::StrCat(options_.dir, sent ? "/sent" : "/rejected");
  const std::string stem = fs::path(name).stem().string();
  // The note first, then the move: a crash in between leaves the record to be tried again.
  const std::string note = sent ? ToJson(record.receipt)
                                : (record.problem.ok() ? DescribeStatus(record.status)
                                                       : std::string(record.problem.message())) + "\n";
  absl::Status written = WriteFileDurably(folder, stem + (sent ? ".receipt.json" : ".problems.txt"), note);
  std::error_code ec;
  if (written.ok()) fs::rename(path, absl::StrCat(folder, "/", name), ec);
  if (!written.ok() || ec) {
    Event(absl::StrCat(name, ": cannot file it in ", folder, ": ", written.ok() ? ec.message() : written.ToString()));
    return false;
  }
  if (sent) {
    sent_.fetch_add(1);
    Event(absl::StrCat(name, ": ", record.receipt.duplicate() ? "already accepted" : "accepted", " as ",
                       record.envelope.message_id(), " (audit index ", record.receipt.audit_index(), ")"));
  } else {
    rejected_.fetch_add(1);
    Event(absl::StrCat(name, ": rejected: ", note));
  }
  return true;
}

}  // namespace portcullis::adapters
