// The durable outbox end to end (docs/delivery.md): accepted messages and
// their deliveries survive a restart, resubmission after a restart returns
// the original receipt and delivers nothing again, and a message stored
// without its audit record (a crash between the two commits) is paired with
// a "recovered" acceptance record at start-up and then delivered.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <vector>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "adapters/common/partner_endpoint.h"
#include "adapters/common/party_tls.h"
#include "gateway/audit/log_format.h"
#include "gateway/store/sqlite_message_store.h"
#include "tests/support/forwarding_store.h"
#include "tests/support/harness.h"
#include "tests/support/partners.h"
#include "tests/support/poll.h"
#include "tests/support/ports.h"
#include "tests/support/test_storage.h"

namespace portcullis::testing {
namespace {

TEST(Outbox, AcceptedMessagesAreDeliveredAfterARestartAndResubmissionDeliversNothingAgain) {
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("outbox-europol");
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  ho.max_attempts = 1000;  // Europol is down for a while.
  GatewayHarness h("outbox-restart", ho);

  const v1::Envelope envelope = SampleReferral("OUT-1");
  v1::Receipt first;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), envelope, &first).ok());
  EXPECT_EQ(StateOf(h, "OUT-1"), v1::ACCEPTED);

  h.Restart();  // Nothing delivered yet: the message must come back from the store.
  EXPECT_EQ(StateOf(h, "OUT-1"), v1::ACCEPTED) << "the accepted message did not survive the restart";
  eo.listen_address = ho.europol_push_address;
  eo.gateway_address = h.address();
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  ASSERT_TRUE(WaitForState(h, "OUT-1", v1::ACKNOWLEDGED));
  EXPECT_EQ((*endpoint)->stored_count(), 1);

  // The same message again, after another restart: the original receipt, no second delivery.
  h.Restart();
  v1::Receipt again;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), envelope, &again).ok());
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.audit_index(), first.audit_index());
  EXPECT_EQ(again.envelope_sha256(), first.envelope_sha256());
  EXPECT_EQ(StateOf(h, "OUT-1"), v1::ACKNOWLEDGED) << "the acknowledgement did not survive the restart";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ((*endpoint)->stored_count(), 1) << "delivered again";
}

TEST(Outbox, AMessageStoredWithoutItsAuditRecordIsPairedAtStartUp) {
  SkipUnlessFileStorage("start-up pairing of a message in the SQLite file without its record (PostgreSQL commits "
                        "a message and its record in one transaction: PgAcceptance)");
  GatewayHarness h("outbox-pairing");
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("PAIR-1"), &receipt).ok());
  h.Stop();
  const size_t lines_before = h.AuditLines().size();
  {
    // What a crash between the store's commit and the audit log's leaves.
    SqliteStoreOptions o;
    o.path = h.dir() + "/outbox.db";
    auto store = SqliteMessageStore::Open(o);
    ASSERT_TRUE(store.ok()) << store.status();
    v1::Envelope e = SampleReferral("PAIR-2");
    e.set_sender("uk/border-force");
    ASSERT_EQ((*store)->Reserve(e.sender(), e.message_id(), "f00d").outcome, ReserveOutcome::kNew);
    v1::Receipt r;
    r.set_message_id("PAIR-2");
    r.set_sender("uk/border-force");
    r.set_envelope_sha256("f00d");
    ASSERT_TRUE((*store)->CommitWithAuditSize(e, r, lines_before).ok());
  }
  h.Restart();
  const std::vector<std::string> lines = h.AuditLines();
  int recovered = 0;
  for (size_t i = lines_before; i < lines.size(); ++i) {
    auto r = ParseLine(lines[i]);
    ASSERT_TRUE(r.ok());
    if (r->message_id == "PAIR-2" && r->action == "submit" && r->outcome == "accepted") {
      ++recovered;
      EXPECT_NE(r->detail.find("recovered at start-up"), std::string::npos) << lines[i];
      EXPECT_EQ(r->payload_sha256, "f00d");
    }
    EXPECT_NE(r->message_id, "PAIR-1") << "an already paired message was recorded again";
  }
  EXPECT_EQ(recovered, 1);
  // Europol receives by pull in the default harness: both deliveries wait in its backlog.
  EXPECT_EQ(BacklogMessages(h, "eu/europol"), 2u)
      << "both accepted messages are queued again for Europol";

  // A second restart finds nothing left to pair.
  h.Restart();
  int again = 0;
  for (const std::string& line : h.AuditLines()) again += line.find("recovered at start-up") != std::string::npos;
  EXPECT_EQ(again, 1);
}

