#include "gateway/policy/route_policy.h"

#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"
#include "gateway/policy/envelope_validator.h"
#include "portcullis/v1/message_limits.h"

namespace portcullis {
namespace {
bool Matches(const std::set<std::string>& set, const std::string& id) {
  return set.count("*") > 0 || set.count(id) > 0;
}
}  // namespace

size_t StoredEnvelopeBytes(const v1::Envelope& envelope, const Party& sender) {
  return v1::StoredEnvelopeBytes(envelope, sender.id);
}

bool ClearedFor(v1::Classification clearance, v1::Classification marking) {
  return static_cast<int>(clearance) >= static_cast<int>(marking);
}

absl::Status CheckRoutes(const Config& config, const Party& sender, const v1::Envelope& envelope) {
  std::optional<BodyType> body = BodyTypeOf(envelope);
  if (!body) return Refuse(absl::StatusCode::kInvalidArgument, "FIELD_REQUIRED", "envelope.body", "is required");
  const v1::Classification marking = envelope.classification();
  if (sender.kind == PartyKind::kOperator) {  // A route of "*" must not let an operator send.
    return Refuse(absl::StatusCode::kPermissionDenied, "ROUTE_NOT_PERMITTED", "",
                  absl::StrCat("'", sender.id, "' is an operator and sends no exchanges"));
  }
  size_t stored_bytes = 0;  // Computed once, when a recipient is checked.
  for (int i = 0; i < envelope.recipients_size(); ++i) {
    const std::string field = absl::StrCat("envelope.recipients[", i, "]");
    const std::string& id = envelope.recipients(i);
    const Party* recipient = config.FindParty(id);
    if (recipient == nullptr) {
      return Refuse(absl::StatusCode::kInvalidArgument, "UNKNOWN_RECIPIENT", field,
                    absl::StrCat("'", id, "' is not a party of this exchange"));
    }
    if (recipient->kind == PartyKind::kAuditor) {
      return Refuse(absl::StatusCode::kPermissionDenied, "ROUTE_NOT_PERMITTED", field,
                    absl::StrCat("'", id, "' is an auditor and receives no exchanges"));
    }
    if (recipient->kind == PartyKind::kOperator) {
      return Refuse(absl::StatusCode::kPermissionDenied, "ROUTE_NOT_PERMITTED", field,
                    absl::StrCat("'", id, "' is an operator and receives no exchanges"));
    }
    if (!ClearedFor(recipient->clearance, marking)) {
      return Refuse(absl::StatusCode::kPermissionDenied, "RECIPIENT_NOT_CLEARED", field,
                    absl::StrCat("'", id, "' is cleared to ", v1::Classification_Name(recipient->clearance),
                                 ", the message is ", v1::Classification_Name(marking)));
    }
    bool route_for_type = false;
    bool permitted = false;
    for (const Route& route : config.routes) {
      if (!Matches(route.from, sender.id) || !Matches(route.to, id) || route.body_types.count(*body) == 0) continue;
      route_for_type = true;
      if (ClearedFor(route.max_classification, marking)) {
        permitted = true;
        break;
      }
    }
    if (!route_for_type) {
      return Refuse(absl::StatusCode::kPermissionDenied, "ROUTE_NOT_PERMITTED", field,
                    absl::StrCat("no route lets '", sender.id, "' send ", BodyTypeName(*body), " to '", id, "'"));
    }
    if (!permitted) {
      return Refuse(absl::StatusCode::kPermissionDenied, "CLASSIFICATION_ABOVE_ROUTE", field,
                    absl::StrCat("routes from '", sender.id, "' to '", id, "' carry at most a lower marking than ",
                                 v1::Classification_Name(marking)));
    }
    // What is accepted must be deliverable: never more than the recipient takes.
    if (stored_bytes == 0) stored_bytes = StoredEnvelopeBytes(envelope, sender);
    const size_t limit = config.MaxEnvelopeBytesFor(*recipient);
    if (stored_bytes > limit) {
      return Refuse(absl::StatusCode::kInvalidArgument, "MESSAGE_TOO_LARGE", field,
                    absl::StrCat("the envelope is ", stored_bytes, " bytes as stored; '", id, "' accepts at most ",
                                 limit, " bytes"));
    }
  }
  return absl::OkStatus();
}

}  // namespace portcullis
