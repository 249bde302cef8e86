// Who calls: the party named by the verified peer certificate, re-checked
// against the trust store in force (docs/architecture.md, "Revocation").
// Used by the Exchange, Audit and Admin services' edges.
#ifndef PORTCULLIS_GATEWAY_SERVICE_AUTHENTICATE_H_
#define PORTCULLIS_GATEWAY_SERVICE_AUTHENTICATE_H_

#include <grpcpp/server_context.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/audit/audit_record.h"
#include "gateway/config/config.h"
#include "gateway/service/caller.h"

namespace portcullis {

// The party a call comes from, decided from the verified peer certificate's
// URI SANs (AuthContext "peer_uri"): exactly one must name a configured
// party. UNAUTHENTICATED otherwise.
absl::StatusOr<const Party*> AuthenticatePeer(const grpc::ServerContextBase& context, const Config& config);

class OfficerIdentity;

// AuthenticatePeer, then the officer the call's assertion vouches for
// (`officers`, docs/officer-identity.md; nullptr: none is checked). Sets
// record->actor_party once the party is known (so a refused assertion's
// record names the party) and, for a verified officer, actor_officer and
// officer_verified. UNAUTHENTICATED ASSERTION_* for an assertion refused.
absl::StatusOr<Caller> IdentifyCaller(const grpc::ServerContextBase& context, const Config& config,
                                      const OfficerIdentity* officers, AuditRecord* record);
// The same for the Admin and Audit services: the party must be of `kind`, an
// operator (else PERMISSION_DENIED NOT_AN_OPERATOR) or an auditor
// (NOT_AN_AUDITOR), checked before the assertion.
absl::StatusOr<Caller> IdentifyCallerAs(const grpc::ServerContextBase& context, const Config& config,
                                        const OfficerIdentity* officers, PartyKind kind, AuditRecord* record);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_AUTHENTICATE_H_