TEST(Outbox, PartnerDownThenUpGetsOneCaseInSubmissionOrder) {
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("outbox-order");
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  ho.max_attempts = 1000;
  GatewayHarness h("outbox-order", ho);
  const int kMessages = 8;
  for (int i = 0; i < kMessages; ++i) {
    v1::Receipt r;
    ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("ORD-" + std::to_string(i)), &r).ok());
  }
  // Several failed attempts each, with jittered backoff, before Europol comes up.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  std::mutex mu;
  std::vector<std::string> order;
  eo.listen_address = ho.europol_push_address;
  eo.gateway_address = h.address();
  eo.on_stored = [&](const v1::Delivery& d) {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(d.envelope().message_id());
  };
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  WaitUntil([&] { return (*endpoint)->stored_count() >= kMessages; },
            std::chrono::seconds(10), std::chrono::milliseconds(50));
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(order.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(order[i], "ORD-" + std::to_string(i)) << "position " << i;
}

TEST(Outbox, AFullBacklogRefusesWithResourceExhaustedAndLosesNothing) {
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("outbox-backlog");
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  ho.max_attempts = 1000;
  ho.max_backlog_messages = 3;
  GatewayHarness h("outbox-backlog", ho);
  auto bf = h.Client("parties/uk-border-force");
  for (int i = 0; i < 3; ++i) {
    v1::Receipt r;
    ASSERT_TRUE(Submit(*bf, SampleReferral("BL-" + std::to_string(i)), &r).ok()) << i;
  }
  v1::Receipt none;
  grpc::Status full = Submit(*bf, SampleReferral("BL-3"), &none);
  EXPECT_EQ(full.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ReasonOf(full), "BACKLOG_FULL");
  EXPECT_EQ(FieldOf(full), "recipients");
  EXPECT_NE(full.error_message().find("eu/europol"), std::string::npos) << full.error_message();
  EXPECT_TRUE(h.WaitForAudit({"\"message_id\":\"BL-3\"", "\"outcome\":\"refused\"", "BACKLOG_FULL"}));
  // The backlog is counted again from the store after a restart.
  h.Restart();
  bf = h.Client("parties/uk-border-force");
  EXPECT_EQ(Submit(*bf, SampleReferral("BL-3"), &none).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  // Europol comes back: the three accepted are delivered, and there is room again.
  eo.listen_address = ho.europol_push_address;
  eo.gateway_address = h.address();
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  WaitUntil([&] { return (*endpoint)->stored_count() >= 3; }, std::chrono::seconds(10), std::chrono::milliseconds(50));
  EXPECT_EQ((*endpoint)->stored_count(), 3);
  // The room comes back once each outcome is recorded, just after the endpoint stored it.
  WaitUntil([&] { return BacklogMessages(h, "eu/europol") == 0; },
            std::chrono::seconds(10), std::chrono::milliseconds(50));
  v1::Receipt later;
  EXPECT_TRUE(Submit(*bf, SampleReferral("BL-3"), &later).ok());
}

int DeliverAttempts(GatewayHarness& h) {
  int n = 0;
  for (const std::string& line : h.AuditLines()) n += line.find("\"action\":\"deliver\"") != std::string::npos;
  return n;
}

TEST(Outbox, ADeadPartnerIsLeftAloneByItsCircuitBreakerThenProbed) {
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("outbox-breaker");
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  ho.max_attempts = 1000;
  ho.breaker_failures = 3;
  ho.breaker_cooldown_ms = 1500;
  GatewayHarness h("outbox-breaker", ho);
  auto bf = h.Client("parties/uk-border-force");
  for (int i = 0; i < 6; ++i) {
    v1::Envelope e = SampleReferral("CB-" + std::to_string(i));
    e.set_case_reference("CB-CASE-" + std::to_string(i));  // Six lanes, all to Europol.
    v1::Receipt r;
    ASSERT_TRUE(Submit(*bf, e, &r).ok());
  }
  // Without the breaker six lanes retrying every 50-500 ms would make dozens of
  // attempts in a second; with it, the first failures open it and nothing more goes.
  WaitUntil([&] { return h.gateway()->dispatcher()->breakers().StateOf("eu/europol") == "open"; },
            std::chrono::seconds(2), std::chrono::milliseconds(10));
  ASSERT_EQ(h.gateway()->dispatcher()->breakers().StateOf("eu/europol"), "open");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // Attempts already in flight end (refused).
  const int opened = DeliverAttempts(h);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // Still inside the 1.5 s cool-down.
  EXPECT_EQ(DeliverAttempts(h), opened) << "attempts went to a destination whose breaker is open";
  EXPECT_LE(opened, 6 + 2);

  // Europol comes back: the probe after the cool-down closes the breaker and all six arrive.
  eo.listen_address = ho.europol_push_address;
  eo.gateway_address = h.address();
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  WaitUntil([&] { return (*endpoint)->stored_count() >= 6; },  // Up to 30 s on slow sanitizer builds.
            std::chrono::seconds(30), std::chrono::milliseconds(50));
  EXPECT_EQ((*endpoint)->stored_count(), 6);
  EXPECT_EQ(h.gateway()->dispatcher()->breakers().StateOf("eu/europol"), "closed");
}

TEST(Outbox, AHangingPartnerHoldsAtMostWorkersPushes) {
  // A listener that never accepts: TCP connects, TLS never answers.
  SilentListener silent;
  ASSERT_NE(silent.port(), 0);

  HarnessOptions ho;
  ho.europol_push_address = silent.address();
  ho.workers = 2;
  GatewayHarness h("outbox-workers", ho);
  auto bf = h.Client("parties/uk-border-force");
  for (int i = 0; i < 6; ++i) {
    v1::Envelope e = SampleReferral("HANG-" + std::to_string(i));
    e.set_case_reference("HANG-CASE-" + std::to_string(i));
    v1::Receipt r;
    grpc::Status s = Submit(*bf, e, &r);
    ASSERT_TRUE(s.ok()) << i << ": " << s.error_code() << " " << ReasonOf(s) << " " << s.error_message();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // Attempts time out after 2 s.
  EXPECT_EQ(h.gateway()->dispatcher()->pushes_in_flight("eu/europol"), 2);
  h.Stop();
}

TEST(Outbox, TrackShowsAttemptsLastErrorAndNextAttempt) {
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("outbox-track");
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));  // Nobody listens.
  ho.max_attempts = 1000;
  GatewayHarness h("outbox-track", ho);
  v1::Receipt r;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("TRK-1"), &r).ok());
  v1::RecipientStatus status;
  for (int i = 0; i < 100 && status.attempts() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    grpc::ClientContext ctx;
    v1::TrackRequest tr;
    tr.set_message_id("TRK-1");
    v1::TrackResponse track;
    ASSERT_TRUE(h.Client("parties/uk-border-force")->Track(&ctx, tr, &track).ok());
    status = track.recipients(0);
  }
  EXPECT_GE(status.attempts(), 2u);
  EXPECT_EQ(status.state(), v1::ACCEPTED);
  EXPECT_FALSE(status.reason().empty()) << "no last error";
  ASSERT_TRUE(status.has_next_attempt_at());
  EXPECT_GT(status.next_attempt_at().seconds(), status.updated_at().seconds() - 1);
}

