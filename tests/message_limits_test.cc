// Message sizes computed from the contract (portcullis/v1/message_limits.h)
// and the contract of deliveries that can never succeed
// (gateway/delivery/permanent_failure.h).
#include <cstdint>
#include <limits>
#include <string>

#include <gmock/gmock.h>
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

TEST(PermanentFailure, AnEndpointsOwnReceiveLimitIsFinalTooLargeAndOnlyThat) {
  using grpc::StatusCode;
  EXPECT_EQ(PermanentRefusalReason(
                grpc::Status(StatusCode::RESOURCE_EXHAUSTED, "Received message larger than max (10240 vs. 4096)")),
            "TOO_LARGE");
  // Other resource exhaustion (quota, "Sent message larger than max" on our side) stays transient.
  EXPECT_EQ(PermanentRefusalReason(grpc::Status(StatusCode::RESOURCE_EXHAUSTED, "Quota exceeded")), std::nullopt);
  EXPECT_EQ(PermanentRefusalReason(grpc::Status(StatusCode::RESOURCE_EXHAUSTED, "Sent message larger than max (9 vs. 8)")),
            std::nullopt);
  EXPECT_EQ(PermanentRefusalReason(grpc::Status(StatusCode::UNAVAILABLE, "Received message larger than max (9 vs. 8)")),
            std::nullopt);
}

TEST(PermanentFailure, PublicTextIsTheEndpointsRefusalOrAFixedPhrase) {
  using grpc::StatusCode;
  EXPECT_EQ(PublicFailureText(v1::RefusalStatus(StatusCode::FAILED_PRECONDITION, "UNRENDERABLE", "", "no native form")),
            "UNRENDERABLE: no native form");
  const grpc::Status transport(StatusCode::UNAVAILABLE,
                               "failed to connect to all addresses; last error: UNKNOWN: ipv4:10.1.2.3:443: Ssl "
                               "handshake failed: SSL_ERROR_SSL: error:1000007d:SSL routines");
  EXPECT_EQ(PublicFailureText(transport), "the endpoint could not be reached (UNAVAILABLE)");
  EXPECT_EQ(PublicFailureText(grpc::Status(StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded")),
            "the endpoint did not answer in time (DEADLINE_EXCEEDED)");
  EXPECT_EQ(PublicFailureText(grpc::Status(StatusCode::INTERNAL, "/srv/partner/inbox.db: disk I/O error")),
            "the endpoint failed the delivery (INTERNAL)");
  EXPECT_THAT(PublicFailureText(
                  grpc::Status(StatusCode::RESOURCE_EXHAUSTED, "Received message larger than max (10240 vs. 4096)")),
              ::testing::StartsWith("TOO_LARGE: "));
}

TEST(PermanentFailure, TooLargeNamesBytesAndLimit) {
  absl::Status s = TooLarge("delivery", 9, 8, "a Receive stream carries");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(PermanentReasonOf(s), "TOO_LARGE");
  EXPECT_EQ(s.message(), "TOO_LARGE: the delivery is 9 bytes; a Receive stream carries at most 8");
}

}  // namespace
}  // namespace portcullis
