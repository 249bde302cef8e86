// Home Office Immigration Enforcement's native casework records (returns and
// removals casework as the casework system exports them) and their conversion
// to and from the exchange envelope. One flat JSON record per message; its
// `record_type` (RETURN_REFERRAL, INTEL_REPORT, RFI, REPLY) chooses the body.
// The format is documented in schema.json and README.md beside this file;
// this code is the authority.
#ifndef PORTCULLIS_ADAPTERS_HOIE_FORMAT_H_
#define PORTCULLIS_ADAPTERS_HOIE_FORMAT_H_

#include "adapters/common/native_format.h"

namespace portcullis::adapters::hoie {

// The format, registered as "hoie" (NativeFormat: ToEnvelope validates a
// native record, FromEnvelope renders any envelope natively).
const NativeFormat& Format();

}  // namespace portcullis::adapters::hoie

#endif  // PORTCULLIS_ADAPTERS_HOIE_FORMAT_H_
