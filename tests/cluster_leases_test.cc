// DestinationLeases on a real PostgreSQL (docs/cluster.md, "The unit of
// claim: a push destination"): several instances on one database stand for
// several replicas.
// - A lease is taken, renewed, and held by one replica only.
// - A replica that dies (Stop without release) loses its destinations to
//   another once its lease has expired on the database's clock; one that
//   releases them hands them over at once.
// - Fair share: each takes at most ceil(destinations / live replicas).
// - Nothing is taken or renewed while the storage is unhealthy.
// - A lease taken over by another holder is lost at the next renewal.
// - A replica cut off from the database stops (MayStart false) by its local
//   validity, before the lease expires in the database, and recovers.
// - Two live processes with the same replica id never both lease; the one
//   that does not takes over once the other stops; a release by the one that
//   lost the id clears nothing.
// - Rebalancing: a replica above its fair share for three rounds gives one
//   lease up (the dispatcher told first); a later replica takes it.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/cluster/destination_leases.h"
#include "gateway/pg/pg_connection.h"
#include "tests/support/pg_store_fixtures.h"
#include "tests/support/poll.h"

namespace portcullis::testing {
namespace {

using std::chrono::milliseconds;

const std::vector<std::string> kThree = {"eu/europol", "eu/fr-dnpaf", "uk/nca"};
const std::vector<std::string> kFive = {"d/1", "d/2", "d/3", "d/4", "d/5"};

std::string Db() {
  auto dsn = FreshPgDatabase();
  EXPECT_TRUE(dsn.ok()) << dsn.status();
  if (!dsn.ok()) std::abort();  // Nothing after this could mean anything.
  return *dsn;
}

std::unique_ptr<pg::Connection> Connect(const std::string& dsn) {
  auto conn = pg::Connection::Open(dsn);
  EXPECT_TRUE(conn.ok()) << conn.status();
  if (!conn.ok()) std::abort();
  return *std::move(conn);
}

void Exec(const std::string& dsn, const std::string& sql) {
  auto status = Connect(dsn)->RunScript(sql.c_str());
  ASSERT_TRUE(status.ok()) << sql << ": " << status;
}

// recipient -> (holder, generation), as the database has them.
std::map<std::string, std::pair<std::string, int64_t>> Leases(const std::string& dsn) {
  auto res = Connect(dsn)->Exec("SELECT recipient, holder, generation FROM destination_leases");
  EXPECT_TRUE(res.ok()) << res.status();
  std::map<std::string, std::pair<std::string, int64_t>> out;
  if (!res.ok()) return out;
  for (int i = 0; i < res->rows(); ++i) {
    out[std::string(res->Text(i, 0))] = {std::string(res->Text(i, 1)), res->Int(i, 2)};
  }
  return out;
}

int64_t ExpiresOf(const std::string& dsn, const std::string& recipient) {
  auto res = Connect(dsn)->Exec("SELECT expires_micros FROM destination_leases WHERE recipient = $1", {recipient});
  EXPECT_TRUE(res.ok()) << res.status();
  return res.ok() && res->rows() == 1 ? res->Int(0, 0) : -1;
}

// A replica's leases, with what its listener was told.
struct Replica {
  Replica(const std::string& dsn, const std::string& id, std::vector<std::string> destinations,
          milliseconds lease = milliseconds(5000)) {
    DestinationLeasesOptions o;
    o.dsn = dsn;
    o.replica_id = id;
    o.destinations = std::move(destinations);
    o.lease = lease;
    o.info = "test";
    o.healthy = [this] { return healthy.load(); };
    leases = std::make_unique<DestinationLeases>(std::move(o));
    leases->SetListener([this](const std::string& d, bool held) {
      std::lock_guard<std::mutex> lock(mu);
      events.push_back(absl::StrCat(held ? "+" : "-", d));
    });
  }
  std::set<std::string> held() const {
    std::set<std::string> out;
    for (const auto& [d, until] : leases->Held()) out.insert(d);
    return out;
  }
  std::vector<std::string> Events() {
    std::lock_guard<std::mutex> lock(mu);
    return events;
  }
  std::atomic<bool> healthy{true};
  std::mutex mu;
  std::vector<std::string> events;
  std::unique_ptr<DestinationLeases> leases;  // Last: stopped before the rest goes.
};

TEST(ClusterLeases, ALeaseIsTakenRenewedAndHeldByOneReplica) {
  const std::string dsn = Db();
  Replica a(dsn, "replica-a", kThree);
  ASSERT_TRUE(a.leases->RunRound().ok());
  EXPECT_EQ(a.held(), std::set<std::string>(kThree.begin(), kThree.end()));
  for (const std::string& d : kThree) EXPECT_TRUE(a.leases->MayStart(d)) << d;
  EXPECT_FALSE(a.leases->MayStart("uk/hoie"));
  for (const auto& [d, row] : Leases(dsn)) {
    EXPECT_EQ(row.first, "replica-a") << d;
    EXPECT_EQ(row.second, 1) << d;
  }
  EXPECT_EQ(a.Events().size(), 3u);
  // Renewed: the expiry moves on (database clock), the generation stays.
  const int64_t before = ExpiresOf(dsn, "eu/europol");
  ASSERT_TRUE(WaitUntil([&] {
    EXPECT_TRUE(a.leases->RunRound().ok());
    return ExpiresOf(dsn, "eu/europol") > before;
  }));
  EXPECT_EQ(Leases(dsn)["eu/europol"], std::make_pair(std::string("replica-a"), int64_t{1}));
  // A second replica takes none of them while they are held.
  Replica b(dsn, "replica-b", kThree);
  ASSERT_TRUE(b.leases->RunRound().ok());
  EXPECT_TRUE(b.held().empty());
  for (const std::string& d : kThree) EXPECT_FALSE(b.leases->MayStart(d)) << d;
  EXPECT_EQ(a.Events().size(), 3u) << "nothing lost";
}

TEST(ClusterLeases, AnExpiredLeaseIsTakenOverByAnotherReplica) {
  const std::string dsn = Db();
  const milliseconds lease(800);
  Replica a(dsn, "replica-a", kThree, lease);
  ASSERT_TRUE(a.leases->RunRound().ok());
  ASSERT_EQ(a.held().size(), 3u);
  a.leases->Stop();  // Dies: nothing released.
  const auto died = std::chrono::steady_clock::now();
  Replica b(dsn, "replica-b", kThree, lease);
  ASSERT_TRUE(b.leases->RunRound().ok());
  EXPECT_TRUE(b.held().empty()) << "taken before replica-a's lease expired";
  b.leases->Start();
  ASSERT_TRUE(WaitUntil([&] { return b.held().size() == 3; }, milliseconds(10000)));
  const auto taken = std::chrono::steady_clock::now();
  // Not before the lease ran out; replica-a had stopped by its local validity before that.
  EXPECT_GE(taken - died, lease - lease / 10);
  for (const std::string& d : kThree) {
    EXPECT_FALSE(a.leases->MayStart(d)) << d;
    EXPECT_TRUE(b.leases->MayStart(d)) << d;
  }
  for (const auto& [d, row] : Leases(dsn)) {
    EXPECT_EQ(row.first, "replica-b") << d;
    EXPECT_EQ(row.second, 2) << d << ": a change of holder is a new generation";
  }
}

TEST(ClusterLeases, EachReplicaTakesItsFairShare) {
  const std::string dsn = Db();
  {
    // Two replicas (both alive before either takes), three destinations: 2 and 1.
    Exec(dsn, "INSERT INTO portcullis_replicas VALUES "
              "('replica-b', 0, (extract(epoch from clock_timestamp())*1e6)::bigint, '')");
    Replica a(dsn, "replica-a", kThree);
    Replica b(dsn, "replica-b", kThree);
    ASSERT_TRUE(a.leases->RunRound().ok());
    EXPECT_EQ(a.held().size(), 2u);
    ASSERT_TRUE(b.leases->RunRound().ok());
    EXPECT_EQ(b.held().size(), 1u);
    ASSERT_TRUE(a.leases->RunRound().ok());
    EXPECT_EQ(a.held().size(), 2u) << "no more than its share";
    for (const std::string& d : b.held()) EXPECT_EQ(a.held().count(d), 0u) << d << " held twice";
  }
  {
    // Three replicas (all alive before any takes), five destinations: 2, 2, 1.
    Exec(dsn, "DELETE FROM portcullis_replicas; DELETE FROM destination_leases");
    Exec(dsn, "INSERT INTO portcullis_replicas VALUES "
              "('replica-b', 0, (extract(epoch from clock_timestamp())*1e6)::bigint, ''), "
              "('replica-c', 0, (extract(epoch from clock_timestamp())*1e6)::bigint, '')");
    Replica a(dsn, "replica-a", kFive), b(dsn, "replica-b", kFive), c(dsn, "replica-c", kFive);
    ASSERT_TRUE(a.leases->RunRound().ok());
    ASSERT_TRUE(b.leases->RunRound().ok());
    ASSERT_TRUE(c.leases->RunRound().ok());
    EXPECT_EQ(a.held().size(), 2u);
    EXPECT_EQ(b.held().size(), 2u);
    EXPECT_EQ(c.held().size(), 1u);
    std::set<std::string> all;
    for (Replica* r : {&a, &b, &c}) {
      for (const std::string& d : r->held()) EXPECT_TRUE(all.insert(d).second) << d << " held twice";
    }
    EXPECT_EQ(all.size(), 5u);
    std::map<std::string, int> per_holder;
    for (const auto& [d, row] : Leases(dsn)) ++per_holder[row.first];
    EXPECT_EQ(per_holder, (std::map<std::string, int>{{"replica-a", 2}, {"replica-b", 2}, {"replica-c", 1}}));
  }
}

TEST(ClusterLeases, AKilledReplicasShareIsTakenOverByTheSurvivorsWithinALeaseAndARound) {
  const std::string dsn = Db();
  const milliseconds lease(2000);
  Exec(dsn, "INSERT INTO portcullis_replicas VALUES "
            "('replica-b', 0, (extract(epoch from clock_timestamp())*1e6)::bigint, ''), "
            "('replica-c', 0, (extract(epoch from clock_timestamp())*1e6)::bigint, '')");
  Replica a(dsn, "replica-a", kThree, lease), b(dsn, "replica-b", kThree, lease), c(dsn, "replica-c", kThree, lease);
  for (Replica* r : {&a, &b, &c}) {
    ASSERT_TRUE(r->leases->RunRound().ok());
    ASSERT_EQ(r->held().size(), 1u) << r->leases->replica_id();
  }
  const std::string dead = *c.held().begin();
  for (Replica* r : {&a, &b, &c}) r->leases->Start();
  ASSERT_TRUE(WaitUntil([&] { return c.leases->Held().at(dead) > std::chrono::steady_clock::now() + lease / 2; }));
  c.leases->Stop();  // Killed: nothing released; its last renewal was at most one round ago.
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitUntil([&] { return a.leases->MayStart(dead) || b.leases->MayStart(dead); }, milliseconds(15000)));
  const auto resumed = std::chrono::steady_clock::now() - killed;
  std::printf("destination of a killed replica taken over after %lld ms (lease %lld ms)\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(resumed).count()),
              static_cast<long long>(lease.count()));
  // Its lease runs out and its heartbeat stops counting at about the same time: a survivor's share
  // grows then (not only once a longer liveness window has passed).
  EXPECT_LT(resumed, lease + lease / 2);
  EXPECT_EQ(a.held().size() + b.held().size(), 3u);
}

TEST(ClusterLeases, NothingIsTakenOrRenewedWhileUnhealthy) {
  const std::string dsn = Db();
  Replica a(dsn, "replica-a", kThree, milliseconds(600));
  a.healthy = false;
  EXPECT_FALSE(a.leases->RunRound().ok());
  EXPECT_TRUE(a.held().empty());
  EXPECT_TRUE(Leases(dsn).empty());
  a.healthy = true;
  ASSERT_TRUE(a.leases->RunRound().ok());
  ASSERT_EQ(a.held().size(), 3u);
  const int64_t expires = ExpiresOf(dsn, "uk/nca");
  a.healthy = false;
  a.leases->Start();
  // Not renewed: it lapses locally (and is reported lost), the database row untouched.
  ASSERT_TRUE(WaitUntil([&] { return !a.leases->MayStart("uk/nca") && a.held().empty(); }, milliseconds(5000)));
  EXPECT_EQ(ExpiresOf(dsn, "uk/nca"), expires);
  EXPECT_EQ(a.Events().size(), 6u) << "three gained, three lost";
  a.healthy = true;  // Healthy again: taken again.
  ASSERT_TRUE(WaitUntil([&] { return a.held().size() == 3; }, milliseconds(5000)));
}

TEST(ClusterLeases, ReleaseAllLetsAnotherReplicaTakeOverAtOnce) {
  const std::string dsn = Db();
  const milliseconds long_lease(60000);
  Replica a(dsn, "replica-a", kThree, long_lease);
  Replica b(dsn, "replica-b", kThree, long_lease);
  ASSERT_TRUE(a.leases->RunRound().ok());
  ASSERT_TRUE(b.leases->RunRound().ok());
  ASSERT_EQ(a.held().size(), 3u);
  ASSERT_TRUE(b.held().empty());
  ASSERT_TRUE(a.leases->ReleaseAll().ok());
  for (const std::string& d : kThree) EXPECT_FALSE(a.leases->MayStart(d)) << d;
  for (const auto& [d, row] : Leases(dsn)) EXPECT_EQ(row.first, "") << d;
  // Long before the 60 s lease would have run out: at b's next round, all three (a is no longer alive).
  ASSERT_TRUE(b.leases->RunRound().ok());
  EXPECT_EQ(b.held().size(), 3u);
  for (const auto& [d, row] : Leases(dsn)) {
    EXPECT_EQ(row.first, "replica-b") << d;
    EXPECT_EQ(row.second, 2) << d << ": a, then (released) b";
  }
}

TEST(ClusterLeases, AReplicaRestartedUnderItsIdTakesItsOwnLeasesBackOnceItsPredecessorsHeartbeatIsOld) {
  const std::string dsn = Db();
  {
    Replica a(dsn, "replica-a", kThree, milliseconds(60000));
    ASSERT_TRUE(a.leases->RunRound().ok());
    ASSERT_EQ(a.held().size(), 3u);
  }  // Killed: nothing released.
  Replica other(dsn, "replica-b", kThree, milliseconds(60000));
  ASSERT_TRUE(other.leases->RunRound().ok());
  EXPECT_TRUE(other.held().empty()) << "replica-a's leases run for another minute";
  Replica again(dsn, "replica-a", kThree, milliseconds(60000));
  ASSERT_TRUE(again.leases->RunRound().ok());
  // Its predecessor's heartbeat is fresh: it may be alive (a copied config), so nothing is taken.
  EXPECT_TRUE(again.held().empty());
  EXPECT_TRUE(again.leases->id_in_use_elsewhere());
  // A minute later (its heartbeat older than a lease): the id is this process's, and so are its leases, at once.
  Exec(dsn, "UPDATE portcullis_replicas SET heartbeat_micros = heartbeat_micros - 61000000 "
            "WHERE replica_id = 'replica-a'");
  ASSERT_TRUE(again.leases->RunRound().ok());
  EXPECT_FALSE(again.leases->id_in_use_elsewhere());
  EXPECT_EQ(again.held().size(), 2u) << "its fair share of its own leases, at once (two replicas alive)";
  for (const auto& [d, row] : Leases(dsn)) {
    EXPECT_EQ(row.first, "replica-a") << d;
    EXPECT_EQ(row.second, 1) << d << ": the same holder, the same generation";
  }
}

TEST(ClusterLeases, ALeaseTakenOverByAnotherHolderIsLostAtTheNextRenewal) {
  const std::string dsn = Db();
  Replica a(dsn, "replica-a", kThree);
  ASSERT_TRUE(a.leases->RunRound().ok());
  ASSERT_TRUE(a.leases->MayStart("eu/europol"));
  Exec(dsn, "UPDATE destination_leases SET holder = 'thief', generation = generation + 1, "
            "expires_micros = (extract(epoch from clock_timestamp())*1e6)::bigint + 3600000000 "
            "WHERE recipient = 'eu/europol'");
  ASSERT_TRUE(a.leases->RunRound().ok());
  EXPECT_FALSE(a.leases->MayStart("eu/europol"));
  EXPECT_TRUE(a.leases->MayStart("uk/nca"));
  const std::vector<std::string> events = a.Events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "-eu/europol");
  EXPECT_EQ(Leases(dsn)["eu/europol"].first, "thief");
}

