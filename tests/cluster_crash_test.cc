// Crash test of a cluster (issue 15 item 4, docs/cluster.md "Tests"): three
// real portcullis-gateway replicas on one database of a real throw-away
// PostgreSQL, Europol's real push endpoint (it stores each delivery id once
// and records arrivals in order), clients submitting under load to any
// replica, resubmitting the SAME message id to another replica when the call
// fails UNAVAILABLE (the replica died, or OUTCOME_UNKNOWN). A killer SIGKILLs
// a random replica at random moments and restarts it. Afterwards:
//   - every receipt's message is in the database with its acceptance record
//     at the receipt's audit index, none accepted twice, none without a receipt;
//   - every receipt's message is stored exactly once in the endpoint's store
//     (redeliveries the endpoint answered as duplicates are allowed, counted);
//   - per (sender, case), the endpoint first stored them in acceptance order;
//   - the chain exported from the database passes the offline verifier
//     (signatures, the shared witness copy, no unsigned tail after clean stops),
//     and acceptance records name the replica that wrote them.
// The seed is printed; PORTCULLIS_CLUSTER_SEED=<seed> replays the same schedule
// of kills (the machine's timing still varies).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/audit/log_format.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/pg_receipts.h"
#include "tests/support/replica_set.h"

namespace portcullis::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

uint32_t Seed() {
  if (const char* s = std::getenv("PORTCULLIS_CLUSTER_SEED"); s != nullptr && *s != '\0') {
    return static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  }
  return std::random_device{}();
}

