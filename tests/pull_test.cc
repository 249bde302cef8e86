// Pull mode end to end (docs/delivery.md, "Pull mode"): a Receive stream
// sends what the party has not confirmed, in order, at most max_unconfirmed
// ahead of its confirmations; after a disconnect (also across a gateway
// restart) the next stream resumes after the last confirmed delivery, so
// nothing is lost and nothing confirmed is sent again; a newer stream
// replaces the older one.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/harness.h"

namespace portcullis::testing {
namespace {

constexpr int kMessages = 10;

// NCA sends BSC (a pull-mode party) MSG-0 .. MSG-9.
void SubmitToBsc(GatewayHarness& h, int n) {
  auto nca = h.Client("parties/uk-nca");
  for (int i = 0; i < n; ++i) {
    v1::Receipt r;
    ASSERT_TRUE(Submit(*nca, SampleReferral("MSG-" + std::to_string(i), {"uk/bsc"}), &r).ok()) << i;
  }
}

// An open Receive stream of BSC.
struct Stream {
  std::unique_ptr<v1::Exchange::Stub> stub;
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::Delivery>> reader;

  Stream(GatewayHarness& h, const std::string& resume_after = "", uint32_t max_unconfirmed = 0)
      : stub(h.Client("parties/uk-bsc")) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::ReceiveRequest req;
    req.set_resume_after_delivery_id(resume_after);
    req.set_max_unconfirmed(max_unconfirmed);
    reader = stub->Receive(&ctx, req);
  }
  // The message ids of the next n deliveries (their delivery ids in *ids).
  std::vector<std::string> Read(int n, std::vector<std::string>* ids = nullptr) {
    std::vector<std::string> out;
    v1::Delivery d;
    for (int i = 0; i < n && reader->Read(&d); ++i) {
      out.push_back(d.envelope().message_id());
      if (ids != nullptr) ids->push_back(d.delivery_id());
    }
    return out;
  }
  void Close() {
    ctx.TryCancel();
    v1::Delivery d;
    while (reader->Read(&d)) {
    }
    reader->Finish().ok();
  }
};

std::vector<std::string> Ids(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back("MSG-" + std::to_string(i));
  return out;
}

grpc::Status Confirm(GatewayHarness& h, const std::string& through, uint32_t* confirmed = nullptr) {
  grpc::ClientContext ctx;
  v1::ConfirmRequest req;
  req.set_through_delivery_id(through);
  v1::ConfirmResponse resp;
  grpc::Status s = h.Client("parties/uk-bsc")->Confirm(&ctx, req, &resp);
  if (confirmed != nullptr) *confirmed = resp.confirmed();
  return s;
}

TEST(Pull, AStreamResumesAfterTheLastConfirmedDeliveryAlsoAcrossARestart) {
  GatewayHarness h("pull-resume");
  SubmitToBsc(h, kMessages);
  std::vector<std::string> ids;
  {
    Stream first(h);
    EXPECT_EQ(first.Read(4, &ids), Ids(0, 4));
    uint32_t confirmed = 0;
    ASSERT_TRUE(Confirm(h, ids[1], &confirmed).ok());  // BSC holds MSG-0 and MSG-1.
    EXPECT_EQ(confirmed, 2u);
    first.Close();  // MSG-2 and MSG-3 were sent but never confirmed.
  }
  EXPECT_EQ(StateOf(h, "MSG-1", "parties/uk-nca"), v1::DELIVERED);
  EXPECT_EQ(StateOf(h, "MSG-2", "parties/uk-nca"), v1::ACCEPTED) << "sent is not received until confirmed";
  EXPECT_EQ(BacklogMessages(h, "uk/bsc"), uint64_t{kMessages - 2});

  h.Restart();
  ids.clear();
  {
    // No cursor given: everything unconfirmed, in order, MSG-2 first again.
    Stream second(h);
    EXPECT_EQ(second.Read(3, &ids), Ids(2, 5));
    second.Close();
  }
  {
    // The cursor confirms through MSG-4 and resumes after it.
    Stream third(h, ids[2]);
    std::vector<std::string> rest_ids;
    EXPECT_EQ(third.Read(kMessages - 5, &rest_ids), Ids(5, kMessages));
    ASSERT_TRUE(Confirm(h, rest_ids.back()).ok());
    third.Close();
  }
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(StateOf(h, "MSG-" + std::to_string(i), "parties/uk-nca"), v1::DELIVERED) << i;
  EXPECT_EQ(BacklogMessages(h, "uk/bsc"), 0u);
  // Every confirmed delivery is in the audit log once, as delivered.
  int delivered = 0;
  for (const std::string& line : h.AuditLines()) {
    delivered += line.find("\"action\":\"deliver\"") != std::string::npos &&
                 line.find("\"outcome\":\"delivered\"") != std::string::npos;
  }
  EXPECT_EQ(delivered, kMessages);
}

TEST(Pull, AStreamSendsAtMostMaxUnconfirmedAheadOfItsConfirmations) {
  GatewayHarness h("pull-window");
  SubmitToBsc(h, kMessages);
  Stream s(h, "", 3);
  std::vector<std::string> ids;
  EXPECT_EQ(s.Read(3, &ids), Ids(0, 3));
  // The gateway waits for a confirmation before a fourth.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(h.gateway()->dispatcher()->pull_streams()->unconfirmed("uk/bsc"), 3u);
  ASSERT_TRUE(Confirm(h, ids[0]).ok());
  EXPECT_EQ(s.Read(1, &ids), Ids(3, 4));
  ASSERT_TRUE(Confirm(h, ids[3]).ok());
  EXPECT_EQ(s.Read(3), Ids(4, 7));
  s.Close();
}

TEST(Pull, AWindowOfOneAdvancesWithEachConfirmation) {
  // A confirmation may reach the gateway before the write's completion is
  // reported to it: the window must reopen all the same.
  GatewayHarness h("pull-window-one");
  SubmitToBsc(h, kMessages);
  Stream s(h, "", 1);
  for (int i = 0; i < kMessages; ++i) {
    std::vector<std::string> ids;
    ASSERT_EQ(s.Read(1, &ids), Ids(i, i + 1)) << "stalled at " << i;
    ASSERT_TRUE(Confirm(h, ids[0]).ok());
  }
  s.Close();
  EXPECT_EQ(BacklogMessages(h, "uk/bsc"), 0u);
}

TEST(Pull, ANewerStreamReplacesTheOlderOne) {
  GatewayHarness h("pull-replace");
  SubmitToBsc(h, 2);
  Stream old_stream(h);
  EXPECT_EQ(old_stream.Read(2), Ids(0, 2));
  Stream newer(h);  // E.g. the adapter reconnected after its network dropped.
  EXPECT_EQ(newer.Read(2), Ids(0, 2)) << "unconfirmed deliveries go to the new stream";
  v1::Delivery d;
  EXPECT_FALSE(old_stream.reader->Read(&d));
  grpc::Status ended = old_stream.reader->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(ReasonOf(ended), "RECEIVE_STREAM_REPLACED");
  newer.Close();
}

TEST(Pull, ConfirmRefusesUnknownDeliveriesAndPushParties) {
  GatewayHarness h("pull-refusals");
  SubmitToBsc(h, 1);
  grpc::Status missing = Confirm(h, "");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldOf(missing), "through_delivery_id");
  grpc::Status unknown = Confirm(h, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(unknown), "DELIVERY_NOT_FOUND");
  Stream bad_cursor(h, "0123456789abcdef0123456789abcdef");
  v1::Delivery d;
  EXPECT_FALSE(bad_cursor.reader->Read(&d));
  grpc::Status s = bad_cursor.reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(FieldOf(s), "resume_after_delivery_id");
  EXPECT_TRUE(h.WaitForAudit({"\"action\":\"confirm\"", "DELIVERY_NOT_FOUND"}));
  EXPECT_EQ(StateOf(h, "MSG-0", "parties/uk-nca"), v1::ACCEPTED) << "a refused cursor confirmed something";

  // A push-mode party has nothing to confirm.
  HarnessOptions push;
  push.europol_push_address = "127.0.0.1:1";
  GatewayHarness p("pull-refusals-push", push);
  grpc::ClientContext ctx;
  v1::ConfirmRequest req;
  req.set_through_delivery_id("0123456789abcdef0123456789abcdef");
  v1::ConfirmResponse resp;
  grpc::Status not_pull = p.Client("parties/eu-europol")->Confirm(&ctx, req, &resp);
  EXPECT_EQ(not_pull.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(not_pull), "NOT_PULL_MODE");
}

}  // namespace
}  // namespace portcullis::testing