TEST(Outbox, AMessageWhoseAuditRecordFailedIsWithdrawnAndNeverDelivered) {
  auto fail = std::make_shared<std::atomic<bool>>(false);
  HarnessOptions ho;
  ho.hooks.audit_fault_injector = [fail](absl::string_view op) {
    return *fail && op == "sync" ? absl::UnavailableError("injected fdatasync failure: EIO") : absl::OkStatus();
  };
  GatewayHarness h("outbox-withdrawn", ho);
  *fail = true;
  if (TestsOnPostgres()) CutOffDatabase(h.store_dsn(), true);  // The database is gone.
  v1::Receipt none;
  grpc::Status s = Submit(*h.Client("parties/uk-border-force"), SampleReferral("WD-1"), &none);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ReasonOf(s), "AUDIT_UNAVAILABLE");
  *fail = false;  // The disk is mended; the operator restarts the gateway.
  if (TestsOnPostgres()) CutOffDatabase(h.store_dsn(), false);
  h.Restart();
  EXPECT_EQ(StateOf(h, "WD-1"), v1::DELIVERY_STATE_UNSPECIFIED) << "the withdrawn message is still there";
  EXPECT_EQ(BacklogMessages(h, "eu/europol"), 0u);
  for (const std::string& line : h.AuditLines()) {
    EXPECT_EQ(line.find("recovered at start-up"), std::string::npos) << "a withdrawn message was recovered";
  }
}

