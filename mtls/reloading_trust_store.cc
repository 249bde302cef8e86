#include "mtls/reloading_trust_store.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include <openssl/evp.h>

#include "absl/strings/str_cat.h"

namespace portcullis::mtls {
namespace {

// Cached verifications per store; beyond this the cache starts again empty
// (a flood of distinct chains costs verifications, never memory).
constexpr size_t kMaxCached = 4096;

std::string StatLine(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return path + ":absent;";
  return absl::StrCat(path, ":", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":", st.st_size, ":", st.st_ino, ";");
}

// Role byte + SHA-256 of the certificates (lengths included, so the split
// between the two arguments is part of what is hashed).
std::string CacheKey(absl::string_view certs, absl::string_view chain, PeerRole role) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const uint64_t sizes[2] = {certs.size(), chain.size()};
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, sizes, sizeof sizes) == 1 && EVP_DigestUpdate(ctx, certs.data(), certs.size()) == 1 &&
            EVP_DigestUpdate(ctx, chain.data(), chain.size()) == 1 && EVP_DigestFinal_ex(ctx, md, &len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return "";  // Not cached.
  std::string key(1, role == PeerRole::kClient ? 'c' : 's');
  key.append(reinterpret_cast<const char*>(md), len);
  return key;
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

absl::StatusOr<std::shared_ptr<ReloadingTrustStore>> ReloadingTrustStore::Shared(
    const std::string& ca_bundle_path, const std::string& crl_dir, std::chrono::milliseconds check_interval) {
  using Key = std::tuple<std::string, std::string, int64_t>;
  static std::mutex mu;
  static std::map<Key, std::shared_ptr<ReloadingTrustStore>> stores;
  Key key{ca_bundle_path, crl_dir, static_cast<int64_t>(check_interval.count())};
  std::lock_guard<std::mutex> lock(mu);
  auto it = stores.find(key);
  if (it != stores.end()) return it->second;
  auto created = Create(ca_bundle_path, crl_dir, check_interval);
  if (!created.ok()) return created.status();
  stores.emplace(std::move(key), *created);
  return *created;
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

void ReloadingTrustStore::CheckLocked(std::chrono::steady_clock::time_point now) {
  next_check_ = now + interval_;
  std::string fp = Fingerprint();
  if (fp == fingerprint_) return;
  auto store = TrustStore::Load(ca_, crl_dir_);
  if (store.ok()) {
    current_ = *store;
    fingerprint_ = fp;
    ++generation_;
    last_status_ = absl::OkStatus();
  } else {
    // Keep serving with the previous store; retry on the next check (a file
    // may be half-written). The error is visible to operators.
    last_status_ = store.status();
  }
}

std::shared_ptr<const TrustStore> ReloadingTrustStore::Current() {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (now >= next_check_) CheckLocked(now);
  return current_;
}

uint64_t ReloadingTrustStore::generation() {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

uint64_t ReloadingTrustStore::Refresh() {
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    CheckLocked(std::chrono::steady_clock::now());
    generation = generation_;
  }
  std::lock_guard<std::mutex> lock(listeners_mu_);
  if (generation > notified_generation_) {
    notified_generation_ = generation;
    for (auto& [id, listener] : listeners_) listener(generation);
  }
  return generation;
}

uint64_t ReloadingTrustStore::Subscribe(Listener listener) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  uint64_t id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void ReloadingTrustStore::Unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  listeners_.erase(id);
}

bool ReloadingTrustStore::VerifyCached(absl::string_view certs_pem, absl::string_view chain_pem, PeerRole role,
                                       VerifiedPeer* peer, VerifyFailure* failure) {
  std::shared_ptr<const TrustStore> store;
  uint64_t generation;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now >= next_check_) CheckLocked(now);
    store = current_;
    generation = generation_;
  }
  const std::string key = CacheKey(certs_pem, chain_pem, role);
  if (!key.empty()) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (generation > cache_generation_) {
      cache_.clear();
      cache_generation_ = generation;
    }
    auto it = cache_.find(key);
    if (generation == cache_generation_ && it != cache_.end() && now < it->second.until) {
      if (it->second.ok) {
        *peer = it->second.peer;
      } else {
        *failure = it->second.failure;
      }
      return it->second.ok;
    }
  }
  Cached result;
  result.ok = store->Verify(certs_pem, chain_pem, role, &result.peer, &result.failure);
  result.until = now + interval_;
  const bool ok = result.ok;
  if (ok) {
    *peer = result.peer;
  } else {
    *failure = result.failure;
  }
  if (!key.empty()) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (generation == cache_generation_) {
      if (cache_.size() >= kMaxCached) cache_.clear();
      cache_[key] = std::move(result);
    }
  }
  return ok;
}

absl::Status ReloadingTrustStore::last_reload_status() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_status_;
}

}  // namespace portcullis::mtls
