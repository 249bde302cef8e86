// The public keys a party's identity provider signs officer assertions with.
//
// One directory per party; each file is one key, PEM SubjectPublicKeyInfo,
// named `<kid>.<alg>.pem` (alg: EdDSA or ES256). The name is the key's
// configuration: its id and the only algorithm it verifies. Every regular,
// non-hidden file must follow that rule; a file that does not, a key that
// does not parse, or a key whose type does not fit its algorithm fails the
// whole load with the file named (docs/officer-identity.md).
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

// Reads every key in `dir`. An empty directory is a valid, empty set (the
// party vouches for nobody until it publishes a key).
absl::StatusOr<std::shared_ptr<const OfficerKeySet>> LoadOfficerKeyDir(const std::string& dir);

// A key directory that follows its files, like the CRL directory: checked at
// most once per `check_interval` by Current(), and at once by Refresh(). A
// change that fails to load keeps the keys in force (last_reload_status()
// says why).
class ReloadingOfficerKeys {
 public:
  static absl::StatusOr<std::unique_ptr<ReloadingOfficerKeys>> Create(std::string dir,
                                                                    std::chrono::milliseconds check_interval);
  std::shared_ptr<const OfficerKeySet> Current();
  void Refresh();
  absl::Status last_reload_status();
  const std::string& dir() const { return dir_; }

 private:
  ReloadingOfficerKeys(std::string dir, std::chrono::milliseconds interval) : dir_(std::move(dir)), interval_(interval) {}
  void ReloadIfChangedLocked();

  const std::string dir_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::shared_ptr<const OfficerKeySet> current_;
  std::string fingerprint_;  // Names, sizes and mtimes of the files loaded.
  std::chrono::steady_clock::time_point last_check_;
  absl::Status last_status_;
};

}  // namespace portcullis::identity

#endif  // PORTCULLIS_GATEWAY_IDENTITY_OFFICER_KEYS_H_