TEST(Outbox, AJobSettledWhileParkedHandsItsTurnToTheNextParkedJob) {
  // workers 1: A is pushing (slowly), B and C wait for the slot. Europol
  // acknowledges B before it is pushed (it had it some other way); when A
  // ends, B's turn finds it settled and must pass the slot on to C.
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("outbox-parked");
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  ho.workers = 1;
  GatewayHarness h("outbox-parked", ho);
  eo.listen_address = ho.europol_push_address;
  eo.gateway_address = h.address();
  eo.fault = [](const v1::Delivery& d) {
    adapters::DeliverFault f;
    if (d.envelope().message_id() == "PK-A") f.delay = std::chrono::milliseconds(1500);
    return f;
  };
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  auto bf = h.Client("parties/uk-border-force");
  for (const char* id : {"PK-A", "PK-B", "PK-C"}) {
    v1::Envelope e = SampleReferral(id);
    e.set_case_reference(std::string("CASE-") + id);  // Three lanes: only the worker slot orders them.
    v1::Receipt r;
    ASSERT_TRUE(Submit(*bf, e, &r).ok()) << id;
  }
  WaitUntil([&] { return h.gateway()->dispatcher()->pushes_in_flight("eu/europol") != 0; },
            std::chrono::seconds(1), std::chrono::milliseconds(10));
  grpc::ClientContext ctx;
  v1::AcknowledgeRequest ack;
  ack.set_sender("uk/border-force");
  ack.set_message_id("PK-B");
  ack.set_decision(v1::ACCEPT);
  ack.set_officer("EUROPOL-LO-17");
  v1::AcknowledgeResponse ar;
  ASSERT_TRUE(h.Client("parties/eu-europol")->Acknowledge(&ctx, ack, &ar).ok());
  EXPECT_TRUE(WaitForState(h, "PK-C", v1::ACKNOWLEDGED)) << "C was stranded behind the settled B";
  WaitUntil([&] { return BacklogMessages(h, "eu/europol") == 0; },
            std::chrono::seconds(10), std::chrono::milliseconds(50));
  EXPECT_EQ(BacklogMessages(h, "eu/europol"), 0u);
}

TEST(Outbox, AnUndeliverableMessageExpiresIntoTheDeadLettersAndFreesItsBacklog) {
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(EuropolEndpoint("outbox-expiry")));
  ho.max_age_ms = 1500;
  ho.max_attempts = 0;  // Retry until it expires.
  ho.max_backlog_messages = 1;
  GatewayHarness h("outbox-expiry", ho);
  auto bf = h.Client("parties/uk-border-force");
  v1::Receipt r;
  ASSERT_TRUE(Submit(*bf, SampleReferral("EXP-1"), &r).ok());
  EXPECT_EQ(Submit(*bf, SampleReferral("EXP-2"), &r).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  ASSERT_TRUE(WaitForState(h, "EXP-1", v1::EXPIRED));
  grpc::ClientContext ctx;
  v1::TrackRequest tr;
  tr.set_message_id("EXP-1");
  v1::TrackResponse track;
  ASSERT_TRUE(h.Client("parties/uk-border-force")->Track(&ctx, tr, &track).ok());
  EXPECT_NE(track.recipients(0).reason().find("not delivered within the maximum age; last error:"), std::string::npos)
      << track.recipients(0).reason();
  EXPECT_FALSE(track.recipients(0).has_next_attempt_at());
  EXPECT_TRUE(h.WaitForAudit({"\"message_id\":\"EXP-1\"", "\"outcome\":\"expired\"", "DELIVERY_EXPIRED"}));
  // The dead letter holds no room: the next message is accepted.
  EXPECT_TRUE(Submit(*bf, SampleReferral("EXP-2"), &r).ok());
  // Still expired after a restart, and never attempted again.
  auto exp1_attempts = [&h] {
    int n = 0;
    for (const std::string& line : h.AuditLines()) {
      n += line.find("\"message_id\":\"EXP-1\"") != std::string::npos &&
           line.find("\"action\":\"deliver\"") != std::string::npos;
    }
    return n;
  };
  const int before = exp1_attempts();
  h.Restart();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(StateOf(h, "EXP-1"), v1::EXPIRED);
  EXPECT_EQ(exp1_attempts(), before) << "an expired delivery was attempted again";
}

