#include "gateway/identity/assertion_verifier.h"

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"
#include "gateway/identity/jws.h"
#include "util/sha256.h"
#include "util/status_macros.h"

namespace portcullis::identity {
namespace {

using nlohmann::json;

absl::Status Unauthenticated(absl::string_view reason, absl::string_view words) {
  return Refuse(absl::StatusCode::kUnauthenticated, reason, "authorization", words);
}

absl::Status Malformed(absl::string_view words) { return Unauthenticated("ASSERTION_MALFORMED", words); }

// A string claim: absent -> "", present but not a string -> error.
absl::StatusOr<std::string> StringClaim(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return std::string();
  if (!it->is_string()) return Malformed(absl::StrCat("claim '", name, "' must be a string"));
  return it->get<std::string>();
}

// A NumericDate claim (RFC 7519: seconds, may be fractional); absent -> nullopt.
absl::StatusOr<std::optional<int64_t>> TimeClaim(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return std::optional<int64_t>();
  if (!it->is_number()) return Malformed(absl::StrCat("claim '", name, "' must be a number of seconds"));
  double v = it->get<double>();
  if (!(v >= 0 && v < 253402300800.0)) return Malformed(absl::StrCat("claim '", name, "' is out of range"));
  return std::optional<int64_t>(static_cast<int64_t>(v));
}

absl::Status CheckAudience(const json& payload, const std::string& audience) {
  auto it = payload.find("aud");
  if (it == payload.end()) return Unauthenticated("ASSERTION_AUDIENCE", "claim 'aud' is required");
  if (it->is_string()) {
    if (it->get<std::string>() == audience) return absl::OkStatus();
  } else if (it->is_array()) {
    for (const json& a : *it) {
      if (!a.is_string()) return Malformed("claim 'aud' must be a string or an array of strings");
      if (a.get<std::string>() == audience) return absl::OkStatus();
    }
  } else {
    return Malformed("claim 'aud' must be a string or an array of strings");
  }
  return Unauthenticated("ASSERTION_AUDIENCE", "the assertion is not addressed to this gateway");
}

absl::StatusOr<std::vector<std::string>> Roles(const json& payload) {
  std::vector<std::string> roles;
  auto it = payload.find("roles");
  if (it == payload.end()) return roles;
  if (!it->is_array()) return Malformed("claim 'roles' must be an array of strings");
  for (const json& r : *it) {
    if (!r.is_string() || r.get<std::string>().empty()) return Malformed("claim 'roles' must hold non-empty strings");
    roles.push_back(r.get<std::string>());
  }
  return roles;
}

}  // namespace

JtiReplayCache::PartyEntries* JtiReplayCache::EntriesOf(const std::string& party) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = parties_.find(party);
  if (it != parties_.end()) return it->second.get();
  if (parties_.size() >= max_parties_) return nullptr;
  return parties_.emplace(party, std::make_unique<PartyEntries>()).first->second.get();
}

absl::Status JtiReplayCache::Remember(const std::string& party, const std::string& jti, int64_t expires_at_seconds,
                                      int64_t now_seconds) {
  PartyEntries* entries = EntriesOf(party);
  if (entries == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat("jti cache: more than ", max_parties_, " parties"));
  }
  Digest key;
  Sha256Into(absl::StrCat(party, absl::string_view("\0", 1)), jti, key.data());
  std::lock_guard<std::mutex> lock(entries->mu);
  entries->DropExpiredLocked(now_seconds);
  if (entries->seen.contains(key)) return absl::AlreadyExistsError("jti seen");
  if (entries->seen.size() >= quota_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("jti cache: party ", party, " has ", quota_, " unexpired assertions remembered"));
  }
  entries->seen.emplace(key, expires_at_seconds);
  entries->earliest = std::min(entries->earliest, expires_at_seconds);
  return absl::OkStatus();
}

size_t JtiReplayCache::size() {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (auto& [party, entries] : parties_) {
    std::lock_guard<std::mutex> entries_lock(entries->mu);
    n += entries->seen.size();
  }
  return n;
}

size_t JtiReplayCache::size(const std::string& party) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = parties_.find(party);
  if (it == parties_.end()) return 0;
  std::lock_guard<std::mutex> entries_lock(it->second->mu);
  return it->second->seen.size();
}

void JtiReplayCache::PartyEntries::DropExpiredLocked(int64_t now_seconds) {
  // An entry may go once its assertion can no longer be accepted (the caller
  // keeps entries a little beyond `exp` by its choice of expires_at). One
  // sweep of the table whenever the earliest entry has expired: at most once
  // a second per party, ~1 ms at the quota.
  if (earliest >= now_seconds) return;
  int64_t next = INT64_MAX;
  absl::erase_if(seen, [&](const auto& entry) {
    if (entry.second < now_seconds) return true;
    next = std::min(next, entry.second);
    return false;
  });
  earliest = next;
}

