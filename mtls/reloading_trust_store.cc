#include "mtls/reloading_trust_store.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace portcullis::mtls {
namespace {
std::string StatLine(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return path + ":absent;";
  return absl::StrCat(path, ":", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":", st.st_size, ":", st.st_ino, ";");
}
}  // namespace

absl::StatusOr<std::shared_ptr<ReloadingTrustStore>> ReloadingTrustStore::Create(
    std::string ca_bundle_path, std::string crl_dir, std::chrono::milliseconds check_interval) {
  std::shared_ptr<ReloadingTrustStore> r(
      new ReloadingTrustStore(std::move(ca_bundle_path), std::move(crl_dir), check_interval));
  r->fingerprint_ = r->Fingerprint();
  auto store = TrustStore::Load(r->ca_, r->crl_dir_);
  if (!store.ok()) return store.status();
  r->current_ = *store;
  r->next_check_ = std::chrono::steady_clock::now() + check_interval;
  return r;
}

std::string ReloadingTrustStore::Fingerprint() const {
  std::string fp = StatLine(ca_) + StatLine(crl_dir_);
  std::vector<std::string> names;
  if (DIR* dir = opendir(crl_dir_.c_str())) {
    while (dirent* ent = readdir(dir)) names.emplace_back(ent->d_name);
    closedir(dir);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) fp += StatLine(crl_dir_ + "/" + n);
  return fp;
}

std::shared_ptr<const TrustStore> ReloadingTrustStore::Current() {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (now < next_check_) return current_;
  next_check_ = now + interval_;
  std::string fp = Fingerprint();
  if (fp == fingerprint_) return current_;
  auto store = TrustStore::Load(ca_, crl_dir_);
  if (store.ok()) {
    current_ = *store;
    fingerprint_ = fp;
    last_status_ = absl::OkStatus();
  } else {
    // Keep serving with the previous store; retry on the next check (a file
    // may be half-written). The error is visible to operators.
    last_status_ = store.status();
  }
  return current_;
}

absl::Status ReloadingTrustStore::last_reload_status() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_status_;
}

}  // namespace portcullis::mtls