TEST(ClusterLeases, AReplicaCutOffFromTheDatabaseStopsByItsLocalValidityAndRecovers) {
  const std::string dsn = Db();
  const milliseconds lease(1500);
  Replica a(dsn, "replica-a", kThree, lease);
  a.leases->Start();
  ASSERT_TRUE(WaitUntil([&] { return a.held().size() == 3; }));
  const size_t at = dsn.find("dbname=");
  const std::string name = dsn.substr(at + 7, dsn.find(' ', at) - at - 7);
  auto cluster = SharedPgCluster();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const std::string admin = (*cluster)->dsn("postgres");
  // The database goes away for the replica: its connection is ended, new ones refused.
  Exec(admin, absl::StrCat("ALTER DATABASE ", name, " ALLOW_CONNECTIONS false"));
  Exec(admin, absl::StrCat("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '", name,
                           "' AND pid <> pg_backend_pid()"));
  const auto cut = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitUntil([&] { return !a.leases->MayStart("eu/europol"); }, milliseconds(10000)));
  const auto stopped = std::chrono::steady_clock::now();
  // Within one lease of the last renewal (at most one period before the cut), whatever the database says.
  EXPECT_LE(stopped - cut, lease + milliseconds(200)) << "MayStart outlived the lease";
  ASSERT_TRUE(WaitUntil([&] { return a.held().empty(); }, milliseconds(5000))) << "the loss was not reported";
  Exec(admin, absl::StrCat("ALTER DATABASE ", name, " ALLOW_CONNECTIONS true"));
  ASSERT_TRUE(WaitUntil([&] { return a.held().size() == 3; }, milliseconds(10000))) << "did not recover";
  for (const std::string& d : kThree) EXPECT_TRUE(a.leases->MayStart(d)) << d;
  const std::vector<std::string> events = a.Events();
  EXPECT_EQ(events.size(), 9u) << "3 gained, 3 lost, 3 gained again";
}

