// Which officer a call acts for, as its agency vouches (docs/officer-identity.md):
// each party's identity-provider keys (reloaded like the CRLs), the verifier,
// and the rule that a request's officer field must be the verified officer.
// The service edge calls Verify with the call's `authorization` metadata.
#ifndef PORTCULLIS_GATEWAY_SERVICE_OFFICER_IDENTITY_H_
#define PORTCULLIS_GATEWAY_SERVICE_OFFICER_IDENTITY_H_

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/server_context.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/config/config.h"
#include "gateway/identity/assertion_verifier.h"
#include "gateway/service/caller.h"

namespace portcullis {

class OfficerIdentity : public identity::OfficerKeyLookup {
 public:
  // Loads the key directory of every party that has one; fails naming the
  // file that does not load. `audience` is the gateway's identity (its URI SAN).
  static absl::StatusOr<std::unique_ptr<OfficerIdentity>> Create(const Config& config, std::string audience);

  std::shared_ptr<const identity::OfficerKeySet> KeysOf(const std::string& party) override;

  // The officer the call's assertion vouches for. nullopt: no assertion, and
  // the party may call without one (optional, or not configured).
  // UNAUTHENTICATED ASSERTION_REQUIRED: none, and the party's are required.
  // UNAUTHENTICATED ASSERTION_*: an assertion that does not verify.
  absl::StatusOr<std::optional<identity::VerifiedOfficer>> Verify(const grpc::ServerContextBase& context,
                                                                  const Party& party, int64_t now_micros) const;
  // The same, from the `authorization` header's values.
  absl::StatusOr<std::optional<identity::VerifiedOfficer>> VerifyHeader(
      const std::vector<std::string>& authorization, const Party& party, int64_t now_micros) const;

  // Re-reads every key directory that changed (the gateway's timer).
  void Refresh();

 private:
  OfficerIdentity() = default;

  std::map<std::string, std::unique_ptr<identity::ReloadingOfficerKeys>> keys_;  // By party id.
  std::map<std::string, std::string> reported_;  // By party: the reload state last logged ("OK" at start).
  mutable identity::JtiReplayCache replay_;
  std::unique_ptr<identity::AssertionVerifier> verifier_;
};

// The one URI SAN of the PEM certificate at `path` (the gateway's identity,
// which assertions name as their audience).
absl::StatusOr<std::string> CertificateUriSan(const std::string& path);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_OFFICER_IDENTITY_H_