TEST(Outbox, ABacklogLargerThanTheWindowWaitsOnDiskNotInMemoryAndDrainsInOrder) {
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("outbox-window");
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  ho.breaker_failures = 2;  // Europol is down: the breaker keeps the gateway from hammering it.
  ho.breaker_cooldown_ms = 500;
  ho.max_attempts = 0;  // However long the submissions take (sanitizer builds), nothing gives up.
  ho.workers = 16;
  GatewayHarness h("outbox-window", ho);
  const int kMessages = static_cast<int>(Dispatcher::kWindow) + 300;
  const int kCases = 3;
  {
    std::vector<std::thread> senders;
    std::atomic<int> failed{0};
    for (int t = 0; t < 4; ++t) {
      senders.emplace_back([&, t] {
        auto bf = h.Client("parties/uk-border-force");
        // Each case's messages come from one thread, in order.
        for (int i = t; i < kMessages; i += 4) {
          v1::Envelope e = SampleReferral("WIN-" + std::to_string(i));
          e.set_case_reference("WIN-CASE-" + std::to_string(t % kCases));
          v1::Receipt r;
          if (!Submit(*bf, e, &r).ok()) ++failed;
        }
      });
    }
    for (auto& th : senders) th.join();
    ASSERT_EQ(failed.load(), 0);
  }
  Dispatcher* d = h.gateway()->dispatcher();
  EXPECT_EQ(BacklogMessages(h, "eu/europol"), static_cast<uint64_t>(kMessages));
  EXPECT_LE(d->held_in_memory("eu/europol"), Dispatcher::kWindow) << "the backlog beyond the window must stay on disk";

  std::mutex mu;
  std::map<std::string, std::vector<int>> order;  // case -> message numbers as stored
  eo.listen_address = ho.europol_push_address;
  eo.gateway_address = h.address();
  eo.on_stored = [&](const v1::Delivery& del) {
    std::lock_guard<std::mutex> lock(mu);
    order[del.envelope().case_reference()].push_back(std::stoi(del.envelope().message_id().substr(4)));
  };
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  WaitUntil([&] { return (*endpoint)->stored_count() >= kMessages; },  // Up to 200 s (sanitizer builds).
            std::chrono::seconds(200), std::chrono::milliseconds(50));
  EXPECT_EQ((*endpoint)->stored_count(), kMessages);
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& [c, numbers] : order) {
    // Per case, each sender thread's messages (numbers t, t+4, ...) arrive in the order it submitted them.
    std::map<int, int> last;  // thread -> last number seen
    for (int n : numbers) {
      auto it = last.find(n % 4);
      if (it != last.end()) {
        EXPECT_GT(n, it->second) << c << " out of order";
      }
      last[n % 4] = n;
    }
  }
  // Each outcome is recorded just after the endpoint stored it: wait for the last ones.
  WaitUntil([&] { return d->held_in_memory("eu/europol") == 0; },
            std::chrono::seconds(10), std::chrono::milliseconds(50));
  EXPECT_EQ(d->held_in_memory("eu/europol"), 0u);
}

// A store whose next asynchronous recipient update commits but answers
// UNKNOWN (the COMMIT's answer lost), `lose` times.
class LostAnswerStore final : public ForwardingStore {
 public:
  LostAnswerStore(std::unique_ptr<MessageStore> inner, std::shared_ptr<std::atomic<int>> lose)
      : ForwardingStore(std::move(inner)), lose_(std::move(lose)) {}
  void UpdateRecipientAsync(const std::string& sender, const std::string& message_id, const std::string& party,
                            std::function<absl::Status(RecipientRecord&)> update, RecipientDone done) override {
    const bool lost = lose_->fetch_sub(1) > 0;
    inner().UpdateRecipientAsync(sender, message_id, party, std::move(update),
                                 [lost, done = std::move(done)](absl::StatusOr<RecipientRecord> r) {
                                   if (lost && r.ok()) return done(absl::UnknownError("injected: COMMIT answer lost"));
                                   done(std::move(r));
                                 });
  }

 private:
  std::shared_ptr<std::atomic<int>> lose_;
};