std::string IncarnationOf(const std::string& dsn, const std::string& replica_id) {
  auto res = Connect(dsn)->Exec("SELECT incarnation FROM portcullis_replicas WHERE replica_id = $1", {replica_id});
  EXPECT_TRUE(res.ok()) << res.status();
  return res.ok() && res->rows() == 1 ? std::string(res->Text(0, 0)) : "";
}

// No destination may be started by both at once.
void ExpectNeverBoth(Replica& x, Replica& y, const std::vector<std::string>& destinations) {
  for (const std::string& d : destinations) {
    EXPECT_FALSE(x.leases->MayStart(d) && y.leases->MayStart(d)) << d << " may be started by both";
  }
}

TEST(ClusterLeases, TwoLiveProcessesWithTheSameReplicaIdNeverBothLease) {
  const std::string dsn = Db();
  const milliseconds lease(1000);
  Replica first(dsn, "replica-a", kThree, lease), second(dsn, "replica-a", kThree, lease);
  ASSERT_NE(first.leases->incarnation(), second.leases->incarnation());
  ASSERT_TRUE(first.leases->RunRound().ok());
  ASSERT_EQ(first.held().size(), 3u);
  ASSERT_TRUE(second.leases->RunRound().ok());
  EXPECT_TRUE(second.held().empty()) << "a second live process with the id took leases";
  EXPECT_TRUE(second.leases->id_in_use_elsewhere());
  EXPECT_FALSE(first.leases->id_in_use_elsewhere());
  // Both running, rounds after rounds: the first keeps everything, the second takes nothing.
  first.leases->Start();
  second.leases->Start();
  const auto until = std::chrono::steady_clock::now() + 8 * first.leases->period();
  WaitUntil([&] {
    ExpectNeverBoth(first, second, kThree);
    EXPECT_TRUE(second.held().empty());
    return std::chrono::steady_clock::now() >= until;
  });
  EXPECT_EQ(first.held().size(), 3u);
  EXPECT_TRUE(second.Events().empty()) << "the second process was told of a lease";
  EXPECT_EQ(IncarnationOf(dsn, "replica-a"), first.leases->incarnation());
  for (const auto& [d, row] : Leases(dsn)) {
    EXPECT_EQ(row.first, "replica-a") << d;
    EXPECT_EQ(row.second, 1) << d;
  }
}

