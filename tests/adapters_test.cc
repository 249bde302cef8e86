// Tests for the adapter library (adapters/common/): the inbox (durable
// storage, deduplication, path-traversal refusal), envelope JSON and refusal
// formatting. The partner endpoint, dialling the gateway and the party's TLS
// files: partner_endpoint_test.cc.
#include <algorithm>
#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>

#include "adapters/common/describe.h"
#include "adapters/common/envelope_json.h"
#include "adapters/common/inbox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "portcullis/v1/refusal_status.h"
#include "tests/support/files.h"
#include "testkit/sample_envelopes.h"

namespace portcullis::adapters {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using portcullis::testing::FileNamesIn;
using portcullis::testing::MakeTempDir;
using portcullis::testing::ReadFile;
using portcullis::testing::SampleDelivery;

// ---------------------------------------------------------------------------
// Inbox
// ---------------------------------------------------------------------------

TEST(InboxTest, StoresDeliveryAsJsonFileThatSurvivesReopening) {
  const std::string dir = MakeTempDir("adapters-inbox-store") + "/inbox";  // Created by Open.
  const v1::Delivery delivery = SampleDelivery("0a1b2c3d4e5f");
  {
    auto inbox = Inbox::Open(dir);
    ASSERT_TRUE(inbox.ok()) << inbox.status();
    auto stored = (*inbox)->Store(delivery);
    ASSERT_TRUE(stored.ok()) << stored.status();
    EXPECT_TRUE(*stored);
    EXPECT_EQ((*inbox)->PathFor("0a1b2c3d4e5f"), dir + "/0a1b2c3d4e5f.json");
  }
  EXPECT_THAT(FileNamesIn(dir), ::testing::ElementsAre(".lock", "0a1b2c3d4e5f.json"));  // No temporary file left.
  EXPECT_THAT(ReadFile(dir + "/0a1b2c3d4e5f.json"), HasSubstr("\"delivery_id\": \"0a1b2c3d4e5f\""));

  auto reopened = Inbox::Open(dir);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_TRUE((*reopened)->Contains("0a1b2c3d4e5f"));
  auto loaded = (*reopened)->Load("0a1b2c3d4e5f");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*loaded, delivery));
  EXPECT_EQ((*reopened)->Load("ffff").status().code(), absl::StatusCode::kNotFound);
}

