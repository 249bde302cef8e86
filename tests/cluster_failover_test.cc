// Failover time (issue 15 item 6, docs/cluster.md "Tests", docs/benchmarks.md):
// three real portcullis-gateway replicas on one database of a real throw-away
// PostgreSQL push to Europol's real endpoint, which is slow (each delivery
// takes 50 ms), so a backlog for it is always waiting. The replica holding
// Europol's lease (destination_leases) is SIGKILLed; measured: kill -> another
// replica holds the lease, and kill -> the endpoint receives the next delivery
// (the first Deliver call that reaches it more than 100 ms after the kill: one
// within that was on the wire from the dead holder). Repeated; prints
// min/median/max. Checks on the way: one live holder before each kill, a
// different replica after, nobody pushes while the dead holder's lease still
// stands, and resumption within twice the lease.
//   PORTCULLIS_FAILOVER_ROUNDS=<n> (default 5), PORTCULLIS_FAILOVER_LEASE_MS=<ms> (default 5000, the default).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/pg/pg_connection.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/replica_set.h"

namespace portcullis::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

// The live holder of Europol's lease (database clock), "" if none.
std::string Holder(pg::Connection& conn) {
  auto res = conn.Exec(
      "SELECT holder FROM destination_leases WHERE recipient = 'eu/europol' AND holder <> '' AND "
      "expires_micros > (extract(epoch from clock_timestamp()) * 1000000)::bigint");
  if (!res.ok() || res->rows() != 1) return "";
  return std::string(res->Text(0, 0));
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string Summary(std::vector<double> v) {
  if (v.empty()) return "none";
  std::sort(v.begin(), v.end());
  char buf[128];
  std::snprintf(buf, sizeof buf, "min %.0f ms, median %.0f ms, max %.0f ms", v.front(), v[v.size() / 2], v.back());
  return buf;
}

TEST(ClusterFailover, DestinationHolderKilledItsDeliveriesResumeAtAnotherReplica) {
  const int kRounds = EnvInt("PORTCULLIS_FAILOVER_ROUNDS", 5);
  const int kLeaseMs = EnvInt("PORTCULLIS_FAILOVER_LEASE_MS", 5000);
  const int kBacklog = 1200;  // ~15 s of work for the slow endpoint: longer than a failover.
  auto pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << "PostgreSQL did not start: " << pg.status();
  auto dsn = (*pg)->CreateDatabase("failover");
  ASSERT_TRUE(dsn.ok()) << dsn.status();

  std::mutex mu;
  std::vector<Clock::time_point> calls;  // When each Deliver call reached the endpoint.
  RecordingEndpoint endpoint("cluster-failover", 0, [&](const v1::Delivery&) {
    {
      std::lock_guard<std::mutex> lock(mu);
      calls.push_back(Clock::now());
    }
    adapters::DeliverFault slow;
    slow.delay = milliseconds(50);
    return slow;
  });
  ASSERT_TRUE(endpoint.ok());
  auto first_call_after = [&](Clock::time_point t) -> std::optional<Clock::time_point> {
    std::lock_guard<std::mutex> lock(mu);
    auto it = std::find_if(calls.begin(), calls.end(), [&](Clock::time_point c) { return c > t; });
    if (it == calls.end()) return std::nullopt;
    return *it;
  };
  auto calls_between = [&](Clock::time_point from, Clock::time_point to) {
    std::lock_guard<std::mutex> lock(mu);
    return std::count_if(calls.begin(), calls.end(), [&](Clock::time_point c) { return c > from && c < to; });
  };
  // A push the holder sent before it died may still reach the endpoint just after: a call within this of the
  // kill is the dead holder's, not a resumption.
  const auto kOnTheWire = milliseconds(100);

  ReplicaSetOptions o;
  o.dsn = *dsn;
  o.base.europol_push_address = endpoint.address();
  o.base.max_attempts = 0;
  o.base.attempt_timeout_ms = 5000;
  o.lease_ms = kLeaseMs;
  ReplicaSet set("cluster-failover", o);
  ASSERT_TRUE(set.ok());
  auto conn = pg::Connection::Open(*dsn);
  ASSERT_TRUE(conn.ok()) << conn.status();

  ClusterClient client(set.addresses(), "parties/uk-border-force");
  int submitted = 0;
  std::vector<double> takeover_ms, resumed_ms;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // Top the backlog up, with the submits spread over the replicas.
    while (submitted - static_cast<int>(endpoint.stored()) < kBacklog) {
      auto r = client.SubmitAnywhere(SampleReferral("F-" + std::to_string(submitted)), submitted, seconds(30));
      ASSERT_TRUE(r.status.ok()) << ReasonOf(r.status) << " " << r.status.error_message();
      ++submitted;
    }
    std::string holder;
    ASSERT_TRUE(WaitUntil([&] { return !(holder = Holder(**conn)).empty(); }, seconds(30)))
        << "no replica holds Europol's lease";
    const size_t stored_before = endpoint.stored();
    ASSERT_TRUE(WaitUntil([&] { return endpoint.stored() > stored_before; }, seconds(30)))
        << "nothing is being delivered";
    const int victim = std::atoi(holder.c_str() + 1) - 1;  // "r2" -> 1
    ASSERT_TRUE(victim >= 0 && victim < set.size()) << "holder '" << holder << "'";

    set.Kill(victim);
    const Clock::time_point killed = Clock::now();
    std::string next;
    Clock::time_point taken;
    EXPECT_TRUE(WaitUntil([&] {
      next = Holder(**conn);
      taken = Clock::now();
      return !next.empty() && next != holder;
    }, milliseconds(4 * kLeaseMs), milliseconds(20))) << "nobody took over from " << holder;
    EXPECT_TRUE(WaitUntil([&] { return first_call_after(killed + kOnTheWire).has_value(); },
                          milliseconds(4 * kLeaseMs)))
        << "deliveries did not resume";
    const auto resumed = first_call_after(killed + kOnTheWire);
    if (!next.empty() && next != holder && resumed.has_value()) {
      takeover_ms.push_back(Ms(taken - killed));
      resumed_ms.push_back(Ms(*resumed - killed));
      std::printf("[ failover ] round %d: %s killed; %s holds the lease after %.0f ms, the endpoint's next delivery "
                  "after %.0f ms\n",
                  round, holder.c_str(), next.c_str(), takeover_ms.back(), resumed_ms.back());
      // Nobody pushes while the dead holder's lease stands (`taken` is when the test saw the new holder, up to
      // one 20 ms poll and a query after it took the lease).
      EXPECT_EQ(calls_between(killed + kOnTheWire, taken - milliseconds(200)), 0)
          << "a replica pushed to Europol while " << holder << "'s lease still stood";
      EXPECT_LE(resumed_ms.back(), 2.0 * kLeaseMs) << "failover slower than twice the lease";
    }
    ASSERT_TRUE(set.Start(victim)) << set.id(victim) << " did not restart; see " << set.log_path(victim);
  }
  std::printf("failover (lease_ms %d, %d rounds): lease taken over %s; next delivery %s\n", kLeaseMs,
              static_cast<int>(resumed_ms.size()), Summary(takeover_ms).c_str(), Summary(resumed_ms).c_str());
  EXPECT_EQ(static_cast<int>(resumed_ms.size()), kRounds);
}

}  // namespace
}  // namespace portcullis::testing
