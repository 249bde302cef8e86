// Two in-process gateways ("replicas") on one database of a real PostgreSQL
// started here (issue 15, docs/cluster.md "Backlog bounds" and "Operators"):
// - the backlog bound is counted in the database: filled through both, the
//   next Submit at EITHER is refused RESOURCE_EXHAUSTED BACKLOG_FULL and
//   audited refused; once the deliveries are received there is room again;
// - the same dead-letter retry issued at both at once acts once: one OK, one
//   FAILED_PRECONDITION NOT_A_DEAD_LETTER, the message stored once by the
//   partner;
// - GetDeliveryStats names the answering replica, the lease holder of each
//   push destination, the replicas with their heartbeat age, and reads the
//   backlog cluster-wide.
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/common/partner_endpoint.h"
#include "portcullis/v1/admin.grpc.pb.h"
#include "tests/support/harness.h"
#include "tests/support/partners.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/test_storage.h"

namespace portcullis::testing {
namespace {

constexpr char kOperator[] = "parties/ops-operator";

struct Replicas {
  std::unique_ptr<PgCluster> pg;
  std::unique_ptr<GatewayHarness> a, b;
};

// A cluster, one database, and replicas "replica-a" and "replica-b" on it.
void StartTwo(const std::string& name, HarnessOptions options, Replicas* r) {
  auto pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << "PostgreSQL must start for this test: " << pg.status();
  r->pg = *std::move(pg);
  auto dsn = r->pg->CreateDatabase("cluster");
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  options.store_dsn = *dsn;
  options.replica_id = "replica-a";
  r->a = std::make_unique<GatewayHarness>(name + "-a", options);
  options.replica_id = "replica-b";
  r->b = std::make_unique<GatewayHarness>(name + "-b", options);
}

// A Receive stream of BSC (pull) on one replica.
struct BscStream {
  std::unique_ptr<v1::Exchange::Stub> stub;
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::Delivery>> reader;
  explicit BscStream(GatewayHarness& h) : stub(h.Client("parties/uk-bsc")) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    reader = stub->Receive(&ctx, v1::ReceiveRequest());
  }
  std::vector<std::string> Read(int n) {
    std::vector<std::string> ids;
    v1::Delivery d;
    for (int i = 0; i < n && reader->Read(&d); ++i) ids.push_back(d.delivery_id());
    return ids;
  }
  ~BscStream() {
    ctx.TryCancel();
    v1::Delivery d;
    while (reader->Read(&d)) {
    }
    reader->Finish().ok();
  }
};

grpc::Status SubmitToBsc(GatewayHarness& h, const std::string& id) {
  v1::Receipt r;
  return Submit(*h.Client("parties/uk-nca"), SampleReferral(id, {"uk/bsc"}), &r);
}

TEST(ClusterBacklog, ABoundFilledThroughTwoReplicasRefusesAtEitherAndIsAudited) {
  HarnessOptions o;
  o.max_backlog_messages = 3;
  Replicas r;
  ASSERT_NO_FATAL_FAILURE(StartTwo("cluster-backlog", o, &r));
  ASSERT_TRUE(SubmitToBsc(*r.a, "B-1").ok());
  ASSERT_TRUE(SubmitToBsc(*r.b, "B-2").ok());
  ASSERT_TRUE(SubmitToBsc(*r.a, "B-3").ok());
  // Each replica accepted fewer than the bound: only the database's count sees it full.
  for (GatewayHarness* h : {r.a.get(), r.b.get()}) {
    const std::string id = h == r.a.get() ? "B-4a" : "B-4b";
    grpc::Status s = SubmitToBsc(*h, id);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << id << ": " << s.error_message();
    EXPECT_EQ(ReasonOf(s), "BACKLOG_FULL") << id;
    EXPECT_EQ(FieldOf(s), "recipients") << id;
    EXPECT_NE(s.error_message().find("'uk/bsc' has 3 messages (limit 3)"), std::string::npos) << s.error_message();
  }
  EXPECT_EQ(BacklogMessages(*r.a, "uk/bsc"), 3u);
  // Audited refused (one chain: either replica reads it), nothing stored.
  std::vector<std::string> refused;
  for (const AuditRecord& rec : r.b->AuditRecords("submit")) {
    if (rec.outcome == "refused") {
      EXPECT_EQ(rec.reason, "BACKLOG_FULL") << rec.message_id;
      refused.push_back(rec.message_id);
    }
  }
  EXPECT_EQ(refused, (std::vector<std::string>{"B-4a", "B-4b"}));
  EXPECT_EQ(StateOf(*r.a, "B-4a", "parties/uk-nca"), v1::DELIVERY_STATE_UNSPECIFIED) << "nothing stored";

  // BSC receives at replica A what both accepted and confirms: room again, at either.
  {
    BscStream stream(*r.a);
    std::vector<std::string> ids = stream.Read(3);
    ASSERT_EQ(ids.size(), 3u);
    grpc::ClientContext ctx;
    v1::ConfirmRequest req;
    req.set_through_delivery_id(ids.back());
    v1::ConfirmResponse resp;
    ASSERT_TRUE(r.a->Client("parties/uk-bsc")->Confirm(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.confirmed(), 3u);
  }
  EXPECT_EQ(BacklogMessages(*r.b, "uk/bsc"), 0u);
  EXPECT_TRUE(SubmitToBsc(*r.b, "B-4b").ok());
  EXPECT_TRUE(SubmitToBsc(*r.a, "B-4a").ok());
  EXPECT_EQ(BacklogMessages(*r.a, "uk/bsc"), 2u);
}

grpc::Status Retry(GatewayHarness& h, const std::string& id, v1::DeadLetter* out) {
  v1::RetryDeadLetterRequest req;
  req.set_delivery_id(id);
  req.set_reason("Europol endpoint restored");
  req.set_officer("OPS-7");
  return v1::Admin::NewStub(h.Channel(kOperator))->RetryDeadLetter(CallContext().get(), req, out);
}

TEST(ClusterAdmin, TheSameRetryAtTwoReplicasAtOnceActsOnce) {
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("cluster-retry");
  HarnessOptions o;
  o.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  o.max_attempts = 1;  // Europol answers UNAVAILABLE: FAILED at the first failure.
  Replicas r;
  ASSERT_NO_FATAL_FAILURE(StartTwo("cluster-retry", o, &r));
  // Europol is up (so no channel is in a reconnect backoff later) but in
  // maintenance until the retry.
  std::atomic<bool> down{true};
  eo.fault = [&down](const v1::Delivery&) {
    adapters::DeliverFault f;
    if (down.load()) f.before_store = absl::UnavailableError("maintenance");
    return f;
  };
  eo.listen_address = o.europol_push_address;
  eo.gateway_address = r.a->address();
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*r.a->Client("parties/uk-border-force"), SampleReferral("DL-1"), &receipt).ok());
  ASSERT_TRUE(WaitForState(*r.b, "DL-1", v1::FAILED));
  // Until the lease work lands both replicas may push it: wait until neither
  // holds an attempt that could still fail after the retry.
  ASSERT_TRUE(WaitUntil([&] {
    return r.a->gateway()->dispatcher()->held_in_memory("eu/europol") == 0 &&
           r.b->gateway()->dispatcher()->held_in_memory("eu/europol") == 0;
  }));
  down = false;
  v1::ListDeadLettersRequest list_req;
  list_req.set_reason("incident INC-42");
  v1::ListDeadLettersResponse list;
  ASSERT_TRUE(
      v1::Admin::NewStub(r.b->Channel(kOperator))->ListDeadLetters(CallContext().get(), list_req, &list).ok());
  ASSERT_EQ(list.dead_letters_size(), 1);
  const std::string id = list.dead_letters(0).delivery_id();

