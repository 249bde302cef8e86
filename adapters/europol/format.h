// Europol's native message record, as its secure message exchange and case
// management export it (design step 3, docs/adapters.md), and its conversion
// to and from the exchange envelope. Every body kind travels both ways: a
// Europol liaison officer's replies (REPLY), requests for information and
// case referrals to UK agencies, and the operational information, referrals
// and RFIs that land in Europol's inbox. The format is documented in
// schema.json and README.md beside this file; this code is the authority.
#ifndef PORTCULLIS_ADAPTERS_EUROPOL_FORMAT_H_
#define PORTCULLIS_ADAPTERS_EUROPOL_FORMAT_H_

#include "adapters/common/native_format.h"

namespace portcullis::adapters::europol {

// The format, registered as "europol" (NativeFormat: ToEnvelope validates a
// native record, FromEnvelope renders an envelope natively).
const NativeFormat& Format();

}  // namespace portcullis::adapters::europol

#endif  // PORTCULLIS_ADAPTERS_EUROPOL_FORMAT_H_
