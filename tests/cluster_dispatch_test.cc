// Two in-process gateways (replicas) on one PostgreSQL database with a real
// partner endpoint (docs/cluster.md, "The unit of claim: a push destination"):
// - only the holder of the destination's lease pushes (every `deliver`
//   record carries its replica id), every message arrives once, each case in
//   order, whichever replica accepted it;
// - a holder that stops gracefully hands the destination to the other at
//   once, which delivers the rest;
// - a dispatcher that loses its lease drops what it holds in memory and
//   starts nothing more until it holds the lease again;
// - jobs of a lost tenure that only wait (a retry's long backoff) are dropped
//   at the loss, so the destination pages again at once when regained.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/common/partner_endpoint.h"
#include "gateway/pg/pg_connection.h"
#include "tests/support/harness.h"
#include "tests/support/partners.h"
#include "tests/support/pg_store_fixtures.h"
#include "tests/support/poll.h"

namespace portcullis::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const char kEuropol[] = "eu/europol";

std::string Db() {
  auto dsn = FreshPgDatabase();
  EXPECT_TRUE(dsn.ok()) << dsn.status();
  if (!dsn.ok()) std::abort();  // A test on PostgreSQL without PostgreSQL means nothing.
  return *dsn;
}

int64_t Scalar(const std::string& dsn, const char* sql, std::initializer_list<pg::Param> params = {}) {
  auto conn = pg::Connection::Open(dsn);
  EXPECT_TRUE(conn.ok()) << conn.status();
  if (!conn.ok()) return -1;
  auto res = (*conn)->Exec(sql, params);
  EXPECT_TRUE(res.ok()) << res.status();
  return res.ok() && res->rows() == 1 ? res->Int(0, 0) : -1;
}

void Exec(const std::string& dsn, const char* sql) {
  auto conn = pg::Connection::Open(dsn);
  ASSERT_TRUE(conn.ok()) << conn.status();
  ASSERT_TRUE((*conn)->Run(sql).ok()) << sql;
}

// Europol's endpoint: what it stored, in order.
class Europol {
 public:
  explicit Europol(const std::string& name) : options_(EuropolEndpoint(name)) {
    address_ = "127.0.0.1:" + std::to_string(ReservePort(options_));
    options_.listen_address = address_;
    options_.on_stored = [this](const v1::Delivery& d) {
      std::lock_guard<std::mutex> lock(mu_);
      stored_.push_back(d);
    };
  }
  const std::string& address() const { return address_; }
  void Start() {
    auto endpoint = adapters::PartnerEndpoint::Start(options_);
    ASSERT_TRUE(endpoint.ok()) << endpoint.status();
    endpoint_ = *std::move(endpoint);
  }
  std::vector<v1::Delivery> stored() {
    std::lock_guard<std::mutex> lock(mu_);
    return stored_;
  }
  size_t count() { return stored().size(); }
  // Every delivery id once; each case's messages in the order of their numbers (message ids "<case>-<n>").
  void ExpectOnceEachCaseInOrder(size_t want) {
    const std::vector<v1::Delivery> all = stored();
    EXPECT_EQ(all.size(), want);
    std::set<std::string> ids;
    std::map<std::string, int> last;
    for (const v1::Delivery& d : all) {
      EXPECT_TRUE(ids.insert(d.delivery_id()).second) << d.delivery_id() << " stored twice";
      const std::string& id = d.envelope().message_id();
      const int n = std::stoi(id.substr(id.rfind('-') + 1));
      auto [it, first] = last.try_emplace(d.envelope().case_reference(), n);
      if (!first) {
        EXPECT_GT(n, it->second) << id << " overtook an earlier message of " << d.envelope().case_reference();
        it->second = n;
      }
    }
  }

 private:
  adapters::PartnerEndpointOptions options_;
  std::string address_;
  std::mutex mu_;
  std::vector<v1::Delivery> stored_;
  std::unique_ptr<adapters::PartnerEndpoint> endpoint_;
};

HarnessOptions Replica(const std::string& dsn, const std::string& id, const Europol& europol) {
  HarnessOptions o;
  o.store_dsn = dsn;
  o.replica_id = id;
  o.europol_push_address = europol.address();
  o.max_attempts = 10000;  // Europol may be down for a while.
  return o;
}

