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

namespace portcullis {

// The party a call comes from, decided from the verified peer certificate's
// URI SANs (AuthContext "peer_uri"): exactly one must name a configured
// party. UNAUTHENTICATED otherwise.
absl::StatusOr<const Party*> AuthenticatePeer(const grpc::ServerContextBase& context, const Config& config);

// AuthenticatePeer, then the party must be of `kind`, an operator (else
// PERMISSION_DENIED NOT_AN_OPERATOR) or an auditor (NOT_AN_AUDITOR): the
// Admin and Audit services' callers. Sets record->actor_party once the caller
// is known.
absl::Status AuthenticateAs(const grpc::ServerContextBase& context, const Config& config, PartyKind kind,
                            AuditRecord* record);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_AUTHENTICATE_H_
