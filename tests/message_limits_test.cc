// Message sizes computed from the contract (portcullis/v1/message_limits.h)
// and the contract of deliveries that can never succeed
// (gateway/delivery/permanent_failure.h).
#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "gateway/delivery/permanent_failure.h"
#include "portcullis/v1/exchange.pb.h"
#include "portcullis/v1/message_limits.h"
#include "portcullis/v1/refusal_status.h"

namespace portcullis {
namespace {

v1::Envelope EnvelopeOf(size_t content_bytes) {
  v1::Envelope e;
  e.add_attachments()->set_content(std::string(content_bytes, 'x'));
  return e;
}

TEST(MessageLimits, TheLargestEnvelopeFillsTheRequestExactly) {
  // Around every length-varint boundary, and the defaults.
  for (size_t limit : {size_t{20}, size_t{129}, size_t{130}, size_t{131}, size_t{16386}, size_t{16387},
                       size_t{4096}, size_t{1048576}, size_t{8388608}, size_t{67108864}}) {
    const size_t n = v1::MaxEnvelopeBytes(limit);
    EXPECT_LE(v1::SubmitRequestBytes(n), limit) << limit;
    EXPECT_GT(v1::SubmitRequestBytes(n + 1), limit) << limit;
  }
  EXPECT_EQ(v1::MaxEnvelopeBytes(8388608), 8388603u);
  // As protobuf counts it.
  v1::SubmitRequest request;
  *request.mutable_envelope() = EnvelopeOf(1000);
  EXPECT_EQ(v1::SubmitRequestBytes(request.envelope().ByteSizeLong()), request.ByteSizeLong());
}

TEST(MessageLimits, ADeliveryNeverExceedsItsComputedSize) {
  for (size_t content : {size_t{0}, size_t{100}, size_t{125}, size_t{126}, size_t{16370}, size_t{2097140},
                         size_t{8388590}}) {
    v1::Delivery d;
    d.set_delivery_id(std::string(32, 'a'));  // The gateway's ids.
    *d.mutable_envelope() = EnvelopeOf(content);
    d.mutable_accepted_at()->set_seconds(253402300799);
    d.mutable_accepted_at()->set_nanos(999999999);
    d.set_attempt(std::numeric_limits<uint32_t>::max());
    const size_t envelope = d.envelope().ByteSizeLong();
    EXPECT_LE(d.ByteSizeLong(), v1::DeliveryBytes(envelope)) << content;
    // Computed, not padded: the bound is within the id's allowance of the real thing.
    EXPECT_LE(v1::DeliveryBytes(envelope) - d.ByteSizeLong(), v1::kMaxDeliveryIdBytes - 32) << content;
  }
}

TEST(PermanentFailure, OnlyListedReasonsWithACodeThatBlamesTheRequestAreFinal) {
  using grpc::StatusCode;
  for (const char* reason : {"UNRENDERABLE", "TOO_LARGE", "INVALID_DELIVERY"}) {
    for (StatusCode code : {StatusCode::INVALID_ARGUMENT, StatusCode::FAILED_PRECONDITION, StatusCode::OUT_OF_RANGE,
                            StatusCode::RESOURCE_EXHAUSTED, StatusCode::UNIMPLEMENTED}) {
      EXPECT_EQ(PermanentRefusalReason(v1::RefusalStatus(code, reason, "", "never")), std::string(reason));
    }
    // A misconfigured or unreachable endpoint never dead-letters its queue.
    for (StatusCode code : {StatusCode::UNAUTHENTICATED, StatusCode::PERMISSION_DENIED, StatusCode::UNAVAILABLE,
                            StatusCode::DEADLINE_EXCEEDED, StatusCode::INTERNAL, StatusCode::ABORTED}) {
      EXPECT_EQ(PermanentRefusalReason(v1::RefusalStatus(code, reason, "", "now")), std::nullopt) << reason;
    }
  }
  EXPECT_EQ(PermanentRefusalReason(v1::RefusalStatus(StatusCode::INVALID_ARGUMENT, "FIELD_REQUIRED", "x", "y")),
            std::nullopt);
  // No Refusal in the details (e.g. gRPC's own errors): transient.
  EXPECT_EQ(PermanentRefusalReason(grpc::Status(StatusCode::INVALID_ARGUMENT, "UNRENDERABLE: in words only")),
            std::nullopt);
  EXPECT_EQ(PermanentRefusalReason(grpc::Status::OK), std::nullopt);
}

TEST(PermanentFailure, TheReasonTravelsWithTheStatus) {
  absl::Status s = PermanentFailure(absl::StatusCode::kResourceExhausted, "TOO_LARGE", "TOO_LARGE: 9 > 8");
  EXPECT_EQ(PermanentReasonOf(s), "TOO_LARGE");
  EXPECT_EQ(s.message(), "TOO_LARGE: 9 > 8");
  EXPECT_EQ(PermanentReasonOf(absl::UnavailableError("TOO_LARGE")), std::nullopt);
  EXPECT_EQ(PermanentReasonOf(absl::OkStatus()), std::nullopt);
}

}  // namespace
}  // namespace portcullis
