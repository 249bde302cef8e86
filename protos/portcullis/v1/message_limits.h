// Message sizes on the wire, computed from the contract (docs/delivery.md,
// "Sizes"): what a Submit of an envelope costs, and the most a Delivery
// carrying it can cost. The gateway derives every limit from one configured
// number (limits.max_receive_message_bytes) with these; the adapters derive
// theirs from kMaxMessageBytes the same way, so that whatever Submit accepts
// can always be delivered, by push and by pull.
#ifndef PORTCULLIS_PROTOS_PORTCULLIS_V1_MESSAGE_LIMITS_H_
#define PORTCULLIS_PROTOS_PORTCULLIS_V1_MESSAGE_LIMITS_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace portcullis::v1 {

class Envelope;

// Longest delivery id a Delivery is sized for (the gateway's are 32).
inline constexpr size_t kMaxDeliveryIdBytes = 64;

// The largest valid google.protobuf.Timestamp, 9999-12-31T23:59:59.999999999Z:
// the most bytes a Timestamp the gateway fills in can take.
inline constexpr int64_t kMaxTimestampSeconds = 253402300799;
inline constexpr int32_t kMaxTimestampNanos = 999999999;

// A length-delimited field `field_number` of `bytes` bytes on the wire: its
// tag, length and content.
size_t FieldBytes(int field_number, size_t bytes);

// Bytes of a SubmitRequest carrying an envelope of `envelope_bytes`.
size_t SubmitRequestBytes(size_t envelope_bytes);
// The largest envelope whose SubmitRequest fits in `max_request_bytes`.
size_t MaxEnvelopeBytes(size_t max_request_bytes);
// The most a Delivery carrying an envelope of `envelope_bytes` can take on the
// wire: the envelope, its field header and the largest delivery id,
// acceptance time and attempt number (computed from a Delivery holding them).
size_t DeliveryBytes(size_t envelope_bytes);
// The size of `envelope` once the gateway has completed it for storing (its
// sender set to `sender_id` if empty; an RFI's answer_by filled in, counted at
// its largest): what is delivered, and what MESSAGE_TOO_LARGE is checked on.
size_t StoredEnvelopeBytes(const Envelope& envelope, const std::string& sender_id);

}  // namespace portcullis::v1

#endif  // PORTCULLIS_PROTOS_PORTCULLIS_V1_MESSAGE_LIMITS_H_