TEST(InboxTest, DuplicateDeliveryIdIsNotStoredAgain) {
  const std::string dir = MakeTempDir("adapters-inbox-dedup");
  auto inbox = Inbox::Open(dir);
  ASSERT_TRUE(inbox.ok()) << inbox.status();
  ASSERT_TRUE(*(*inbox)->Store(SampleDelivery("abc123", "FIRST")));
  const std::string before = ReadFile(dir + "/abc123.json");

  auto again = (*inbox)->Store(SampleDelivery("abc123", "SECOND"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(*again);
  EXPECT_EQ(ReadFile(dir + "/abc123.json"), before);  // Not rewritten.
  EXPECT_THAT(before, HasSubstr("FIRST"));
}

TEST(InboxTest, ConcurrentStoresOfOneIdStoreItOnce) {
  const std::string dir = MakeTempDir("adapters-inbox-concurrent");
  auto inbox = Inbox::Open(dir);
  ASSERT_TRUE(inbox.ok()) << inbox.status();
  std::atomic<int> newly{0}, duplicates{0}, errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = (*inbox)->Store(SampleDelivery("same-id"));
      if (!r.ok()) {
        ++errors;
      } else if (*r) {
        ++newly;
      } else {
        ++duplicates;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(newly.load(), 1);
  EXPECT_EQ(duplicates.load(), 7);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_THAT(FileNamesIn(dir), ::testing::ElementsAre(".lock", "same-id.json"));
}

TEST(InboxTest, RefusesDeliveryIdsThatCouldEscapeTheDirectory) {
  const std::string root = MakeTempDir("adapters-inbox-traversal");
  const std::string dir = root + "/inbox";
  auto inbox = Inbox::Open(dir);
  ASSERT_TRUE(inbox.ok()) << inbox.status();
  const std::vector<std::string> ids = {"../escaped", "..",      ".",
                                       "a/b",        "/etc/passwd", "",
                                       "a.b",        std::string("a\0b", 3), "abc def",
                                       std::string(129, 'a')};
  for (const std::string& id : ids) {
    auto r = (*inbox)->Store(SampleDelivery(id));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << "id '" << id << "'";
    EXPECT_FALSE((*inbox)->Contains(id));
  }
  EXPECT_THAT(FileNamesIn(dir), ::testing::ElementsAre(".lock"));
  EXPECT_THAT(FileNamesIn(root), ::testing::ElementsAre("inbox"));
  EXPECT_TRUE(Inbox::CheckDeliveryId(std::string(128, 'a')).ok());
  EXPECT_TRUE(Inbox::CheckDeliveryId("Az09_-").ok());
}

TEST(InboxTest, SecondInboxOnTheSameDirectoryIsRefused) {
  const std::string dir = MakeTempDir("adapters-inbox-lock");
  auto first = Inbox::Open(dir);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Inbox::Open(dir);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(dir));
  first->reset();
  EXPECT_TRUE(Inbox::Open(dir).ok());
}

TEST(InboxTest, OpenRemovesTemporaryFilesOfAnInterruptedStore) {
  const std::string dir = MakeTempDir("adapters-inbox-leftover");
  std::ofstream(dir + "/.tmp-abc-XyZ123") << "{ half";
  auto inbox = Inbox::Open(dir);
  ASSERT_TRUE(inbox.ok()) << inbox.status();
  EXPECT_THAT(FileNamesIn(dir), ::testing::ElementsAre(".lock"));
  EXPECT_FALSE((*inbox)->Contains("abc"));
}

// ---------------------------------------------------------------------------
// Envelope JSON
// ---------------------------------------------------------------------------

TEST(EnvelopeJsonTest, LoadsTheShippedExample) {
  auto e = LoadEnvelopeJson(std::string(PORTCULLIS_SOURCE_DIR) + "/adapters/examples/border-force-referral.json");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->case_reference(), "BF-2026-004512");
  EXPECT_EQ(e->originating_officer(), "BF-LO-4471");
  EXPECT_THAT(e->recipients(), ::testing::ElementsAre("eu/europol"));
  EXPECT_TRUE(e->sender().empty());  // The gateway sets it from the certificate.
  EXPECT_EQ(e->classification(), v1::OFFICIAL_SENSITIVE);
  EXPECT_EQ(e->priority(), v1::URGENT);
  EXPECT_EQ(e->justification().legal_basis(), "DPA 2018 s.35; TCA Art. LAW.EUROPOL.51");
  EXPECT_FALSE(e->justification().purpose().empty());
  EXPECT_EQ(e->uk_grading().source(), v1::UK_SOURCE_2_UNTESTED);
  EXPECT_EQ(e->uk_grading().intelligence(), v1::UK_INTEL_B_INDIRECT_CORROBORATED);
  EXPECT_EQ(e->uk_grading().handling(), v1::UK_HANDLING_P_LAWFUL_SHARING);
  EXPECT_FALSE(e->has_created_at());  // --created-now sets it.
  ASSERT_TRUE(e->has_case_referral());
  const v1::CaseReferral& r = e->case_referral();
  EXPECT_EQ(r.persons_size(), 3);
  EXPECT_EQ(r.persons(0).role(), v1::PILOT);
  for (const auto& p : r.persons()) EXPECT_EQ(p.nationality().size(), 3u);
  EXPECT_EQ(r.suspected_facilitators_size(), 1);
  EXPECT_FALSE(r.requested_action().empty());
  EXPECT_TRUE(r.crossing().has_departure_time());
  EXPECT_TRUE(r.crossing().has_interception_time());
  EXPECT_EQ(r.crossing().vessel().type(), "rigid inflatable boat");
}

TEST(EnvelopeJsonTest, UnknownFieldIsAnErrorNamingTheFile) {
  const std::string path = MakeTempDir("adapters-json-unknown") + "/typo.json";
  std::ofstream(path) << R"({"message_id": "M-1", "case_referal": {"summary": "x"}})";
  auto e = LoadEnvelopeJson(path);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(e.status().message()), StartsWith(path + ": "));
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("case_referal"));
}

