// Border Force's native "small-boat crossing referral" JSON, as its case
// system exports it, and its conversion to and from the exchange envelope
// (design step 1, docs/adapters.md). The format is documented in
// schema.json beside this file; this code is the authority.
#ifndef PORTCULLIS_ADAPTERS_BORDER_FORCE_FORMAT_H_
#define PORTCULLIS_ADAPTERS_BORDER_FORCE_FORMAT_H_

#include "adapters/common/native_format.h"

namespace portcullis::adapters::border_force {

// The format, registered as "border_force" (NativeFormat: ToEnvelope
// validates a native record, FromEnvelope renders an envelope natively).
const NativeFormat& Format();

}  // namespace portcullis::adapters::border_force

#endif  // PORTCULLIS_ADAPTERS_BORDER_FORCE_FORMAT_H_
