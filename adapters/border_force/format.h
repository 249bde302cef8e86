// Border Force's native record JSON, as its case system exports it (also
// used by Border Security Command), and its conversion to and from the
// exchange envelope (docs/adapters.md). One record per message; its
// "record_type" chooses the body: CROSSING_REFERRAL (case referral),
// INTELLIGENCE (intelligence report), INFORMATION_REQUEST (RFI) or REPLY
// (response, correlated by "in_reply_to"). The format is documented in
// schema.json and README.md beside this file; this code is the authority.
#ifndef PORTCULLIS_ADAPTERS_BORDER_FORCE_FORMAT_H_
#define PORTCULLIS_ADAPTERS_BORDER_FORCE_FORMAT_H_

#include "adapters/common/native_format.h"

namespace portcullis::adapters::border_force {

// The format, registered as "border_force" (NativeFormat: ToEnvelope
// validates a native record, FromEnvelope renders an envelope natively).
const NativeFormat& Format();

}  // namespace portcullis::adapters::border_force

#endif  // PORTCULLIS_ADAPTERS_BORDER_FORCE_FORMAT_H_
