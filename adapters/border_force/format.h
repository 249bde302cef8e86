// Border Force's native "small-boat crossing referral" JSON, as its case
// system exports it, and its conversion to and from the exchange envelope
// (design step 1, docs/adapters.md). The format is documented in
// schema.json beside this file; this code is the authority.
#ifndef PORTCULLIS_ADAPTERS_BORDER_FORCE_FORMAT_H_
#define PORTCULLIS_ADAPTERS_BORDER_FORCE_FORMAT_H_

#include <string>

#include "absl/status/statusor.h"
#include "adapters/common/json_doc.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis::adapters::border_force {

// Validates a native referral and converts it to an envelope with a
// case_referral body. INVALID_ARGUMENT lists every problem found, one per
// line, as `file:line:col: field.path: rule`.
absl::StatusOr<v1::Envelope> ToEnvelope(const JsonDoc& doc);

// The native JSON of an envelope (e.g. for a Border Force inbox). Only
// case_referral bodies are supported (UNIMPLEMENTED otherwise); a marking,
// priority or grading the native format cannot express is INVALID_ARGUMENT.
// Not carried: europol_evaluation and attachments.
absl::StatusOr<std::string> FromEnvelope(const v1::Envelope& envelope);

}  // namespace portcullis::adapters::border_force

#endif  // PORTCULLIS_ADAPTERS_BORDER_FORCE_FORMAT_H_
