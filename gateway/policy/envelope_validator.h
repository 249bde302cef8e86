// Structural validation of a submitted Envelope. Stateless and thread-safe.
//
// Every refusal is INVALID_ARGUMENT with a reason code and the field path,
// e.g. FIELD_REQUIRED at "envelope.justification.legal_basis". Reason codes:
// FIELD_REQUIRED, FIELD_FORMAT, FIELD_TOO_LONG, FIELD_VALUE, CLASSIFICATION_FORBIDDEN,
// DUPLICATE_RECIPIENT, RECIPIENT_IS_SENDER, CREATED_IN_FUTURE, ATTACHMENT_DIGEST_MISMATCH,
// FIELD_BLANK (optional text, also in CheckStatement, holding only white space), FIELD_OUT_OF_RANGE (times outside
// 0001..9999 or before 2000 for created_at, non-finite numbers, positions off the globe).
// Every string, repeated entry, time and number of the envelope is checked, at any depth.
#ifndef PORTCULLIS_GATEWAY_POLICY_ENVELOPE_VALIDATOR_H_
#define PORTCULLIS_GATEWAY_POLICY_ENVELOPE_VALIDATOR_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "gateway/config/config.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis {

struct ValidationContext {
  std::string sender;          // Authenticated sender party id.
  int64_t now_micros = 0;
  int max_clock_skew_seconds = 300;
};

absl::Status ValidateEnvelope(const v1::Envelope& envelope, const ValidationContext& ctx);

// The rules for an officer id, wherever one is given: the envelope's
// originating_officer and the officer of every RPC that takes one (Track,
// Acknowledge, ListCase, the Admin and Audit services). Empty is
// FIELD_REQUIRED when `required` (OK otherwise); at most 128 characters
// (FIELD_TOO_LONG) of letters, digits and . _ : - (FIELD_FORMAT: so no
// whitespace, control character or terminal escape).
absl::Status CheckOfficerId(const std::string& value, const std::string& field, bool required);

// Free text a caller states in an RPC (a justification, a decision's reason),
// by the envelope's free-text rules: empty is FIELD_REQUIRED when `required`,
// OK otherwise; only white space is FIELD_REQUIRED when `required`, FIELD_BLANK
// otherwise; longer than `max_bytes` is FIELD_TOO_LONG; a control character
// other than newline, tab and carriage return is FIELD_FORMAT.
absl::Status CheckStatement(const std::string& value, const std::string& field, bool required, size_t max_bytes);

// The envelope's body type, or nullopt when no body is set.
std::optional<BodyType> BodyTypeOf(const v1::Envelope& envelope);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_POLICY_ENVELOPE_VALIDATOR_H_