  // At both at once.
  v1::DeadLetter out_a, out_b;
  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  auto at_a = std::async(std::launch::async, [&] { start.wait(); return Retry(*r.a, id, &out_a); });
  auto at_b = std::async(std::launch::async, [&] { start.wait(); return Retry(*r.b, id, &out_b); });
  go.set_value();
  const grpc::Status sa = at_a.get(), sb = at_b.get();
  ASSERT_NE(sa.ok(), sb.ok()) << "exactly one acts: " << sa.error_message() << " / " << sb.error_message();
  const grpc::Status& lost = sa.ok() ? sb : sa;
  EXPECT_EQ(lost.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << lost.error_message();
  EXPECT_EQ(ReasonOf(lost), "NOT_A_DEAD_LETTER");
  EXPECT_EQ((sa.ok() ? out_a : out_b).state(), v1::ACCEPTED);
  std::vector<AuditRecord> retries = r.a->AuditRecords("dead_letter_retry");
  ASSERT_EQ(retries.size(), 2u);
  EXPECT_EQ(retries[0].outcome == "ok" ? retries[1].reason : retries[0].reason, "NOT_A_DEAD_LETTER");

  // Delivered, and stored once by the partner.
  ASSERT_TRUE(WaitForState(*r.a, "DL-1", v1::ACKNOWLEDGED));
  EXPECT_EQ((*endpoint)->stored_count(), 1);
  EXPECT_EQ(r.a->AuditRecords("dead_letter_retry").size(), 2u) << "no further retry was needed";
}

TEST(ClusterAdmin, StatsNameTheReplicaTheLeaseHoldersAndTheReplicasAndCountTheBacklogClusterWide) {
  adapters::PartnerEndpointOptions eo = EuropolEndpoint("cluster-stats");
  adapters::PartnerEndpointOptions fo = EuropolEndpoint("cluster-stats-fr");
  HarnessOptions o;
  o.europol_push_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  o.fr_dnpaf_push_address = "127.0.0.1:" + std::to_string(ReservePort(fo));
  Replicas r;
  ASSERT_NO_FATAL_FAILURE(StartTwo("cluster-stats", o, &r));
  ASSERT_TRUE(SubmitToBsc(*r.b, "S-1").ok());
  ASSERT_TRUE(SubmitToBsc(*r.b, "S-2").ok());
  // What the lease and heartbeat loops write (database clock): replica-b
  // holds Europol's lease; fr-dnpaf's lease expired; replica-b beat 3 s ago.
  const char* now = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";
  ExecIn(r.a->store_dsn(),
         std::string("DELETE FROM portcullis_replicas; DELETE FROM destination_leases; ") +
             "INSERT INTO portcullis_replicas VALUES ('replica-a', " + now + ", " + now + ", 'v1 a'), " +
             "('replica-b', " + now + ", " + now + " - 3000000, 'v1 b'); " +
             "INSERT INTO destination_leases VALUES ('eu/europol', 'replica-b', " + now + " + 60000000, " + now +
             ", 1), ('eu/fr-dnpaf', 'replica-a', " + now + " - 1000000, " + now + " - 10000000, 4)");

  v1::DeliveryStats stats;
  grpc::Status s = v1::Admin::NewStub(r.a->Channel(kOperator))
                       ->GetDeliveryStats(CallContext().get(), v1::GetDeliveryStatsRequest(), &stats);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(stats.replica_id(), "replica-a");
  ASSERT_EQ(stats.replicas_size(), 2);
  EXPECT_EQ(stats.replicas(0).replica_id(), "replica-a");
  EXPECT_EQ(stats.replicas(0).info(), "v1 a");
  EXPECT_LT(stats.replicas(0).seconds_since_heartbeat(), 2.0);
  EXPECT_EQ(stats.replicas(1).replica_id(), "replica-b");
  EXPECT_GE(stats.replicas(1).seconds_since_heartbeat(), 3.0);
  EXPECT_LT(stats.replicas(1).seconds_since_heartbeat(), 10.0);
  bool saw_europol = false, saw_fr = false, saw_bsc = false;
  for (const v1::DestinationStats& d : stats.destinations()) {
    if (d.destination() == "eu/europol") {
      saw_europol = true;
      EXPECT_EQ(d.lease_holder(), "replica-b");
    } else if (d.destination() == "eu/fr-dnpaf") {
      saw_fr = true;
      EXPECT_EQ(d.lease_holder(), "") << "an expired lease is held by nobody";
    } else if (d.destination() == "uk/bsc") {
      saw_bsc = true;
      EXPECT_EQ(d.backlog_messages(), 2u) << "accepted by replica-b, counted at replica-a";
      EXPECT_GT(d.backlog_bytes(), 0u);
      EXPECT_EQ(d.lease_holder(), "") << "a pull destination has no lease";
    }
  }
  EXPECT_TRUE(saw_europol && saw_fr && saw_bsc);
}

}  // namespace
}  // namespace portcullis::testing
