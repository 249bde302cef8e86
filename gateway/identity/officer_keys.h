// The public keys a party's identity provider signs officer assertions with.
//
// One directory per party; each file is one key, PEM SubjectPublicKeyInfo,
// named `<kid>.<alg>.pem` (alg: EdDSA or ES256). The name is the key's
// configuration: its id and the only algorithm it verifies. Every regular,
// non-hidden file must follow that rule; a file that does not, a key that
// does not parse, or a key whose type does not fit its algorithm fails the
// first load with the file named, and is skipped (and reported) by a reload
// (docs/officer-identity.md).
#ifndef PORTCULLIS_GATEWAY_IDENTITY_OFFICER_KEYS_H_
#define PORTCULLIS_GATEWAY_IDENTITY_OFFICER_KEYS_H_

#include <openssl/evp.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/identity/jws.h"

namespace portcullis::identity {

struct OfficerKey {
  std::string kid;
  JwsAlgorithm algorithm = JwsAlgorithm::kEdDSA;
  std::shared_ptr<EVP_PKEY> key;
};

class OfficerKeySet {
 public:
  explicit OfficerKeySet(std::map<std::string, OfficerKey> keys) : keys_(std::move(keys)) {}
  // nullptr if no key has this id.
  const OfficerKey* Find(const std::string& kid) const;
  size_t size() const { return keys_.size(); }

 private:
  std::map<std::string, OfficerKey> keys_;
};

// Reads every key in `dir`, failing on any file that does not load. An empty
// directory is a valid, empty set (the party vouches for nobody until it
// publishes a key).
absl::StatusOr<std::shared_ptr<const OfficerKeySet>> LoadOfficerKeyDir(const std::string& dir);

// A key directory that follows its files, like the CRL directory: checked at
// most once per `check_interval` by Current(), and at once by Refresh().
// Create() (start-up) fails on any file that does not load, naming it. A
// reload never keeps a key whose file is gone: it goes file by file (files
// compared by content, not by size and mtime), keeps unchanged keys, drops
// keys whose files were removed, adds new or changed files that load, and
// skips (and drops the key of) files that do not load, or two files naming
// one key id; last_reload_status() names each skipped file and why. A
// directory that vanished or cannot be read leaves the party with no keys
// (fail closed) until it can be read again.
class ReloadingOfficerKeys {
 public:
  static absl::StatusOr<std::unique_ptr<ReloadingOfficerKeys>> Create(std::string dir,
                                                                    std::chrono::milliseconds check_interval);
  std::shared_ptr<const OfficerKeySet> Current();
  void Refresh();
  absl::Status last_reload_status();
  const std::string& dir() const { return dir_; }

  // One file of the directory as last read: its content and what it gave.
  struct File {
    std::string content;
    absl::StatusOr<OfficerKey> key;
  };

 private:
  ReloadingOfficerKeys(std::string dir, std::chrono::milliseconds interval) : dir_(std::move(dir)), interval_(interval) {}
  void ReloadLocked();

  const std::string dir_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::shared_ptr<const OfficerKeySet> current_;
  std::map<std::string, File> files_;  // By file name: what current_ was built from.
  std::chrono::steady_clock::time_point last_check_;
  absl::Status last_status_;
};

}  // namespace portcullis::identity

#endif  // PORTCULLIS_GATEWAY_IDENTITY_OFFICER_KEYS_H_
