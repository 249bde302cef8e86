#include "portcullis/v1/message_limits.h"

#include <cstdint>
#include <limits>
#include <string>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/wire_format_lite.h>

#include "portcullis/v1/exchange.pb.h"

namespace portcullis::v1 {
namespace {

// Every field of a Delivery but its envelope, each at its largest.
size_t DeliveryWrapperBytes() {
  static const size_t bytes = [] {
    Delivery d;
    d.set_delivery_id(std::string(kMaxDeliveryIdBytes, 'f'));
    d.mutable_accepted_at()->set_seconds(kMaxTimestampSeconds);
    d.mutable_accepted_at()->set_nanos(kMaxTimestampNanos);
    d.set_attempt(std::numeric_limits<uint32_t>::max());
    return d.ByteSizeLong();
  }();
  return bytes;
}

}  // namespace

size_t FieldBytes(int field_number, size_t bytes) {
  using google::protobuf::internal::WireFormatLite;
  return WireFormatLite::TagSize(field_number, WireFormatLite::TYPE_MESSAGE) +
         google::protobuf::io::CodedOutputStream::VarintSize64(bytes) + bytes;
}

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

size_t StoredEnvelopeBytes(const Envelope& envelope, const std::string& sender_id) {
  size_t bytes = envelope.ByteSizeLong();
  if (envelope.sender().empty() && !sender_id.empty()) {
    bytes += FieldBytes(Envelope::kSenderFieldNumber, sender_id.size());
  }
  if (envelope.has_request_for_information() && !envelope.request_for_information().has_answer_by()) {
    // The gateway fills in the deadline: counted at the largest a Timestamp takes.
    google::protobuf::Timestamp latest;
    latest.set_seconds(kMaxTimestampSeconds);
    latest.set_nanos(kMaxTimestampNanos);
    const size_t rfi = envelope.request_for_information().ByteSizeLong();
    const size_t grown = rfi + FieldBytes(RequestForInformation::kAnswerByFieldNumber, latest.ByteSizeLong());
    bytes += FieldBytes(Envelope::kRequestForInformationFieldNumber, grown) -
             FieldBytes(Envelope::kRequestForInformationFieldNumber, rfi);
  }
  return bytes;
}

}  // namespace portcullis::v1