TEST(EnvelopeJsonTest, MissingFileAndBadEnumNameAreErrorsNamingTheFile) {
  const std::string dir = MakeTempDir("adapters-json-errors");
  auto missing = LoadEnvelopeJson(dir + "/absent.json");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), StartsWith(dir + "/absent.json: "));

  std::ofstream(dir + "/enum.json") << R"({"classification": "RESTRICTED"})";
  auto bad_enum = LoadEnvelopeJson(dir + "/enum.json");
  EXPECT_EQ(bad_enum.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad_enum.status().message()), StartsWith(dir + "/enum.json: "));

  EXPECT_EQ(LoadEnvelopeJson(dir).status().code(), absl::StatusCode::kFailedPrecondition);  // A directory.
}

TEST(EnvelopeJsonTest, ToJsonUsesProtoFieldNamesAndEnumNames) {
  v1::Envelope e;
  e.set_message_id("M-1");
  e.set_case_reference("BF-2026-000001");
  e.set_classification(v1::OFFICIAL_SENSITIVE);
  const std::string json = ToJson(e);
  EXPECT_THAT(json, HasSubstr("\"message_id\": \"M-1\""));
  EXPECT_THAT(json, HasSubstr("\"case_reference\""));
  EXPECT_THAT(json, HasSubstr("\"OFFICIAL_SENSITIVE\""));
  EXPECT_THAT(json, HasSubstr("\n"));
  auto round_trip = ParseEnvelopeJson(json, "round-trip");
  ASSERT_TRUE(round_trip.ok()) << round_trip.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*round_trip, e));
}

// ---------------------------------------------------------------------------
// DescribeStatus
// ---------------------------------------------------------------------------

TEST(DescribeStatusTest, FormatsTheRefusalInTheStatusDetails) {
  grpc::Status refused = v1::RefusalStatus(grpc::StatusCode::PERMISSION_DENIED, "ROUTE_NOT_PERMITTED",
                                       "envelope.recipients[0]", "no route lets uk/nca send to eu/de-bpol");
  EXPECT_EQ(DescribeStatus(refused),
            "PERMISSION_DENIED (ROUTE_NOT_PERMITTED) envelope.recipients[0]: no route lets uk/nca send to eu/de-bpol");
  EXPECT_EQ(refused.error_message(),
            "ROUTE_NOT_PERMITTED: envelope.recipients[0]: no route lets uk/nca send to eu/de-bpol");
  ASSERT_TRUE(v1::RefusalInStatus(refused).has_value());
  EXPECT_EQ(v1::RefusalInStatus(refused)->field(), "envelope.recipients[0]");

  EXPECT_EQ(DescribeStatus(v1::RefusalStatus(grpc::StatusCode::UNAUTHENTICATED, "PEER_NOT_AUTHENTICATED", "",
                                         "no verified client certificate")),
            "UNAUTHENTICATED (PEER_NOT_AUTHENTICATED): no verified client certificate");
}

TEST(DescribeStatusTest, FallsBackToTheStatusMessage) {
  EXPECT_EQ(DescribeStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "failed to connect to all addresses")),
            "UNAVAILABLE: failed to connect to all addresses");
  EXPECT_EQ(DescribeStatus(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "")), "DEADLINE_EXCEEDED");
  EXPECT_EQ(DescribeStatus(grpc::Status(grpc::StatusCode::INTERNAL, "oops", "not a refusal \xff\xff")),
            "INTERNAL: oops");
  EXPECT_EQ(DescribeStatus(grpc::Status::OK), "OK");
  EXPECT_EQ(StatusCodeName(static_cast<grpc::StatusCode>(42)), "CODE_42");
}

TEST(DescribeStatusTest, AnOfficerAssertionFailureReadsTheSameWhateverGrpcWrapsItIn) {
  const std::string ours = "officer assertion: the assertion command exited 5: identity provider down";
  const std::string want = "UNAVAILABLE: " + ours;
  // gRPC 1.51's words; none (a gRPC that passes the plugin's status through); other words.
  EXPECT_EQ(DescribeStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                        "Getting metadata from plugin failed with error: " + ours)),
            want);
  EXPECT_EQ(DescribeStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, ours)), want);
  EXPECT_EQ(DescribeStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                        "Getting metadata from plugin failed with error: UNAVAILABLE: " + ours)),
            want);
}
}  // namespace
}  // namespace portcullis::adapters