// Message `n` of case `case_ref` (id "<case>-<n>") from Border Force to Europol.
v1::Envelope Message(const std::string& case_ref, int n) {
  v1::Envelope e = SampleReferral(absl::StrCat(case_ref, "-", n));
  e.set_case_reference(case_ref);
  return e;
}

void SubmitOk(GatewayHarness& h, const v1::Envelope& e) {
  v1::Receipt r;
  grpc::Status s = Submit(*h.Client("parties/uk-border-force"), e, &r);
  ASSERT_TRUE(s.ok()) << e.message_id() << ": " << ReasonOf(s) << " " << s.error_message();
}

bool Holds(GatewayHarness& h) { return h.gateway()->leases()->MayStart(kEuropol); }

// The `deliver` records with `outcome`, by replica id.
std::map<std::string, int> DeliverRecords(GatewayHarness& h, const std::string& outcome) {
  std::map<std::string, int> out;
  for (const AuditRecord& r : h.AuditRecords("deliver")) {
    if (r.outcome == outcome) ++out[r.replica_id];
  }
  return out;
}

TEST(ClusterDispatch, OnlyTheHolderPushesAndEachMessageArrivesOnceInCaseOrder) {
  const std::string dsn = Db();
  Europol europol("cluster-once");
  ASSERT_NO_FATAL_FAILURE(europol.Start());
  GatewayHarness a("cluster-once-a", Replica(dsn, "replica-a", europol));
  GatewayHarness b("cluster-once-b", Replica(dsn, "replica-b", europol));
  ASSERT_TRUE(WaitUntil([&] { return Holds(a) || Holds(b); }));
  EXPECT_NE(Holds(a), Holds(b)) << "one holder";
  const std::string holder = Holds(a) ? "replica-a" : "replica-b";
  constexpr int kCases = 3, kPerCase = 20;
  for (int n = 0; n < kPerCase; ++n) {
    for (int c = 0; c < kCases; ++c) {
      // Accepted by either replica.
      ASSERT_NO_FATAL_FAILURE(SubmitOk((n + c) % 2 == 0 ? a : b, Message(absl::StrCat("CL-", c), n)));
    }
  }
  ASSERT_TRUE(WaitUntil([&] { return europol.count() >= kCases * kPerCase; }, seconds(30)))
      << europol.count() << " stored";
  ASSERT_TRUE(WaitUntil([&] { return DeliverRecords(a, "delivered")[holder] == kCases * kPerCase; }));
  europol.ExpectOnceEachCaseInOrder(kCases * kPerCase);
  // Every push came from the holder.
  for (const AuditRecord& r : a.AuditRecords("deliver")) EXPECT_EQ(r.replica_id, holder) << r.message_id;
  EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM destination_leases WHERE recipient = $1 AND holder = $2",
                   {kEuropol, holder}), 1);
}

TEST(ClusterDispatch, AMessageAcceptedByTheOtherReplicaIsFoundWithinAPollInterval) {
  const std::string dsn = Db();
  Europol europol("cluster-poll");
  ASSERT_NO_FATAL_FAILURE(europol.Start());
  GatewayHarness a("cluster-poll-a", Replica(dsn, "replica-a", europol));
  GatewayHarness b("cluster-poll-b", Replica(dsn, "replica-b", europol));
  ASSERT_TRUE(WaitUntil([&] { return Holds(a) || Holds(b); }));
  GatewayHarness& other = Holds(a) ? b : a;  // Accepts; only the holder's dispatcher may push.
  for (int n = 0; n < 3; ++n) {
    const auto submitted = std::chrono::steady_clock::now();
    ASSERT_NO_FATAL_FAILURE(SubmitOk(other, Message("POLL", n)));
    ASSERT_TRUE(WaitUntil([&] { return europol.count() >= static_cast<size_t>(n + 1); }, seconds(30)));
    const auto took = std::chrono::steady_clock::now() - submitted;
    // The holder's rescan runs every cluster.poll_ms (1 s), not at the expiry sweep's pace (10 s here; with
    // the sweep alone, the second and third wait a whole sweep interval). Loose: slow machines, sanitizers.
    EXPECT_LT(std::chrono::duration_cast<milliseconds>(took).count(), 6000) << "ms for message " << n;
  }
  europol.ExpectOnceEachCaseInOrder(3);
}

