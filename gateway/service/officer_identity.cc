#include "gateway/service/officer_identity.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/common/log.h"
#include "gateway/common/refusal.h"
#include "gateway/policy/envelope_validator.h"

namespace portcullis {
namespace {

constexpr absl::string_view kBearer = "Bearer ";

absl::Status AssertionRefusal(absl::string_view reason, absl::string_view words) {
  return Refuse(absl::StatusCode::kUnauthenticated, reason, "authorization", words);
}

}  // namespace

absl::StatusOr<std::unique_ptr<OfficerIdentity>> OfficerIdentity::Create(const Config& config, std::string audience) {
  std::unique_ptr<OfficerIdentity> id(new OfficerIdentity());
  const auto interval = std::chrono::seconds(config.tls.reload_interval_seconds);
  for (const Party& party : config.parties) {
    if (party.officer_assertions == OfficerAssertions::kNotConfigured) continue;
    absl::StatusOr<std::unique_ptr<identity::ReloadingOfficerKeys>> keys =
        identity::ReloadingOfficerKeys::Create(party.officer_keys_dir, interval);
    if (!keys.ok()) {
      return absl::Status(keys.status().code(),
                          absl::StrCat("officer keys of party ", party.id, ": ", keys.status().message()));
    }
    id->keys_.emplace(party.id, *std::move(keys));
    id->reported_[party.id] = absl::OkStatus().ToString();
  }
  identity::AssertionRules rules;
  rules.audience = std::move(audience);
  rules.max_clock_skew_seconds = config.limits.max_clock_skew_seconds;
  rules.check_officer_id = [](const std::string& officer) { return CheckOfficerId(officer, "sub", true); };
  id->verifier_ = std::make_unique<identity::AssertionVerifier>(std::move(rules), id.get(), &id->replay_);
  return id;
}

std::shared_ptr<const identity::OfficerKeySet> OfficerIdentity::KeysOf(const std::string& party) {
  auto it = keys_.find(party);
  return it == keys_.end() ? nullptr : it->second->Current();
}

absl::StatusOr<std::optional<identity::VerifiedOfficer>> OfficerIdentity::VerifyHeader(
    const std::vector<std::string>& authorization, const Party& party, int64_t now_micros) const {
  if (authorization.empty()) {
    if (party.officer_assertions == OfficerAssertions::kRequired) {
      return AssertionRefusal("ASSERTION_REQUIRED",
                              "this party's calls must carry an officer assertion ('authorization: Bearer <JWS>')");
    }
    return std::optional<identity::VerifiedOfficer>();
  }
  if (authorization.size() != 1) return AssertionRefusal("ASSERTION_MALFORMED", "one authorization header at most");
  const std::string& value = authorization.front();
  if (!absl::StartsWithIgnoreCase(value, kBearer)) {  // The scheme is case-insensitive (RFC 7235).
    return AssertionRefusal("ASSERTION_MALFORMED", "the authorization header is 'Bearer <JWS>'");
  }
  absl::StatusOr<identity::VerifiedOfficer> officer =
      verifier_->Verify(absl::string_view(value).substr(kBearer.size()), party.id, now_micros);
  if (!officer.ok()) return officer.status();
  return std::optional<identity::VerifiedOfficer>(*std::move(officer));
}

absl::StatusOr<std::optional<identity::VerifiedOfficer>> OfficerIdentity::Verify(
    const grpc::ServerContextBase& context, const Party& party, int64_t now_micros) const {
  std::vector<std::string> values;
  auto range = context.client_metadata().equal_range("authorization");
  for (auto it = range.first; it != range.second; ++it) values.emplace_back(it->second.data(), it->second.size());
  return VerifyHeader(values, party, now_micros);
}

void OfficerIdentity::Refresh() {
  for (auto& [party, keys] : keys_) {
    keys->Refresh();
    // Said once per change of state, not at every tick.
    const std::string now = keys->last_reload_status().ToString();
    std::string& said = reported_[party];
    if (now == said) continue;
    LogLine("officer keys of %s: %s\n", party.c_str(),
                 keys->last_reload_status().ok() ? "reloaded" : now.c_str());
    said = now;
  }
}

absl::StatusOr<std::string> CertificateUriSan(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) return absl::InvalidArgumentError(absl::StrCat(path, ": not a PEM certificate"));
  std::vector<std::string> uris;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)), ASN1_STRING_length(uri));
  }
  GENERAL_NAMES_free(names);
  X509_free(cert);
  if (uris.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": has ", uris.size(), " URI SANs; the gateway's needs one"));
  }
  return uris.front();
}

}  // namespace portcullis
