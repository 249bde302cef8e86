// Verifies officer assertions: a compact JWS signed by the identity provider
// of the party the certificate authenticated (docs/officer-identity.md).
//
// gRPC-free: the service edge reads `authorization: Bearer <token>` and
// passes the token; the clock is passed in. Every refusal is
// UNAUTHENTICATED with an ASSERTION_* reason naming the check that failed
// (field "authorization"); what exactly was wrong goes to the caller's
// refusal words only where it discloses nothing (never key material).
#ifndef PORTCULLIS_GATEWAY_IDENTITY_ASSERTION_VERIFIER_H_
#define PORTCULLIS_GATEWAY_IDENTITY_ASSERTION_VERIFIER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/identity/officer_keys.h"

namespace portcullis::identity {

// The keys a party's identity provider signs with; nullptr if the party has
// none configured.
class OfficerKeyLookup {
 public:
  virtual ~OfficerKeyLookup() = default;
  virtual std::shared_ptr<const OfficerKeySet> KeysOf(const std::string& party) = 0;
};

struct AssertionRules {
  std::string audience;                  // The gateway's identity: `aud` must name it.
  int64_t max_lifetime_seconds = 900;    // `exp` at most this far ahead (plus the skew).
  int64_t max_clock_skew_seconds = 60;
  // The officer-id format rule (policy owns it): OK or a refusal.
  std::function<absl::Status(const std::string& officer_id)> check_officer_id;
};

struct VerifiedOfficer {
  std::string party;    // The issuer, equal to the authenticated party.
  std::string officer;  // `sub`.
  std::vector<std::string> roles;
  std::string kid;
  std::string jti;      // "" if the assertion had none.
  int64_t expires_at_seconds = 0;
};

// Remembers (party, jti) until the assertion expires, so a jti is accepted
// once in its lifetime. Bounded: when full (after dropping expired entries)
// a new jti is refused rather than letting an old one be forgotten early.
class JtiReplayCache {
 public:
  explicit JtiReplayCache(size_t max_entries = 200000) : max_entries_(max_entries) {}
  // OK and remembered; ALREADY_EXISTS if seen; RESOURCE_EXHAUSTED if full.
  absl::Status Remember(const std::string& party, const std::string& jti, int64_t expires_at_seconds,
                        int64_t now_seconds);
  size_t size();

 private:
  void DropExpiredLocked(int64_t now_seconds);

  const size_t max_entries_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, int64_t> seen_;  // -> expires at.
  std::multimap<int64_t, std::pair<std::string, std::string>> by_expiry_;
};

class AssertionVerifier {
 public:
  AssertionVerifier(AssertionRules rules, OfficerKeyLookup* keys, JtiReplayCache* replay)
      : rules_(std::move(rules)), keys_(keys), replay_(replay) {}

  absl::StatusOr<VerifiedOfficer> Verify(absl::string_view token, const std::string& party,
                                         int64_t now_micros) const;

 private:
  AssertionRules rules_;
  OfficerKeyLookup* keys_;
  JtiReplayCache* replay_;
};

}  // namespace portcullis::identity

#endif  // PORTCULLIS_GATEWAY_IDENTITY_ASSERTION_VERIFIER_H_