TEST(ClusterCrash, ReplicasKilledAtRandomUnderLoadLoseNothingAndStoreEveryMessageOnce) {
  // The minimums per CI run. A sanitizer build (SANITIZE=1 scripts/test.sh: Debug, ASan + UBSan, every
  // replica ~10x slower) looks for memory errors on a quarter of the kills and a tenth of the receipts.
  const int kMinKills = kSanitized ? 5 : 20;
  const size_t kMinReceipts = kSanitized ? 1000 : 10000;
  const int kClients = 8;
  const int kCasesPerClient = 4;
  const auto kLoadLimit = seconds(170);  // Keeps the whole test under ~4 minutes; fewer kills or receipts fail it.
  const uint32_t seed = Seed();
  std::printf("[ cluster crash ] seed %u (PORTCULLIS_CLUSTER_SEED=%u replays it)\n", seed, seed);
  std::fflush(stdout);
  RecordProperty("seed", std::to_string(seed));

  auto pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << "PostgreSQL did not start: " << pg.status();
  auto dsn = (*pg)->CreateDatabase("cluster_crash");
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  RecordingEndpoint endpoint("cluster-crash");
  ASSERT_TRUE(endpoint.ok());

  ReplicaSetOptions o;
  o.dsn = *dsn;
  o.base.europol_push_address = endpoint.address();
  o.base.max_attempts = 0;  // Retry until delivered: a dead letter would read as "lost".
  o.base.checkpoint_every_records = 200;
  o.base.workers = 4;
  o.lease_ms = 2000;  // Takeover after a kill within ~2 s (the default 5 s would also pass, slower).
  o.poll_ms = 500;
  ReplicaSet set("cluster-crash", o);
  ASSERT_TRUE(set.ok());
  int runs = set.size();

  std::mutex mu;
  std::map<MessageKey, v1::Receipt> receipts;
  std::map<std::string, std::vector<std::string>> cases;  // "sender|case" -> message ids in acceptance order
  size_t resubmitted = 0, duplicate_answers = 0;
  std::vector<std::string> client_problems;
  std::atomic<size_t> receipt_count{0};
  std::atomic<bool> stop{false};

  // Two agency systems (senders), each with one channel per replica shared by its client threads.
  ClusterClient border_force(set.addresses(), "parties/uk-border-force"), nca(set.addresses(), "parties/uk-nca");
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      const std::string sender = c % 2 == 0 ? "uk/border-force" : "uk/nca";
      ClusterClient& client = c % 2 == 0 ? border_force : nca;
      std::mt19937 rng(seed + 1 + c);
      for (int seq = 0; !stop; ++seq) {
        const std::string case_ref = "CASE-" + std::to_string(c) + "-" + std::to_string(seq % kCasesPerClient);
        v1::Envelope e = SampleReferral("M-" + std::to_string(c) + "-" + std::to_string(seq));
        e.set_case_reference(case_ref);
        // Each message to a replica picked at random; the same id elsewhere on failure, until answered.
        auto r = client.SubmitAnywhere(e, std::uniform_int_distribution<int>(0, set.size() - 1)(rng), seconds(60));
        std::lock_guard<std::mutex> lock(mu);
        resubmitted += r.calls > 1;
        if (!r.status.ok()) {
          client_problems.push_back(e.message_id() + " at " + set.id(r.replicas.back()) + ": code " +
                                    std::to_string(r.status.error_code()) + " " + ReasonOf(r.status) + " " +
                                    r.status.error_message() + " after " + std::to_string(r.calls) + " calls");
          return;  // Its case cannot go on in order.
        }
        duplicate_answers += r.receipt.duplicate();
        receipts[{r.receipt.sender(), r.receipt.message_id()}] = r.receipt;
        cases[sender + "|" + case_ref].push_back(e.message_id());
        ++receipt_count;
      }
    });
  }

  // The killer: a random replica at a random moment, down for a random while, restarted.
  std::mt19937 rng(seed);
  int kills = 0;
  const auto load_start = std::chrono::steady_clock::now();
  bool restarted = WaitUntil([&] { return receipt_count >= 50; }, seconds(60));
  EXPECT_TRUE(restarted) << "no load";
  while (restarted && (kills < kMinKills || receipt_count < kMinReceipts) &&
         std::chrono::steady_clock::now() - load_start < kLoadLimit) {
    std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(200, 2500)(rng)));
    const int victim = std::uniform_int_distribution<int>(0, set.size() - 1)(rng);
    set.Kill(victim);
    ++kills;
    std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(0, 800)(rng)));
    restarted = set.Start(victim);
    EXPECT_TRUE(restarted) << set.id(victim) << " did not restart; see " << set.log_path(victim);
    runs += restarted;
  }
  stop = true;
  for (auto& t : clients) t.join();
  const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();

  // Everything receipted reaches the endpoint; then clean stops sign the tail.
  std::set<std::string> wanted;
  for (const auto& [k, ids] : cases) wanted.insert(ids.begin(), ids.end());
  auto all_stored = [&] {
    std::set<std::string> have;
    for (const Arrival& a : endpoint.arrivals()) have.insert(a.message_id);
    return std::includes(have.begin(), have.end(), wanted.begin(), wanted.end());
  };
  EXPECT_TRUE(WaitUntil(all_stored, seconds(90), milliseconds(200))) << "not everything receipted was delivered";
  EXPECT_TRUE(set.StopAll());

  for (const std::string& p : client_problems) ADD_FAILURE() << "client: " << p;
  const StoredMessages db = ReadStoredMessages(*dsn);
  const ReceiptCheck check = CheckReceipts(db, receipts);
  for (const std::string& p : check.problems) ADD_FAILURE() << p;
  EXPECT_EQ(db.audit_index.size(), receipts.size()) << "a message accepted that no client holds a receipt for";

  const std::vector<Arrival> arrivals = endpoint.arrivals();
  const StoreCheck store = CheckEndpointStore(arrivals, cases);
  for (const std::string& p : store.problems) ADD_FAILURE() << "endpoint: " << p;

  const VerifyReport report = VerifyExportedLog(db, set.dir() + "/export", set.witness_logs());
  EXPECT_FALSE(report.problem.has_value()) << report.problem->message;
  EXPECT_EQ(report.records, db.line.size());
  EXPECT_EQ(report.signed_size, db.line.size()) << "the clean stops sign the tail";
  std::map<std::string, int> accepted_by;  // replica id -> acceptance records
  for (const auto& [idx, line] : db.line) {
    auto record = ParseLine(line);
    if (record.ok() && record->action == "submit" && record->outcome == "accepted") ++accepted_by[record->replica_id];
  }
  std::string by;
  for (int i = 0; i < set.size(); ++i) {
    EXPECT_GT(accepted_by[set.id(i)], 0) << set.id(i) << " wrote no acceptance record under its id";
    by += " " + set.id(i) + "=" + std::to_string(accepted_by[set.id(i)]);
  }
  EXPECT_EQ(accepted_by.count(""), 0u) << "acceptance records without a replica id";

  std::printf("[ cluster crash ] %.0f s of load, %zu clients' receipts, resubmitted %zu (original receipt again "
              "%zu); database: %zu messages, wrong index %zu, wrong record %zu, accepted twice %zu; accepted by%s; "
              "endpoint: stored %zu, out of order %zu; audit records %zu, checkpoints %zu, verified %s\n",
              load_seconds, receipts.size(), resubmitted, duplicate_answers, db.audit_index.size(), check.wrong_index,
              check.wrong_record, check.accepted_twice, by.c_str(), arrivals.size(), store.out_of_order,
              db.line.size(), db.checkpoints.size(), report.problem.has_value() ? "NO" : "yes");
  std::printf("cluster crash: runs %d, kills %d, receipts %zu, lost %zu, duplicates in store %zu, redeliveries %d, "
              "seed %u\n",
              runs, kills, receipts.size(), check.lost + store.lost, store.duplicates, endpoint.redeliveries(), seed);
  EXPECT_EQ(check.lost, 0u);
  EXPECT_EQ(check.wrong_index, 0u);
  EXPECT_EQ(check.wrong_record, 0u);
  EXPECT_EQ(check.accepted_twice, 0u);
  EXPECT_EQ(store.lost, 0u);
  EXPECT_EQ(store.duplicates, 0u);
  EXPECT_EQ(store.out_of_order, 0u);
  EXPECT_GE(kills, kMinKills);
  EXPECT_GE(receipts.size(), kMinReceipts);
}

}  // namespace
}  // namespace portcullis::testing
