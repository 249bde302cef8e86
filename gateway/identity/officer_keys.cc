#include "gateway/identity/officer_keys.h"

#include <dirent.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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

// Key files are tiny (an Ed25519 or P-256 SPKI PEM is under 200 bytes).
constexpr size_t kMaxKeyFileBytes = 64 * 1024;

struct Entry {
  std::string name;
  std::string path;
};

// Regular, non-hidden files of `dir`, sorted by name.
absl::StatusOr<std::vector<Entry>> ListDir(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot read officer key directory ", dir, ": ", std::strerror(errno)));
  }
  std::vector<Entry> out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    Entry entry{name, absl::StrCat(dir, "/", name)};
    struct stat st {};
    if (stat(entry.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out.push_back(std::move(entry));
  }
  closedir(d);
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

// The whole file (at most kMaxKeyFileBytes).
absl::StatusOr<std::string> ReadBytes(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  std::string out;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    out.append(buf, n);
    if (out.size() > kMaxKeyFileBytes) {
      std::fclose(f);
      return absl::InvalidArgumentError(absl::StrCat(path, ": larger than ", kMaxKeyFileBytes, " bytes"));
    }
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  return out;
}

absl::StatusOr<OfficerKey> ParseKeyFile(const Entry& e, const std::string& content) {
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
  BIO* bio = BIO_new_mem_buf(content.data(), static_cast<int>(content.size()));
  EVP_PKEY* pkey = bio == nullptr ? nullptr : PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ERR_clear_error();
  if (pkey == nullptr) return absl::InvalidArgumentError(absl::StrCat(e.path, ": not a PEM public key"));
  key.key.reset(pkey, EVP_PKEY_free);
  if (!KeyFitsAlgorithm(key.algorithm, pkey)) {  // A key verifies only the algorithm its name gives.
    return absl::InvalidArgumentError(absl::StrCat(e.path, ": the key is not a ",
                                                   key.algorithm == JwsAlgorithm::kEdDSA ? "Ed25519" : "P-256",
                                                   " key, as its name (", JwsAlgorithmName(key.algorithm), ") says"));
  }
  return key;
}

using File = ReloadingOfficerKeys::File;

// Every file of `entries`, each with its key or why it gives none. A file
// whose content is what `previous` loaded a key from keeps that key.
std::map<std::string, File> ReadFiles(const std::vector<Entry>& entries, const std::map<std::string, File>& previous) {
  std::map<std::string, File> files;
  for (const Entry& e : entries) {
    absl::StatusOr<std::string> content = ReadBytes(e.path);
    if (!content.ok()) {
      files.emplace(e.name, File{std::string(), content.status()});
      continue;
    }
    auto old = previous.find(e.name);
    if (old != previous.end() && old->second.key.ok() && old->second.content == *content) {
      files.emplace(e.name, old->second);
      continue;
    }
    absl::StatusOr<OfficerKey> key = ParseKeyFile(e, *content);
    files.emplace(e.name, File{*std::move(content), std::move(key)});
  }
  return files;
}

// The keys of the files that loaded; `problems` gets each file that did not
// and each key id two files name (neither is used).
std::shared_ptr<const OfficerKeySet> BuildSet(const std::string& dir, const std::map<std::string, File>& files,
                                              std::vector<std::string>* problems) {
  std::map<std::string, std::vector<std::string>> names_by_kid;
  for (const auto& [name, file] : files) {
    if (file.key.ok()) {
      names_by_kid[file.key->kid].push_back(name);
    } else {
      problems->emplace_back(file.key.status().message());
    }
  }
  std::map<std::string, OfficerKey> keys;
  for (const auto& [kid, names] : names_by_kid) {
    if (names.size() == 1) {
      keys.emplace(kid, *files.at(names.front()).key);
      continue;
    }
    problems->push_back(absl::StrCat(dir, "/", names.back(), ": key id '", kid, "' is used by two files (",
                                     absl::StrJoin(names, ", "), "); neither is used"));
  }
  return std::make_shared<const OfficerKeySet>(std::move(keys));
}

// Start-up: every file must load.
absl::StatusOr<std::shared_ptr<const OfficerKeySet>> LoadStrict(const std::string& dir,
                                                                std::map<std::string, File>* files) {
  absl::StatusOr<std::vector<Entry>> entries = ListDir(dir);
  if (!entries.ok()) return entries.status();
  *files = ReadFiles(*entries, {});
  for (const auto& [name, file] : *files) {
    if (!file.key.ok()) return file.key.status();
  }
  std::vector<std::string> problems;
  std::shared_ptr<const OfficerKeySet> set = BuildSet(dir, *files, &problems);
  if (!problems.empty()) return absl::InvalidArgumentError(problems.front());
  return set;
}

}  // namespace

const OfficerKey* OfficerKeySet::Find(const std::string& kid) const {
  auto it = keys_.find(kid);
  return it == keys_.end() ? nullptr : &it->second;
}

absl::StatusOr<std::shared_ptr<const OfficerKeySet>> LoadOfficerKeyDir(const std::string& dir) {
  std::map<std::string, File> files;
  return LoadStrict(dir, &files);
}

absl::StatusOr<std::unique_ptr<ReloadingOfficerKeys>> ReloadingOfficerKeys::Create(
    std::string dir, std::chrono::milliseconds check_interval) {
  std::unique_ptr<ReloadingOfficerKeys> keys(new ReloadingOfficerKeys(std::move(dir), check_interval));
  absl::StatusOr<std::shared_ptr<const OfficerKeySet>> set = LoadStrict(keys->dir_, &keys->files_);
  if (!set.ok()) return set.status();
  keys->current_ = std::move(*set);
  keys->last_check_ = std::chrono::steady_clock::now();
  return keys;
}

void ReloadingOfficerKeys::ReloadLocked() {
  last_check_ = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<Entry>> entries = ListDir(dir_);
  if (!entries.ok()) {
    // Fail closed: no file can be read, so no key is known to be still published.
    current_ = std::make_shared<const OfficerKeySet>(std::map<std::string, OfficerKey>());
    files_.clear();
    last_status_ = absl::Status(
        entries.status().code(),
        absl::StrCat(entries.status().message(), "; the party has no officer keys until it can be read"));
    return;
  }
  // Every file is read and compared by content (a same-size rewrite within
  // the mtime's granularity is still seen); unchanged keys are not parsed again.
  files_ = ReadFiles(*entries, files_);
  std::vector<std::string> problems;
  current_ = BuildSet(dir_, files_, &problems);
  last_status_ = absl::OkStatus();
  if (!problems.empty()) {
    last_status_ = absl::InvalidArgumentError(
        absl::StrCat(problems.size(), " officer key file(s) skipped: ", absl::StrJoin(problems, "; ")));
  }
}

std::shared_ptr<const OfficerKeySet> ReloadingOfficerKeys::Current() {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::chrono::steady_clock::now() - last_check_ >= interval_) ReloadLocked();
  return current_;
}

void ReloadingOfficerKeys::Refresh() {
  std::lock_guard<std::mutex> lock(mu_);
  ReloadLocked();
}

absl::Status ReloadingOfficerKeys::last_reload_status() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_status_;
}

}  // namespace portcullis::identity
