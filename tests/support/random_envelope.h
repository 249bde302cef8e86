// Random, valid envelopes for property-style round-trip tests of the native
// formats (adapters/*/format.cc): every field that the gateway would accept is
// filled with random values, including the optional ones, so that a round
// trip native -> envelope -> native -> envelope exercises every field.
//
// Deterministic per seed. Strings use letters, digits, spaces, accents and
// JSON-special characters (quotes, backslashes, newlines) so that escaping is
// exercised too.
#ifndef PORTCULLIS_TESTS_SUPPORT_RANDOM_ENVELOPE_H_
#define PORTCULLIS_TESTS_SUPPORT_RANDOM_ENVELOPE_H_

#include <cstdint>
#include <string>

#include "portcullis/v1/exchange.pb.h"

namespace portcullis::testing {

enum class BodyKind { kCaseReferral, kIntelligenceReport, kRequestForInformation, kResponse };
inline constexpr BodyKind kAllBodyKinds[] = {BodyKind::kCaseReferral, BodyKind::kIntelligenceReport,
                                             BodyKind::kRequestForInformation, BodyKind::kResponse};
const char* BodyKindName(BodyKind kind);

struct RandomEnvelopeOptions {
  // Which optional parts to fill (each is also randomly left out when false
  // is not forced). A format that cannot hold one sets it to false.
  bool attachments = true;
  bool europol_evaluation = true;
  bool uk_grading = true;
  // Fill `sender` (as the gateway does on delivery).
  bool sender = true;
};

v1::Envelope RandomEnvelope(BodyKind kind, uint64_t seed, const RandomEnvelopeOptions& options = {});

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_RANDOM_ENVELOPE_H_
