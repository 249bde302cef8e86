#include "gateway/identity/officer_keys.h"

#include <dirent.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace portcullis::identity {
namespace {

constexpr size_t kMaxKidBytes = 64;

bool IsKidText(const std::string& kid) {
  if (kid.empty() || kid.size() > kMaxKidBytes) return false;
  for (char c : kid) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

struct Entry {
  std::string name;
  std::string path;
  struct stat st {};
};

// Regular, non-hidden files of `dir`, sorted by name.
absl::StatusOr<std::vector<Entry>> ListDir(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return absl::NotFoundError(absl::StrCat("cannot read officer key directory ", dir));
  std::vector<Entry> out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    Entry entry{name, absl::StrCat(dir, "/", name), {}};
    if (stat(entry.path.c_str(), &entry.st) != 0 || !S_ISREG(entry.st.st_mode)) continue;
    out.push_back(std::move(entry));
  }
  closedir(d);
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

std::string Fingerprint(const std::vector<Entry>& entries) {
  std::string f;
  for (const Entry& e : entries) {
    absl::StrAppend(&f, e.name, "|", e.st.st_size, "|", e.st.st_mtim.tv_sec, ".", e.st.st_mtim.tv_nsec, "|",
                    e.st.st_ino, "\n");
  }
  return f;
}

absl::StatusOr<OfficerKey> ReadKeyFile(const Entry& e) {
  // <kid>.<alg>.pem
  const std::string bad_name = absl::StrCat(e.path, ": a key file is named <kid>.<EdDSA|ES256>.pem");
  if (!absl::EndsWith(e.name, ".pem")) return absl::InvalidArgumentError(bad_name);
  std::string stem = e.name.substr(0, e.name.size() - 4);
  size_t dot = stem.rfind('.');
  if (dot == std::string::npos) return absl::InvalidArgumentError(bad_name);
  OfficerKey key;
  key.kid = stem.substr(0, dot);
  if (!IsKidText(key.kid)) {
    return absl::InvalidArgumentError(
        absl::StrCat(e.path, ": key id '", key.kid, "' must be 1-64 of A-Z a-z 0-9 - _"));
  }
  absl::StatusOr<JwsAlgorithm> alg = ParseJwsAlgorithm(stem.substr(dot + 1));
  if (!alg.ok()) return absl::InvalidArgumentError(absl::StrCat(e.path, ": ", alg.status().message()));
  key.algorithm = *alg;
  FILE* f = std::fopen(e.path.c_str(), "r");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat("cannot open ", e.path));
  EVP_PKEY* pkey = PEM_read_PUBKEY(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (pkey == nullptr) return absl::InvalidArgumentError(absl::StrCat(e.path, ": not a PEM public key"));
  key.key.reset(pkey, EVP_PKEY_free);
  if (!KeyFitsAlgorithm(key.algorithm, pkey)) {  // A key verifies only the algorithm its name gives.
    return absl::InvalidArgumentError(absl::StrCat(e.path, ": the key is not a ",
                                                   key.algorithm == JwsAlgorithm::kEdDSA ? "Ed25519" : "P-256",
                                                   " key, as its name (", JwsAlgorithmName(key.algorithm), ") says"));
  }
  return key;
}

absl::StatusOr<std::shared_ptr<const OfficerKeySet>> LoadEntries(const std::vector<Entry>& entries) {
  std::map<std::string, OfficerKey> keys;
  for (const Entry& e : entries) {
    absl::StatusOr<OfficerKey> key = ReadKeyFile(e);
    if (!key.ok()) return key.status();
    if (keys.count(key->kid) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(e.path, ": key id '", key->kid, "' is used by two files"));
    }
    std::string kid = key->kid;
    keys.emplace(kid, std::move(*key));
  }
  return std::make_shared<const OfficerKeySet>(std::move(keys));
}

}  // namespace

const OfficerKey* OfficerKeySet::Find(const std::string& kid) const {
  auto it = keys_.find(kid);
  return it == keys_.end() ? nullptr : &it->second;
}

absl::StatusOr<std::shared_ptr<const OfficerKeySet>> LoadOfficerKeyDir(const std::string& dir) {
  absl::StatusOr<std::vector<Entry>> entries = ListDir(dir);
  if (!entries.ok()) return entries.status();
  return LoadEntries(*entries);
}

absl::StatusOr<std::unique_ptr<ReloadingOfficerKeys>> ReloadingOfficerKeys::Create(
    std::string dir, std::chrono::milliseconds check_interval) {
  std::unique_ptr<ReloadingOfficerKeys> keys(new ReloadingOfficerKeys(std::move(dir), check_interval));
  absl::StatusOr<std::vector<Entry>> entries = ListDir(keys->dir_);
  if (!entries.ok()) return entries.status();
  absl::StatusOr<std::shared_ptr<const OfficerKeySet>> set = LoadEntries(*entries);
  if (!set.ok()) return set.status();
  keys->current_ = std::move(*set);
  keys->fingerprint_ = Fingerprint(*entries);
  keys->last_check_ = std::chrono::steady_clock::now();
  return keys;
}

void ReloadingOfficerKeys::ReloadIfChangedLocked() {
  last_check_ = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<Entry>> entries = ListDir(dir_);
  if (!entries.ok()) {
    last_status_ = entries.status();
    return;
  }
  std::string fingerprint = Fingerprint(*entries);
  if (fingerprint == fingerprint_) return;
  absl::StatusOr<std::shared_ptr<const OfficerKeySet>> set = LoadEntries(*entries);
  if (!set.ok()) {
    last_status_ = set.status();  // Keep the keys in force; try again when the files change.
    fingerprint_ = fingerprint;
    return;
  }
  current_ = std::move(*set);
  fingerprint_ = std::move(fingerprint);
  last_status_ = absl::OkStatus();
}

std::shared_ptr<const OfficerKeySet> ReloadingOfficerKeys::Current() {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::chrono::steady_clock::now() - last_check_ >= interval_) ReloadIfChangedLocked();
  return current_;
}

void ReloadingOfficerKeys::Refresh() {
  std::lock_guard<std::mutex> lock(mu_);
  ReloadIfChangedLocked();
}

absl::Status ReloadingOfficerKeys::last_reload_status() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_status_;
}

}  // namespace portcullis::identity
