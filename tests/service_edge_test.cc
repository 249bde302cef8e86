// The service edge (issue 11 items 2 and 6): requests parsed once from raw
// bytes (MALFORMED_REQUEST, UNKNOWN_FIELD at any depth, UNKNOWN_ENUM_VALUE),
// degenerate field values refused, and refusals in the ecosystem's form
// (google.rpc.Status with ErrorInfo, BadRequest and portcullis.v1.Refusal),
// with internal text kept from callers.
#include <google/protobuf/util/time_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include "gateway/common/refusal.h"
#include "gateway/policy/envelope_validator.h"
#include "gateway/policy/wire_request.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "portcullis/v1/refusal_status.h"
#include "tests/support/harness.h"
#include "tests/support/officer_tokens.h"

namespace portcullis::testing {
namespace {

void AppendVarint(uint64_t n, std::string* out) {
  while (n >= 0x80) {
    out->push_back(static_cast<char>((n & 0x7F) | 0x80));
    n >>= 7;
  }
  out->push_back(static_cast<char>(n));
}

// Field number `number` of wire type varint, value 1.
std::string UnknownVarint(int number) {
  std::string out;
  AppendVarint(static_cast<uint64_t>(number) << 3, &out);
  out.push_back('\x01');
  return out;
}

// `inner` serialized as length-delimited field `number`.
std::string LengthDelimited(int number, const std::string& inner) {
  std::string out;
  AppendVarint((static_cast<uint64_t>(number) << 3) | 2, &out);
  AppendVarint(inner.size(), &out);
  return out + inner;
}

// A SubmitRequest whose envelope.case_referral.crossing holds field 99.
std::string SubmitWithNestedUnknown(const v1::Envelope& e) {
  v1::Envelope without_body = e;
  without_body.clear_case_referral();
  v1::CaseReferral referral = e.case_referral();
  referral.clear_crossing();
  const std::string crossing = e.case_referral().crossing().SerializeAsString() + UnknownVarint(99);
  const std::string body = referral.SerializeAsString() + LengthDelimited(2, crossing);  // crossing = 2
  const std::string envelope = without_body.SerializeAsString() + LengthDelimited(20, body);  // case_referral = 20
  return LengthDelimited(1, envelope);  // SubmitRequest.envelope = 1
}

TEST(WireRequest, AcceptsAContractRequest) {
  v1::SubmitRequest in;
  *in.mutable_envelope() = SampleReferral("W-1");
  v1::SubmitRequest out;
  EXPECT_TRUE(ParseWireRequest(in.SerializeAsString(), &out).ok());
  EXPECT_EQ(out.envelope().message_id(), "W-1");
}

TEST(WireRequest, RefusesBytesThatAreNotTheRequest) {
  v1::SubmitRequest out;
  absl::Status s = ParseWireRequest(std::string("\xff\xff\xff\xff\x0f garbage", 14), &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RefusalOf(s).reason(), "MALFORMED_REQUEST");
  // A truncated length-delimited field is malformed too.
  std::string whole;
  v1::SubmitRequest in;
  *in.mutable_envelope() = SampleReferral("W-2");
  whole = in.SerializeAsString();
  EXPECT_EQ(RefusalOf(ParseWireRequest(whole.substr(0, whole.size() - 3), &out)).reason(), "MALFORMED_REQUEST");
}

TEST(WireRequest, NamesUnknownFieldsAtAnyDepth) {
  v1::SubmitRequest out;
  v1::SubmitRequest top;
  *top.mutable_envelope() = SampleReferral("W-3");
  absl::Status s = ParseWireRequest(top.SerializeAsString() + UnknownVarint(7), &out);
  EXPECT_EQ(RefusalOf(s).reason(), "UNKNOWN_FIELD");
  EXPECT_EQ(RefusalOf(s).field(), "request");
  EXPECT_NE(RefusalOf(s).message().find("field number 7"), std::string::npos) << s;

  s = ParseWireRequest(SubmitWithNestedUnknown(SampleReferral("W-4")), &out);
  EXPECT_EQ(RefusalOf(s).reason(), "UNKNOWN_FIELD");
  EXPECT_EQ(RefusalOf(s).field(), "envelope.case_referral.crossing");
  EXPECT_NE(RefusalOf(s).message().find("field number 99"), std::string::npos) << s;

  // Inside a repeated message: the index is in the path.
  v1::Person person;
  person.set_family_name("Example");
  person.set_role(v1::PILOT);
  v1::CaseReferral referral;
  referral.set_summary("s");
  const std::string persons = LengthDelimited(3, person.SerializeAsString()) +
                              LengthDelimited(3, person.SerializeAsString() + UnknownVarint(42));
  const std::string request = LengthDelimited(1, LengthDelimited(20, referral.SerializeAsString() + persons));
  s = ParseWireRequest(request, &out);
  EXPECT_EQ(RefusalOf(s).field(), "envelope.case_referral.persons[1]") << s;
}

TEST(WireRequest, RefusesUndefinedEnumValues) {
  v1::SubmitRequest in;
  *in.mutable_envelope() = SampleReferral("W-5");
  in.mutable_envelope()->set_classification(static_cast<v1::Classification>(77));
  v1::SubmitRequest out;
  absl::Status s = ParseWireRequest(in.SerializeAsString(), &out);
  EXPECT_EQ(RefusalOf(s).reason(), "UNKNOWN_ENUM_VALUE");
  EXPECT_EQ(RefusalOf(s).field(), "envelope.classification");
  in.mutable_envelope()->set_classification(v1::OFFICIAL);
  in.mutable_envelope()->mutable_europol_evaluation()->add_handling(static_cast<v1::EuropolHandlingCode>(9));
  s = ParseWireRequest(in.SerializeAsString(), &out);
  EXPECT_EQ(RefusalOf(s).field(), "envelope.europol_evaluation.handling[0]");
}

// --- Degenerate values --------------------------------------------------------

absl::Status Validate(const v1::Envelope& e) {
  ValidationContext vc{"uk/border-force", NowMicros(), 300};
  return ValidateEnvelope(e, vc);
}

TEST(DegenerateValues, WhitespaceOnlyTextIsRefused) {
  v1::Envelope e = SampleReferral("D-1");
  e.mutable_case_referral()->set_summary(" \t\n ");
  EXPECT_EQ(RefusalOf(Validate(e)).reason(), "FIELD_REQUIRED");
  EXPECT_EQ(RefusalOf(Validate(e)).field(), "envelope.case_referral.summary");
  e = SampleReferral("D-2");
  e.mutable_justification()->set_legal_basis("\xC2\xA0\xE2\x80\x8B");  // no-break and zero-width spaces
  EXPECT_EQ(RefusalOf(Validate(e)).field(), "envelope.justification.legal_basis");
  e = SampleReferral("D-3");
  e.mutable_case_referral()->mutable_crossing()->mutable_vessel()->set_engine("   ");
  EXPECT_EQ(RefusalOf(Validate(e)).reason(), "FIELD_BLANK");
  EXPECT_EQ(RefusalOf(Validate(e)).field(), "envelope.case_referral.crossing.vessel.engine");
}

TEST(DegenerateValues, OutOfRangeTimesAndNumbersAreRefused) {
  v1::Envelope e = SampleReferral("D-4");
  e.mutable_case_referral()->mutable_crossing()->mutable_departure_time()->set_seconds(253402300800);  // year 10000
  EXPECT_EQ(RefusalOf(Validate(e)).reason(), "FIELD_OUT_OF_RANGE");
  EXPECT_EQ(RefusalOf(Validate(e)).field(), "envelope.case_referral.crossing.departure_time");
  e = SampleReferral("D-5");
  e.mutable_created_at()->set_seconds(-5);
  EXPECT_EQ(RefusalOf(Validate(e)).reason(), "FIELD_OUT_OF_RANGE");
  e = SampleReferral("D-6");
  e.mutable_case_referral()->mutable_crossing()->mutable_interception_place()->set_latitude(
      std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(RefusalOf(Validate(e)).reason(), "FIELD_OUT_OF_RANGE");
  e = SampleReferral("D-7");
  e.mutable_case_referral()->mutable_crossing()->mutable_interception_place()->set_longitude(181);
  EXPECT_EQ(RefusalOf(Validate(e)).field(), "envelope.case_referral.crossing.interception_place.longitude");
  e = SampleReferral("D-8");
  e.mutable_case_referral()->mutable_crossing()->mutable_vessel()->set_length_metres(-3);
  EXPECT_EQ(RefusalOf(Validate(e)).reason(), "FIELD_OUT_OF_RANGE");
}

TEST(DegenerateValues, EmptyRepeatedEntriesAreRefused) {
  v1::Envelope e = SampleReferral("D-9");
  e.add_recipients("");
  EXPECT_EQ(RefusalOf(Validate(e)).field(), "envelope.recipients[1]");
  e = SampleReferral("D-10");
  e.mutable_case_referral()->mutable_persons(0)->add_documents("");
  EXPECT_EQ(RefusalOf(Validate(e)).reason(), "FIELD_REQUIRED");
  EXPECT_EQ(RefusalOf(Validate(e)).field(), "envelope.case_referral.persons[0].documents[0]");
  e = SampleReferral("D-11");
  e.mutable_case_referral()->mutable_persons(0)->add_aliases(" ");
  EXPECT_EQ(RefusalOf(Validate(e)).field(), "envelope.case_referral.persons[0].aliases[0]");
  e = SampleReferral("D-12");
  e.clear_case_referral();
  e.mutable_intelligence_report()->set_summary("s");
  e.mutable_intelligence_report()->add_vessels();
  EXPECT_EQ(RefusalOf(Validate(e)).field(), "envelope.intelligence_report.vessels[0]");
  EXPECT_TRUE(Validate(SampleReferral("D-13")).ok());
}

// --- The refusal's wire form ----------------------------------------------------

TEST(RefusalForm, CarriesGoogleRpcStatusWithErrorInfoBadRequestAndRefusal) {
  grpc::Status s = ToGrpcStatus(Refuse(absl::StatusCode::kInvalidArgument, "FIELD_REQUIRED",
                                       "envelope.case_reference", "is required"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "FIELD_REQUIRED: envelope.case_reference: is required");
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(s.error_details()));
  EXPECT_EQ(rpc.code(), 3);
  ASSERT_EQ(rpc.details_size(), 3);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "FIELD_REQUIRED");
  EXPECT_EQ(info.domain(), "portcullis.v1");
  EXPECT_EQ(info.metadata().at("field"), "envelope.case_reference");
  google::rpc::BadRequest bad;
  ASSERT_TRUE(rpc.details(1).UnpackTo(&bad));
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "envelope.case_reference");
  v1::Refusal refusal;
  ASSERT_TRUE(rpc.details(2).UnpackTo(&refusal));
  EXPECT_EQ(refusal.reason(), "FIELD_REQUIRED");
  // And the one reader every client uses.
  ASSERT_TRUE(v1::RefusalInStatus(s).has_value());
  EXPECT_EQ(v1::RefusalInStatus(s)->field(), "envelope.case_reference");
}

TEST(RefusalForm, NoBadRequestWithoutAnInvalidField) {
  grpc::Status s = ToGrpcStatus(Refuse(absl::StatusCode::kPermissionDenied, "ROUTE_NOT_PERMITTED",
                                       "envelope.recipients[0]", "no route"));
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(s.error_details()));
  for (const auto& any : rpc.details()) EXPECT_FALSE(any.Is<google::rpc::BadRequest>());
}

