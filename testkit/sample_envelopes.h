// Sample envelopes for tests and benchmarks (invented data).
#ifndef PORTCULLIS_TESTKIT_SAMPLE_ENVELOPES_H_
#define PORTCULLIS_TESTKIT_SAMPLE_ENVELOPES_H_

#include <string>
#include <vector>

#include "portcullis/v1/exchange.pb.h"

namespace portcullis::testing {

// A valid case referral from uk/border-force (as the demo's Border Force
// client sends it), case BF-2026-004512, created now, to `recipients`.
v1::Envelope SampleReferral(const std::string& message_id, const std::vector<std::string>& recipients = {"eu/europol"});

// A delivery (attempt 1, accepted now) of a short Border Force referral
// `message_id` to eu/europol, as the gateway pushes it.
v1::Delivery SampleDelivery(const std::string& delivery_id, const std::string& message_id = "BF-REF-1");

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTKIT_SAMPLE_ENVELOPES_H_