TEST(ClusterDispatch, AHolderThatStopsHandsItsDestinationToTheOtherReplica) {
  const std::string dsn = Db();
  Europol europol("cluster-handover");  // Down at first: the holder's attempts fail.
  auto a = std::make_unique<GatewayHarness>("cluster-handover-a", Replica(dsn, "replica-a", europol));
  auto b = std::make_unique<GatewayHarness>("cluster-handover-b", Replica(dsn, "replica-b", europol));
  ASSERT_TRUE(WaitUntil([&] { return Holds(*a) || Holds(*b); }));
  if (Holds(*b)) std::swap(a, b);  // a: the holder.
  const std::string holder = a->gateway()->leases()->replica_id();
  const std::string other = b->gateway()->leases()->replica_id();
  for (int n = 0; n < 5; ++n) {
    for (int c = 0; c < 2; ++c) ASSERT_NO_FATAL_FAILURE(SubmitOk(*a, Message(absl::StrCat("HO-", c), n)));
  }
  // The holder is trying (and failing) to push them.
  ASSERT_TRUE(WaitUntil([&] { return DeliverRecords(*a, "attempt_failed")[holder] >= 2; }));
  const auto stopping = std::chrono::steady_clock::now();
  a->Stop();  // Graceful: its leases are released.
  ASSERT_TRUE(WaitUntil([&] { return Holds(*b); }, seconds(10)));
  const auto handed_over = std::chrono::steady_clock::now() - stopping;
  std::printf("handover after a graceful stop: %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(handed_over).count()));
  // At its next lease round (every lease_ms / 5), not after the 5 s lease.
  EXPECT_LT(handed_over, milliseconds(4000));
  for (int n = 5; n < 10; ++n) {
    for (int c = 0; c < 2; ++c) ASSERT_NO_FATAL_FAILURE(SubmitOk(*b, Message(absl::StrCat("HO-", c), n)));
  }
  ASSERT_NO_FATAL_FAILURE(europol.Start());
  ASSERT_TRUE(WaitUntil([&] { return europol.count() >= 20; }, seconds(30))) << europol.count() << " stored";
  ASSERT_TRUE(WaitUntil([&] { return DeliverRecords(*b, "delivered")[other] == 20; }));
  europol.ExpectOnceEachCaseInOrder(20);
  EXPECT_EQ(DeliverRecords(*b, "delivered").count(holder), 0u) << "the stopped replica delivered nothing";
}

TEST(ClusterDispatch, ADispatcherThatLosesItsLeaseStartsNothingMore) {
  const std::string dsn = Db();
  Europol europol("cluster-lost");  // Down at first.
  GatewayHarness a("cluster-lost-a", Replica(dsn, "replica-a", europol));
  ASSERT_TRUE(WaitUntil([&] { return Holds(a); }));
  for (int n = 0; n < 5; ++n) ASSERT_NO_FATAL_FAILURE(SubmitOk(a, Message("LOST", n)));
  ASSERT_TRUE(WaitUntil([&] { return DeliverRecords(a, "attempt_failed")["replica-a"] >= 2; }));
  EXPECT_GT(a.gateway()->dispatcher()->held_in_memory(kEuropol), 0u);
  // Another holder takes the lease over (as if replica-a's had lapsed).
  Exec(dsn, "UPDATE destination_leases SET holder = 'thief', generation = generation + 1, "
            "expires_micros = (extract(epoch from clock_timestamp())*1e6)::bigint + 3600000000 "
            "WHERE recipient = 'eu/europol'");
  ASSERT_TRUE(WaitUntil([&] { return !Holds(a); }, seconds(5))) << "the loss was not noticed at renewal";
  // What it held in memory is dropped at its next step (a retry's backoff).
  ASSERT_TRUE(WaitUntil([&] { return a.gateway()->dispatcher()->held_in_memory(kEuropol) == 0; }, seconds(5)));
  ASSERT_TRUE(WaitUntil([&] { return a.gateway()->dispatcher()->pushes_in_flight(kEuropol) == 0; }, seconds(5)));
  const auto failed_before = DeliverRecords(a, "attempt_failed")["replica-a"];
  ASSERT_NO_FATAL_FAILURE(europol.Start());
  for (int n = 5; n < 10; ++n) ASSERT_NO_FATAL_FAILURE(SubmitOk(a, Message("LOST", n)));
  // Several lease rounds (each a heartbeat) and dispatcher rescans (poll_ms = 1 s) pass.
  const int64_t since = Scalar(dsn, "SELECT (extract(epoch from clock_timestamp())*1e6)::bigint");
  ASSERT_TRUE(WaitUntil([&] {
    return Scalar(dsn, "SELECT heartbeat_micros FROM portcullis_replicas WHERE replica_id = 'replica-a'") >
           since + 3000000;
  }, seconds(10)));
  EXPECT_EQ(europol.count(), 0u) << "pushed without the lease";
  EXPECT_EQ(DeliverRecords(a, "attempt_failed")["replica-a"], failed_before) << "attempted without the lease";
  EXPECT_EQ(a.gateway()->dispatcher()->held_in_memory(kEuropol), 0u) << "read a page without the lease";
  EXPECT_EQ(Scalar(dsn, "SELECT count(*) FROM deliveries WHERE recipient = 'eu/europol' AND state = $1",
                   {static_cast<int>(v1::ACCEPTED)}), 10);
  // The lease is released: replica-a takes it again and delivers everything, in order, from the start.
  Exec(dsn, "UPDATE destination_leases SET holder = '', expires_micros = 0 WHERE recipient = 'eu/europol'");
  ASSERT_TRUE(WaitUntil([&] { return europol.count() >= 10; }, seconds(30))) << europol.count() << " stored";
  europol.ExpectOnceEachCaseInOrder(10);
}

TEST(ClusterDispatch, ARegainedDestinationPagesAtOnceThoughAJobOfTheLostTenureWasInALongBackoff) {
  const std::string dsn = Db();
  Europol europol("cluster-backoff");  // Down throughout: every attempt fails, and is recorded.
  HarnessOptions o = Replica(dsn, "replica-a", europol);
  o.initial_backoff_ms = 60000;  // A failed attempt waits 30..60 s (jitter) for its retry.
  o.max_backoff_ms = 60000;
  GatewayHarness a("cluster-backoff-a", o);
  ASSERT_TRUE(WaitUntil([&] { return Holds(a); }));
  // Attempts recorded for message `id` (any outcome).
  auto attempts = [&](const std::string& id) {
    int n = 0;
    for (const AuditRecord& r : a.AuditRecords("deliver")) n += r.message_id == id ? 1 : 0;
    return n;
  };
  ASSERT_NO_FATAL_FAILURE(SubmitOk(a, Message("SLOW", 0)));
  ASSERT_TRUE(WaitUntil([&] { return attempts("SLOW-0") >= 1; }));
  ASSERT_TRUE(WaitUntil([&] { return a.gateway()->dispatcher()->pushes_in_flight(kEuropol) == 0; }));
  EXPECT_EQ(a.gateway()->dispatcher()->held_in_memory(kEuropol), 1u) << "SLOW-0 waits for its retry";
  // The lease is lost (another holder), while SLOW-0 waits for its backoff.
  Exec(dsn, "UPDATE destination_leases SET holder = 'thief', generation = generation + 1, "
            "expires_micros = (extract(epoch from clock_timestamp())*1e6)::bigint + 3600000000 "
            "WHERE recipient = 'eu/europol'");
  ASSERT_TRUE(WaitUntil([&] { return !Holds(a); }, seconds(5))) << "the loss was not noticed at renewal";
  // Dropped at the loss, not when its backoff ends.
  EXPECT_TRUE(WaitUntil([&] { return a.gateway()->dispatcher()->held_in_memory(kEuropol) == 0; }, seconds(3)));
  // Regained: the new tenure pages at once. A message of another case is attempted now, not after SLOW-0's
  // backoff (which the store keeps: SLOW-0 itself is retried when it is due).
  Exec(dsn, "UPDATE destination_leases SET holder = '', expires_micros = 0 WHERE recipient = 'eu/europol'");
  ASSERT_TRUE(WaitUntil([&] { return Holds(a); }, seconds(5)));
  const auto regained = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(SubmitOk(a, Message("FAST", 0)));
  EXPECT_TRUE(WaitUntil([&] { return attempts("FAST-0") >= 1; }, seconds(10))) << "the new tenure read no page";
  const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - regained);
  EXPECT_LT(took.count(), 10000) << "ms from the regain to FAST-0's attempt";
  EXPECT_EQ(attempts("SLOW-0"), 1) << "SLOW-0 is retried when its stored backoff ends, not before";
  EXPECT_EQ(europol.count(), 0u);
}

}  // namespace
}  // namespace portcullis::testing