TEST(RefusalForm, ReadsTheFormerBareRefusal) {
  v1::Refusal legacy;
  legacy.set_reason("ROUTE_NOT_PERMITTED");
  legacy.set_field("envelope.recipients[0]");
  grpc::Status s(grpc::StatusCode::PERMISSION_DENIED, "x", legacy.SerializeAsString());
  ASSERT_TRUE(v1::RefusalInStatus(s).has_value());
  EXPECT_EQ(v1::RefusalInStatus(s)->reason(), "ROUTE_NOT_PERMITTED");
}

TEST(RefusalForm, InternalTextNeverLeavesAndGetsAnIncidentId) {
  const char* kSecret = "sqlite3_step: database disk image is malformed (/var/lib/portcullis/store.db)";
  for (absl::StatusCode code : {absl::StatusCode::kInternal, absl::StatusCode::kUnavailable,
                                absl::StatusCode::kNotFound, absl::StatusCode::kDataLoss}) {
    ::testing::internal::CaptureStderr();
    grpc::Status s = ToGrpcStatus(absl::Status(code, kSecret), "00112233aabbccdd");
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(static_cast<int>(s.error_code()), static_cast<int>(code));
    EXPECT_EQ(s.error_message().find("sqlite"), std::string::npos) << s.error_message();
    EXPECT_EQ(s.error_details().find("/var/lib"), std::string::npos);
    EXPECT_NE(s.error_message().find("incident 00112233aabbccdd"), std::string::npos) << s.error_message();
    EXPECT_EQ(v1::RefusalMetadata(s, "incident_id").value_or(""), "00112233aabbccdd");
    // The operators have the whole text, under the same id.
    EXPECT_NE(log.find("incident 00112233aabbccdd"), std::string::npos);
    EXPECT_NE(log.find(kSecret), std::string::npos);
  }
  EXPECT_EQ(v1::RefusalInStatus(ToGrpcStatus(absl::InternalError(kSecret)))->reason(), "INTERNAL_ERROR");
  EXPECT_EQ(v1::RefusalInStatus(ToGrpcStatus(absl::UnavailableError(kSecret)))->reason(), "TEMPORARILY_UNAVAILABLE");
  EXPECT_EQ(v1::RefusalInStatus(ToGrpcStatus(absl::NotFoundError(kSecret)))->reason(), "REQUEST_FAILED");
}