TEST(ClusterLeases, SameReplicaIdTheSecondTakesOverWithinALeaseOfTheFirstStoppingAndItsReleaseClearsNothing) {
  const std::string dsn = Db();
  const milliseconds lease(1000);
  Replica first(dsn, "replica-a", kThree, lease), second(dsn, "replica-a", kThree, lease);
  ASSERT_TRUE(first.leases->RunRound().ok());
  ASSERT_EQ(first.held().size(), 3u);
  first.leases->Start();
  second.leases->Start();
  ASSERT_TRUE(WaitUntil([&] { return second.leases->id_in_use_elsewhere(); }));
  first.leases->Stop();  // Stops renewing (hung, or killed): nothing released.
  const auto stopped = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitUntil([&] {
    ExpectNeverBoth(first, second, kThree);
    return second.held().size() == 3;
  }, milliseconds(10000)));
  const auto taken = std::chrono::steady_clock::now() - stopped;
  std::printf("same replica id: the second process leased %lld ms after the first stopped (lease %lld ms)\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(taken).count()),
              static_cast<long long>(lease.count()));
  EXPECT_GE(taken, lease / 2) << "taken over while the first's heartbeat was fresh";
  EXPECT_LT(taken, lease + lease / 2);
  EXPECT_FALSE(second.leases->id_in_use_elsewhere());
  EXPECT_EQ(IncarnationOf(dsn, "replica-a"), second.leases->incarnation());
  // The first now shuts down gracefully: its release must not touch the second's leases or heartbeat.
  const absl::Status released = first.leases->ReleaseAll();
  EXPECT_EQ(released.code(), absl::StatusCode::kFailedPrecondition) << released;
  for (const auto& [d, row] : Leases(dsn)) EXPECT_EQ(row.first, "replica-a") << d << " released by the first";
  auto beat = Connect(dsn)->Exec("SELECT heartbeat_micros FROM portcullis_replicas WHERE replica_id = 'replica-a'");
  ASSERT_TRUE(beat.ok()) << beat.status();
  EXPECT_GT(beat->Int(0, 0), 0) << "the second's heartbeat was zeroed";
  second.leases->Stop();
  ASSERT_TRUE(second.leases->RunRound().ok());
  EXPECT_EQ(second.held().size(), 3u);
  for (const std::string& d : kThree) EXPECT_TRUE(second.leases->MayStart(d)) << d;
  EXPECT_EQ(second.Events().size(), 3u) << "nothing lost";
  // And the second's own graceful stop releases them.
  ASSERT_TRUE(second.leases->ReleaseAll().ok());
  for (const auto& [d, row] : Leases(dsn)) EXPECT_EQ(row.first, "") << d;
}

