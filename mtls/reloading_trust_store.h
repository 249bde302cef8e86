// A TrustStore that follows its files: CA bundle and CRL directory are
// re-read when they change, so CAs and CRLs rotate without a restart.
//
// Current() is cheap and thread-safe. Files are checked at most once per
// `check_interval`; a change that fails to load keeps the previous store
// (and reports the error through last_reload_status()).
#ifndef PORTCULLIS_MTLS_RELOADING_TRUST_STORE_H_
#define PORTCULLIS_MTLS_RELOADING_TRUST_STORE_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mtls/trust_store.h"

namespace portcullis::mtls {

class ReloadingTrustStore {
 public:
  static absl::StatusOr<std::shared_ptr<ReloadingTrustStore>> Create(std::string ca_bundle_path, std::string crl_dir,
                                                                     std::chrono::milliseconds check_interval);
  std::shared_ptr<const TrustStore> Current();
  absl::Status last_reload_status();

 private:
  ReloadingTrustStore(std::string ca, std::string crl, std::chrono::milliseconds interval)
      : ca_(std::move(ca)), crl_dir_(std::move(crl)), interval_(interval) {}
  std::string Fingerprint() const;  // mtimes and sizes of every watched file.

  const std::string ca_;
  const std::string crl_dir_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::shared_ptr<const TrustStore> current_;
  std::string fingerprint_;
  std::chrono::steady_clock::time_point next_check_;
  absl::Status last_status_;
};

}  // namespace portcullis::mtls

#endif  // PORTCULLIS_MTLS_RELOADING_TRUST_STORE_H_