// --- Through a real gateway ------------------------------------------------------

// `token`: an officer assertion sent as `authorization: Bearer` ("" = none).
grpc::Status RawCall(GatewayHarness& h, const std::string& stem, const std::string& method, const std::string& bytes,
                     std::string* request_id = nullptr, std::string* response = nullptr,
                     const std::string& token = "") {
  grpc::GenericStub stub(h.Channel(stem));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) AddAssertion(&ctx, token);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer reply;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &reply, [&](grpc::Status s) {
    std::lock_guard<std::mutex> lock(mu);
    status = std::move(s);
    done = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  if (request_id != nullptr) {
    auto it = ctx.GetServerInitialMetadata().find("portcullis-request-id");
    *request_id = it == ctx.GetServerInitialMetadata().end() ? "" : std::string(it->second.data(), it->second.size());
  }
  if (response != nullptr && status.ok()) {
    std::vector<grpc::Slice> slices;
    reply.Dump(&slices);
    for (const auto& s : slices) response->append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return status;
}

TEST(ServiceEdge, GarbageIsMalformedRequestNotUnimplementedAndAudited) {
  GatewayHarness h("edge-garbage");
  const std::string methods[] = {"Submit", "Track", "Acknowledge", "Confirm", "ListCase"};
  for (const std::string& m : methods) {
    std::string request_id;
    grpc::Status s = RawCall(h, "parties/uk-border-force", "/portcullis.v1.Exchange/" + m,
                             std::string("\x0a\xff\xff\xff\xff\x0f", 6), &request_id);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << m << ": " << s.error_message();
    EXPECT_EQ(ReasonOf(s), "MALFORMED_REQUEST") << m;
    EXPECT_EQ(request_id.size(), 16u) << m;
    EXPECT_TRUE(h.WaitForAudit({"\"reason\":\"MALFORMED_REQUEST\"", request_id})) << m;
  }
}

// Issue 13: bytes that do not parse from a party whose officer assertions are
// required answer for the assertion first (as a parsed request does), and a
// verified officer is named in the refusal's record; Confirm takes none.
TEST(ServiceEdge, GarbageFromAnAssertingPartyAnswersForItsAssertionFirst) {
  HarnessOptions o;
  o.officer_assertions["uk/border-force"] = "required";
  GatewayHarness h("edge-garbage-officer", o);
  const std::string garbage("\x0a\xff\xff\xff\xff\x0f", 6);
  for (const std::string m : {"Submit", "Track", "Acknowledge", "ListCase"}) {
    grpc::Status s = RawCall(h, "parties/uk-border-force", "/portcullis.v1.Exchange/" + m, garbage);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << m;
    EXPECT_EQ(ReasonOf(s), "ASSERTION_REQUIRED") << m;
    std::string request_id;
    s = RawCall(h, "parties/uk-border-force", "/portcullis.v1.Exchange/" + m, garbage, &request_id, nullptr,
                ValidToken("uk/border-force", "BF-LO-4471"));
    EXPECT_EQ(ReasonOf(s), "MALFORMED_REQUEST") << m;
    EXPECT_TRUE(h.WaitForAudit({request_id, "\"actor_officer\":\"BF-LO-4471\"", "\"officer_verified\":true"})) << m;
  }
  EXPECT_EQ(ReasonOf(RawCall(h, "parties/uk-border-force", "/portcullis.v1.Exchange/Confirm", garbage)),
            "MALFORMED_REQUEST");
}

TEST(ServiceEdge, ReceiveRefusesGarbageToo) {
  GatewayHarness h("edge-receive");
  auto channel = h.Channel("parties/eu-europol");
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(&ctx, "/portcullis.v1.Exchange/Receive", &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  grpc::Slice slice(std::string("\x12\x05\x01", 3));
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  call->WritesDone(reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(4));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(ReasonOf(status), "MALFORMED_REQUEST");
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

TEST(ServiceEdge, UnknownNestedFieldIsRefusedAndNeverStored) {
  GatewayHarness h("edge-unknown");
  grpc::Status s = RawCall(h, "parties/uk-border-force", "/portcullis.v1.Exchange/Submit",
                           SubmitWithNestedUnknown(SampleReferral("EDGE-UNKNOWN-1")));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(s), "UNKNOWN_FIELD");
  EXPECT_EQ(FieldOf(s), "envelope.case_referral.crossing");
  EXPECT_NE(s.error_message().find("99"), std::string::npos);
  // Not stored: the same id with the contract's fields only is a new message.
  auto bf = h.Client("parties/uk-border-force");
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*bf, SampleReferral("EDGE-UNKNOWN-1"), &receipt).ok());
  EXPECT_FALSE(receipt.duplicate());
  // A well-formed request answers OK through the raw path, response intact.
  std::string request_id, bytes;
  v1::TrackRequest track;
  track.set_message_id("EDGE-UNKNOWN-1");
  ASSERT_TRUE(RawCall(h, "parties/uk-border-force", "/portcullis.v1.Exchange/Track", track.SerializeAsString(),
                      &request_id, &bytes)
                  .ok());
  v1::TrackResponse response;
  ASSERT_TRUE(response.ParseFromString(bytes));
  EXPECT_EQ(response.message_id(), "EDGE-UNKNOWN-1");
  EXPECT_TRUE(h.WaitForAudit({"\"action\":\"track\"", request_id}));
}

