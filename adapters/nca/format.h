// The National Crime Agency's native records, as its intelligence system
// exports them: graded intelligence reports (INTREP, with the UK 3x5x2
// grading block), case referrals, requests for information (RFI, Directive
// 2023/977) and replies, and their conversion to and from the exchange
// envelope. The format is documented in schema.json and README.md beside
// this file; this code is the authority.
#ifndef PORTCULLIS_ADAPTERS_NCA_FORMAT_H_
#define PORTCULLIS_ADAPTERS_NCA_FORMAT_H_

#include "adapters/common/native_format.h"

namespace portcullis::adapters::nca {

// The format, registered as "nca" (NativeFormat: ToEnvelope validates a
// native record, FromEnvelope renders an envelope of any body kind natively).
const NativeFormat& Format();

}  // namespace portcullis::adapters::nca

#endif  // PORTCULLIS_ADAPTERS_NCA_FORMAT_H_