absl::StatusOr<VerifiedOfficer> AssertionVerifier::Verify(absl::string_view token, const std::string& party,
                                                          int64_t now_micros) const {
  absl::StatusOr<CompactJws> jws = ParseCompactJws(token);
  if (!jws.ok()) return Malformed(jws.status().message());

  // Header: the algorithm comes from the key's configuration, never from the token.
  absl::StatusOr<std::string> alg = StringClaim(jws->header, "alg");
  if (!alg.ok()) return alg.status();
  if (alg->empty()) return Unauthenticated("ASSERTION_ALGORITHM", "header 'alg' is required");
  if (!ParseJwsAlgorithm(*alg).ok()) {  // none, HS*, RS*: never, whatever key is named.
    return Unauthenticated("ASSERTION_ALGORITHM", "'alg' must be EdDSA or ES256");
  }
  if (jws->header.contains("crit")) return Malformed("header 'crit' names extensions this gateway does not support");
  absl::StatusOr<std::string> kid = StringClaim(jws->header, "kid");
  if (!kid.ok()) return kid.status();
  if (kid->empty()) return Unauthenticated("ASSERTION_KEY_UNKNOWN", "header 'kid' is required");
  std::shared_ptr<const OfficerKeySet> keys = keys_ == nullptr ? nullptr : keys_->KeysOf(party);
  const OfficerKey* key = keys == nullptr ? nullptr : keys->Find(*kid);
  if (key == nullptr) return Unauthenticated("ASSERTION_KEY_UNKNOWN", "'kid' names no officer key of this party");
  if (*alg != JwsAlgorithmName(key->algorithm)) {
    return Unauthenticated("ASSERTION_ALGORITHM",
                           absl::StrCat("key '", *kid, "' verifies ", JwsAlgorithmName(key->algorithm), " only"));
  }
  if (!VerifyJwsSignature(key->algorithm, key->key.get(), jws->signing_input, jws->signature)) {
    return Unauthenticated("ASSERTION_SIGNATURE", "the signature does not verify");
  }

  // Claims, in the order the contract lists them.
  const json& claims = jws->payload;
  absl::StatusOr<std::string> iss = StringClaim(claims, "iss");
  if (!iss.ok()) return iss.status();
  if (*iss != party) return Unauthenticated("ASSERTION_ISSUER", "'iss' is not the party the certificate names");
  PORTCULLIS_RETURN_IF_ERROR(CheckAudience(claims, rules_.audience));

  const int64_t now = now_micros / 1000000;
  const int64_t skew = rules_.max_clock_skew_seconds;
  absl::StatusOr<std::optional<int64_t>> exp = TimeClaim(claims, "exp");
  if (!exp.ok()) return exp.status();
  if (!exp->has_value()) return Unauthenticated("ASSERTION_EXPIRED", "claim 'exp' is required");
  if (**exp + skew <= now) return Unauthenticated("ASSERTION_EXPIRED", "the assertion has expired");
  if (**exp > now + rules_.max_lifetime_seconds + skew) {
    return Unauthenticated("ASSERTION_TOO_LONG_LIVED",
                           absl::StrCat("'exp' is more than ", rules_.max_lifetime_seconds, " s ahead"));
  }
  std::optional<int64_t> iat;
  for (const char* name : {"nbf", "iat"}) {
    absl::StatusOr<std::optional<int64_t>> t = TimeClaim(claims, name);
    if (!t.ok()) return t.status();
    if (t->has_value() && **t > now + skew) {
      return Unauthenticated("ASSERTION_EXPIRED", absl::StrCat("claim '", name, "' is in the future"));
    }
    if (std::string_view(name) == "iat") iat = *t;
  }
  // What the token was minted for, not what is left of it: a 24-hour token
  // in its last minutes is still too long-lived (no skew: both are the IdP's clock).
  if (iat.has_value() && **exp - *iat > rules_.max_lifetime_seconds) {
    return Unauthenticated("ASSERTION_TOO_LONG_LIVED",
                           absl::StrCat("'exp' is more than ", rules_.max_lifetime_seconds, " s after 'iat'"));
  }
  if (iat.has_value() && *iat > **exp) return Unauthenticated("ASSERTION_EXPIRED", "'iat' is after 'exp'");

  absl::StatusOr<std::string> sub = StringClaim(claims, "sub");
  if (!sub.ok()) return sub.status();
  if (sub->empty()) return Unauthenticated("ASSERTION_SUBJECT", "claim 'sub' (the officer id) is required");
  if (rules_.check_officer_id) {
    absl::Status format = rules_.check_officer_id(*sub);
    if (!format.ok()) return Unauthenticated("ASSERTION_SUBJECT", "claim 'sub' is not a valid officer id");
  }
  absl::StatusOr<std::vector<std::string>> roles = Roles(claims);
  if (!roles.ok()) return roles.status();
  absl::StatusOr<std::string> jti = StringClaim(claims, "jti");
  if (!jti.ok()) return jti.status();
  if (jti->size() > kMaxJtiBytes) return Malformed(absl::StrCat("claim 'jti' is longer than ", kMaxJtiBytes, " bytes"));

  if (!jti->empty()) {
    if (replay_ == nullptr) return Unauthenticated("ASSERTION_REPLAYED", "this gateway cannot check 'jti'");
    // Remembered until it could no longer be accepted: exp plus the skew.
    absl::Status fresh = replay_->Remember(party, *jti, **exp + skew, now);
    if (absl::IsAlreadyExists(fresh)) return Unauthenticated("ASSERTION_REPLAYED", "'jti' has been used before");
    if (!fresh.ok()) {
      // This party's quota only: other parties are not affected.
      std::cerr << "officer assertions: " << fresh.message() << "\n";
      return Refuse(absl::StatusCode::kUnavailable, "TEMPORARILY_UNAVAILABLE", "authorization",
                    "too many of this party's assertions in flight; retry shortly");
    }
  }
  VerifiedOfficer officer;
  officer.party = party;
  officer.officer = std::move(*sub);
  officer.roles = std::move(*roles);
  officer.kid = std::move(*kid);
  officer.jti = std::move(*jti);
  officer.expires_at_seconds = **exp;
  return officer;
}

}  // namespace portcullis::identity
