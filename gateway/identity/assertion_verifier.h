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

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
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

// The longest `jti` accepted (bytes); a longer one is ASSERTION_MALFORMED.
inline constexpr size_t kMaxJtiBytes = 128;

// Remembers (party, jti) until the assertion expires, so a jti is accepted
// once in its lifetime. Each party has its own quota and its own lock: a
// party at its quota (after dropping its expired entries) has its new jti
// refused rather than an old one forgotten early, and no other party is
// affected. An entry is the SHA-256 of party NUL jti and its expiry (40
// bytes in an open-addressing table, ~41-94 bytes with the table's headroom;
// about 11 MB for a party at the default quota). At most `max_parties`
// parties are tracked (only parties whose own identity-provider key signed
// reach the cache, so the configured parties), which bounds the whole:
// max_parties x quota entries.
class JtiReplayCache {
 public:
  static constexpr size_t kDefaultQuotaPerParty = 200000;
  static constexpr size_t kDefaultMaxParties = 64;
  explicit JtiReplayCache(size_t quota_per_party = kDefaultQuotaPerParty, size_t max_parties = kDefaultMaxParties)
      : quota_(quota_per_party), max_parties_(max_parties) {}
  // OK and remembered; ALREADY_EXISTS if seen; RESOURCE_EXHAUSTED if the
  // party is at its quota (or, beyond max_parties, a new party).
  absl::Status Remember(const std::string& party, const std::string& jti, int64_t expires_at_seconds,
                        int64_t now_seconds);
  size_t size();                           // Entries of every party.
  size_t size(const std::string& party);  // Entries of one.

 private:
  using Digest = std::array<unsigned char, 32>;
  struct PartyEntries {
    std::mutex mu;
    absl::flat_hash_map<Digest, int64_t> seen;  // -> expires at (seconds).
    int64_t earliest = INT64_MAX;                // No entry expires before this.
    void DropExpiredLocked(int64_t now_seconds);
  };
  PartyEntries* EntriesOf(const std::string& party);

  const size_t quota_;
  const size_t max_parties_;
  std::mutex mu_;  // Guards parties_ (the map, not the entries).
  std::map<std::string, std::unique_ptr<PartyEntries>> parties_;
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