TEST(ClusterLeases, AReplicaAboveItsFairShareForThreeRoundsGivesOneLeaseUp) {
  const std::string dsn = Db();
  Replica a(dsn, "replica-a", kThree), b(dsn, "replica-b", kThree);
  ASSERT_TRUE(a.leases->RunRound().ok());
  ASSERT_EQ(a.held().size(), 3u);
  ASSERT_TRUE(b.leases->RunRound().ok());  // Alive now: fair shares 2 and 2.
  EXPECT_TRUE(b.held().empty());
  for (int round = 1; round < DestinationLeases::kSurplusRounds; ++round) {
    ASSERT_TRUE(a.leases->RunRound().ok());
    EXPECT_EQ(a.held().size(), 3u) << "released after " << round << " rounds";
  }
  ASSERT_TRUE(a.leases->RunRound().ok());
  ASSERT_EQ(a.held().size(), 2u);
  std::string given_up;
  for (const std::string& d : kThree) {
    if (a.held().count(d) == 0) given_up = d;
  }
  EXPECT_FALSE(a.leases->MayStart(given_up));
  ASSERT_FALSE(a.Events().empty());
  EXPECT_EQ(a.Events().back(), "-" + given_up) << "the dispatcher was not told";
  EXPECT_EQ(Leases(dsn)[given_up].first, "") << "released in the database";
  ASSERT_TRUE(b.leases->RunRound().ok());
  EXPECT_EQ(b.held(), std::set<std::string>{given_up});
  EXPECT_EQ(Leases(dsn)[given_up], std::make_pair(std::string("replica-b"), int64_t{2}));
  // At their fair shares: nothing more moves.
  for (int round = 0; round < 2 * DestinationLeases::kSurplusRounds; ++round) {
    ASSERT_TRUE(a.leases->RunRound().ok());
    ASSERT_TRUE(b.leases->RunRound().ok());
  }
  EXPECT_EQ(a.held().size(), 2u);
  EXPECT_EQ(b.held().size(), 1u);
}

