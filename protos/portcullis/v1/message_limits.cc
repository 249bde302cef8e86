#include "portcullis/v1/message_limits.h"

#include <cstdint>
#include <limits>
#include <string>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "portcullis/v1/exchange.pb.h"

namespace portcullis::v1 {
namespace {

using google::protobuf::internal::WireFormatLite;

// A length-delimited field of `bytes` bytes: its tag, length and content.
size_t FieldBytes(int field_number, size_t bytes) {
  return WireFormatLite::TagSize(field_number, WireFormatLite::TYPE_MESSAGE) +
         google::protobuf::io::CodedOutputStream::VarintSize64(bytes) + bytes;
}

// Every field of a Delivery but its envelope, each at its largest.
size_t DeliveryWrapperBytes() {
  static const size_t bytes = [] {
    Delivery d;
    d.set_delivery_id(std::string(kMaxDeliveryIdBytes, 'f'));
    d.mutable_accepted_at()->set_seconds(253402300799);  // 9999-12-31T23:59:59Z, the largest valid Timestamp.
    d.mutable_accepted_at()->set_nanos(999999999);
    d.set_attempt(std::numeric_limits<uint32_t>::max());
    return d.ByteSizeLong();
  }();
  return bytes;
}

}  // namespace

size_t SubmitRequestBytes(size_t envelope_bytes) {
  return FieldBytes(SubmitRequest::kEnvelopeFieldNumber, envelope_bytes);
}

size_t MaxEnvelopeBytes(size_t max_request_bytes) {
  // The header takes at most 1 + 10 bytes: start below and step up.
  size_t n = max_request_bytes > 16 ? max_request_bytes - 16 : 0;
  while (SubmitRequestBytes(n + 1) <= max_request_bytes) ++n;
  while (n > 0 && SubmitRequestBytes(n) > max_request_bytes) --n;
  return n;
}

size_t DeliveryBytes(size_t envelope_bytes) {
  return DeliveryWrapperBytes() + FieldBytes(Delivery::kEnvelopeFieldNumber, envelope_bytes);
}

}  // namespace portcullis::v1
