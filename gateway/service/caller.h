// Who a call comes from: the party its certificate names and, when its agency
// vouched for one, the officer (docs/officer-identity.md). The service edge
// establishes it (authenticate.h IdentifyCaller); the gRPC-free steps take it.
#ifndef PORTCULLIS_GATEWAY_SERVICE_CALLER_H_
#define PORTCULLIS_GATEWAY_SERVICE_CALLER_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/audit/audit_record.h"
#include "gateway/config/config.h"
#include "gateway/identity/assertion_verifier.h"

namespace portcullis {

struct Caller {
  const Party* party = nullptr;                      // From the verified certificate; never null.
  std::optional<identity::VerifiedOfficer> officer;  // From a verified assertion; nullopt: none sent.
};

// OK if `claimed` (a request's officer field, `field` its path) is the
// verified officer or none is verified; PERMISSION_DENIED OFFICER_MISMATCH
// otherwise. An empty claim with a verified officer is OK.
absl::Status CheckOfficerClaim(const std::optional<identity::VerifiedOfficer>& verified, const std::string& claimed,
                               absl::string_view field);

// The officer a request acts for: the verified one if the caller's assertion
// vouched for one (`claimed`, the request's field at `field`, must then be
// empty or the same: OFFICER_MISMATCH), else `claimed` as given. Records it
// on `record` (actor_officer, officer_verified), also when refused.
absl::StatusOr<std::string> ActingOfficer(const Caller& caller, const std::string& claimed, absl::string_view field,
                                          AuditRecord* record);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_CALLER_H_
