#include "gateway/service/caller.h"

#include "gateway/common/refusal.h"
#include "gateway/service/message_views.h"

namespace portcullis {

absl::Status CheckOfficerClaim(const std::optional<identity::VerifiedOfficer>& verified, const std::string& claimed,
                               absl::string_view field) {
  if (!verified.has_value() || claimed.empty() || claimed == verified->officer) return absl::OkStatus();
  return Refuse(absl::StatusCode::kPermissionDenied, "OFFICER_MISMATCH", field,
                "is not the officer the caller's assertion vouches for");
}

absl::StatusOr<std::string> ActingOfficer(const Caller& caller, const std::string& claimed, absl::string_view field,
                                          AuditRecord* record) {
  absl::Status claim = CheckOfficerClaim(caller.officer, claimed, field);
  if (!claim.ok() || !caller.officer.has_value()) {
    // Recorded as claimed (and clipped like every caller's text); a
    // mismatch's record shows the claim and, in its detail, the refusal.
    record->actor_officer = Clip(claimed, kMaxOfficer);
    record->officer_verified = false;
    if (!claim.ok()) return claim;
    return claimed;
  }
  record->actor_officer = caller.officer->officer;
  record->officer_verified = true;
  return caller.officer->officer;
}

}  // namespace portcullis
