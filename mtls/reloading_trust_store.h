// A TrustStore that follows its files: CA bundle and CRL directory are
// re-read when they change, so CAs and CRLs rotate without a restart.
//
// Current() is cheap and thread-safe. Files are checked at most once per
// `check_interval` when Current() is called, and at once by Refresh() (the
// gateway calls it on a timer, so a new CRL takes effect within one interval
// even when no handshake asks). A change that fails to load keeps the
// previous store (and reports the error through last_reload_status()).
//
// Every store that loads successfully gets the next generation number.
// Listeners are told about each new generation by Refresh() (on the thread
// that calls it), so that what was decided under the old store (open
// connections, streams) can be decided again. VerifyCached() answers a
// chain verification from a cache keyed by (chain hash, generation), so a
// per-call re-check of a peer's chain costs a hash and a map lookup.
#ifndef PORTCULLIS_MTLS_RELOADING_TRUST_STORE_H_
#define PORTCULLIS_MTLS_RELOADING_TRUST_STORE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mtls/trust_store.h"

namespace portcullis::mtls {

class ReloadingTrustStore {
 public:
  static absl::StatusOr<std::shared_ptr<ReloadingTrustStore>> Create(std::string ca_bundle_path, std::string crl_dir,
                                                                     std::chrono::milliseconds check_interval);
  // The one store of this process for these files and interval, created on
  // first use: the listener's handshakes, the per-call re-checks and the
  // gateway's outbound channels then agree on which store is in force.
  static absl::StatusOr<std::shared_ptr<ReloadingTrustStore>> Shared(const std::string& ca_bundle_path,
                                                                     const std::string& crl_dir,
                                                                     std::chrono::milliseconds check_interval);

  std::shared_ptr<const TrustStore> Current();
  // The generation of the store Current() returns: 1 after Create, +1 per
  // successful reload.
  uint64_t generation();
  std::chrono::milliseconds check_interval() const { return interval_; }

  // Checks the files now (whatever the interval) and reloads if they
  // changed; then tells the listeners if the generation in force is one they
  // have not been told about. Returns the generation in force.
  uint64_t Refresh();

  using Listener = std::function<void(uint64_t generation)>;
  // Returns an id for Unsubscribe. Listeners run on the thread calling
  // Refresh(), one at a time, and must not call Subscribe/Unsubscribe.
  uint64_t Subscribe(Listener listener);
  // Once it returns, the listener is not running and is never called again.
  void Unsubscribe(uint64_t id);

  // TrustStore::Verify of `certs_pem` (leaf first, then any intermediates)
  // plus `chain_pem` against the store in force, answered from a cache while
  // the generation is unchanged and the answer is younger than the check
  // interval (so a certificate or CRL that expires is noticed within it).
  bool VerifyCached(absl::string_view certs_pem, absl::string_view chain_pem, PeerRole role, VerifiedPeer* peer,
                    VerifyFailure* failure);

  absl::Status last_reload_status();

 private:
  ReloadingTrustStore(std::string ca, std::string crl, std::chrono::milliseconds interval)
      : ca_(std::move(ca)), crl_dir_(std::move(crl)), interval_(interval) {}
  std::string Fingerprint() const;  // mtimes and sizes of every watched file.
  // Requires mu_. Reloads if the files changed.
  void CheckLocked(std::chrono::steady_clock::time_point now);

  const std::string ca_;
  const std::string crl_dir_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::shared_ptr<const TrustStore> current_;
  uint64_t generation_ = 1;
  std::string fingerprint_;
  std::chrono::steady_clock::time_point next_check_;
  absl::Status last_status_;

  std::mutex listeners_mu_;  // Held while listeners run.
  std::map<uint64_t, Listener> listeners_;
  uint64_t next_listener_ = 1;
  uint64_t notified_generation_ = 1;

  struct Cached {
    bool ok = false;
    VerifiedPeer peer;
    VerifyFailure failure;
    std::chrono::steady_clock::time_point until;
  };
  std::mutex cache_mu_;
  uint64_t cache_generation_ = 1;
  std::unordered_map<std::string, Cached> cache_;  // Key: role byte + SHA-256 of the certificates.
};

}  // namespace portcullis::mtls

#endif  // PORTCULLIS_MTLS_RELOADING_TRUST_STORE_H_