// A push delivered whose DELIVERED committed though the store answered
// UNKNOWN: the dispatcher's next attempt finds it DELIVERED, writes its
// "delivered" record then and releases its backlog room (issue 14 review).
TEST(Outbox, ADeliveryWhoseOutcomeAnswerWasLostIsRecordedAndReleasedWhenFoundDelivered) {
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("outbox-lost-answer");
  eo.auto_accept = false;  // The row stays DELIVERED.
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  ho.max_backlog_messages = 1;
  auto lose = std::make_shared<std::atomic<int>>(1);
  ho.hooks.wrap_store = [lose](std::unique_ptr<MessageStore> inner) -> std::unique_ptr<MessageStore> {
    return std::make_unique<LostAnswerStore>(std::move(inner), lose);
  };
  GatewayHarness h("outbox-lost-answer", ho);
  eo.listen_address = ho.europol_push_address;
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  v1::Receipt r;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("LOST-1"), &r).ok());
  ASSERT_TRUE(WaitForState(h, "LOST-1", v1::DELIVERED));
  EXPECT_TRUE(h.WaitForAudit({"\"message_id\":\"LOST-1\"", "\"action\":\"deliver\"", "\"outcome\":\"delivered\""}))
      << "the delivery was never recorded";
  // Its room was released: the next message fits in the backlog of one.
  EXPECT_TRUE(WaitUntil([&] { return BacklogMessages(h, "eu/europol") == 0; }));
  EXPECT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("LOST-2"), &r).ok());
}

// A store whose asynchronous recipient updates run twice, as a rerun of the
// writer's op does: first on the row as read (the run that is rolled back),
// then, after another gateway decided the delivery (ACKNOWLEDGED, written
// here straight to the store), on the row as it now stands.
class RerunStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  void UpdateRecipientAsync(const std::string& sender, const std::string& message_id, const std::string& party,
                            std::function<absl::Status(RecipientRecord&)> update, RecipientDone done) override {
    auto m = inner().Get(sender, message_id);
    if (m.ok()) {
      for (const RecipientRecord& r : (*m)->recipients) {
        if (r.party != party) continue;
        RecipientRecord first = r;
        update(first).IgnoreError();  // The first run, rolled back.
      }
    }
    auto decided = inner().UpdateRecipient(sender, message_id, party, [](RecipientRecord& r) {
      r.state = v1::ACKNOWLEDGED;
      return absl::OkStatus();
    });
    if (!decided.ok()) return done(decided.status());
    inner().UpdateRecipientAsync(sender, message_id, party, std::move(update), std::move(done));
  }
};

// The push outcome's callback keeps nothing of a first run: that run saw the
// row ACCEPTED ("release the room"); the run that commits sees it decided by
// another gateway (which released the room itself) and releases nothing.
TEST(Outbox, ARerunOfThePushOutcomeUpdateReleasesNothingTwice) {
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("outbox-rerun");
  eo.auto_accept = false;
  HarnessOptions ho;
  ho.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  ho.hooks.wrap_store = [](std::unique_ptr<MessageStore> inner) -> std::unique_ptr<MessageStore> {
    return std::make_unique<RerunStore>(std::move(inner));
  };
  GatewayHarness h("outbox-rerun", ho);
  eo.listen_address = ho.europol_push_address;
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  v1::Receipt r;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("RERUN-1"), &r).ok());
  ASSERT_TRUE(WaitForState(h, "RERUN-1", v1::ACKNOWLEDGED));
  ASSERT_TRUE(h.WaitForAudit({"\"message_id\":\"RERUN-1\"", "\"action\":\"deliver\""}));
  // The job is finished (after its outcome's callback released what it released).
  EXPECT_TRUE(WaitUntil([&] { return h.gateway()->dispatcher()->held_in_memory("eu/europol") == 0; }));
  // The room is the deciding gateway's to release (here nobody's): still held.
  // On PostgreSQL nothing is held in memory: the database counts the row,
  // decided (not ACCEPTED) whoever decided it.
  EXPECT_EQ(BacklogMessages(h, "eu/europol"), TestsOnPostgres() ? 0u : 1u);
  EXPECT_EQ(h.gateway()->dispatcher()->metrics()->Snapshot()["eu/europol"].delivered, 0u);
}

}  // namespace
}  // namespace portcullis::testing