TEST(ClusterLeases, TheFirstReplicaHoldingEverythingHandsLeasesOverToALaterOneNeverToTwoAtOnce) {
  const std::string dsn = Db();
  const std::vector<std::string> four = {"d/1", "d/2", "d/3", "d/4"};
  const milliseconds lease(1000);
  Replica a(dsn, "replica-a", four, lease), b(dsn, "replica-b", four, lease);
  a.leases->Start();
  ASSERT_TRUE(WaitUntil([&] { return a.held().size() == 4; }));
  b.leases->Start();
  // Each observation: no destination startable by both; one held by the same replica before and
  // after the table was read is that replica's in the table.
  auto observe = [&] {
    ExpectNeverBoth(a, b, four);
    const std::set<std::string> a_before = a.held(), b_before = b.held();
    const auto table = Leases(dsn);
    const std::set<std::string> a_after = a.held(), b_after = b.held();
    for (const std::string& d : four) {
      if (a_before.count(d) && a_after.count(d)) {
        EXPECT_EQ(table.at(d).first, "replica-a") << d;
      }
      if (b_before.count(d) && b_after.count(d)) {
        EXPECT_EQ(table.at(d).first, "replica-b") << d;
      }
      EXPECT_FALSE(a_after.count(d) && b_after.count(d)) << d << " held by both";
    }
    return a_after.size() == 2 && b_after.size() == 2;
  };
  ASSERT_TRUE(WaitUntil(observe, milliseconds(15000), milliseconds(20))) << "not rebalanced to 2/2";
  a.leases->Stop();
  b.leases->Stop();
  const auto table = Leases(dsn);
  for (const std::string& d : four) {
    const bool by_a = a.leases->MayStart(d), by_b = b.leases->MayStart(d);
    EXPECT_TRUE(by_a != by_b) << d << ": held by exactly one";
    EXPECT_EQ(table.at(d).first, by_a ? "replica-a" : "replica-b") << d;
  }
  EXPECT_TRUE(b.Events().size() == 2 && b.Events()[0][0] == '+' && b.Events()[1][0] == '+');
  EXPECT_EQ(a.Events().size(), 6u) << "four taken, two given up";
}

}  // namespace
}  // namespace portcullis::testing