TEST(ServiceEdge, TheAcceptanceRecordCarriesTheCallsRequestId) {
  GatewayHarness h("edge-request-id");
  v1::SubmitRequest submit;
  *submit.mutable_envelope() = SampleReferral("EDGE-RID-1");
  std::string request_id, bytes;
  ASSERT_TRUE(RawCall(h, "parties/uk-border-force", "/portcullis.v1.Exchange/Submit", submit.SerializeAsString(),
                      &request_id, &bytes)
                  .ok());
  ASSERT_EQ(request_id.size(), 16u);
  EXPECT_TRUE(h.WaitForAudit({"\"action\":\"submit\"", "\"outcome\":\"accepted\"",
                              "\"request_id\":\"" + request_id + "\""}));
}

TEST(ServiceEdge, DegenerateEnvelopesAreRefusedThroughTheGateway) {
  GatewayHarness h("edge-degenerate");
  auto bf = h.Client("parties/uk-border-force");
  v1::Receipt receipt;
  v1::Envelope e = SampleReferral("EDGE-D-1");
  e.mutable_case_referral()->set_requested_action("   ");
  grpc::Status s = Submit(*bf, e, &receipt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldOf(s), "envelope.case_referral.requested_action");
  e = SampleReferral("EDGE-D-2");
  e.mutable_created_at()->set_seconds(300000000000LL);
  s = Submit(*bf, e, &receipt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldOf(s), "envelope.created_at");
}

}  // namespace
}  // namespace portcullis::testing
