// Faults of a cluster (issue 15 item 4, docs/cluster.md "Tests"): three real
// portcullis-gateway replicas on one database of a real throw-away PostgreSQL
// and Europol's real push endpoint.
//   - A replica's state folder deleted while it is down: it rejoins (starts,
//     accepts, writes records under its id) and nothing is lost.
//   - The database stopped (pg_ctl stop -m fast) for 10 s under load: no
//     receipt while it is down, refusals are UNAVAILABLE with a reason, every
//     replica resumes by itself (same processes), every receipted message is in
//     the database and delivered, each OUTCOME_UNKNOWN resubmitted gets its
//     original receipt or is accepted now.
//   - Two replicas given the same message id at the same moment (many ids):
//     one acceptance (one record, one row), both callers end with the same
//     receipt, one of them as the duplicate.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "gateway/audit/log_format.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/pg_receipts.h"
#include "tests/support/replica_set.h"

namespace portcullis::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// One Submit as a client saw it; phases are the test's, when it started and ended.
struct Outcome {
  v1::Envelope envelope;
  int replica = 0;
  grpc::Status status;
  v1::Receipt receipt;
  int started = 0, ended = 0;
};

// Client threads submitting new messages, each once to a replica picked in turn, until stopped.
class Load {
 public:
  // The clients share one channel per replica (calls multiplex on it), as one agency system's threads do.
  Load(const ReplicaSet& set, int clients, const std::atomic<int>& phase)
      : phase_(phase), client_(set.addresses(), "parties/uk-border-force") {
    for (int c = 0; c < clients; ++c) {
      threads_.emplace_back([this, c] {
        ClusterClient& client = client_;
        for (int seq = 0; !stop_; ++seq) {
          Outcome o;
          o.envelope = SampleReferral("L-" + std::to_string(c) + "-" + std::to_string(seq));
          o.replica = (c + seq) % client.size();
          o.started = phase_;
          o.status = Submit(client.stub(o.replica), o.envelope, &o.receipt);
          o.ended = phase_;
          const bool ok = o.status.ok();
          {
            std::lock_guard<std::mutex> lock(mu_);
            outcomes_.push_back(std::move(o));
          }
          // Pacing only: refusals come back at once while the database is down.
          if (!ok) std::this_thread::sleep_for(milliseconds(5));
        }
      });
    }
  }
  ~Load() { Stop(); }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  // Calls that started in `phase` and ended with a receipt (ok) or without; replica -1: any.
  int Count(int phase, bool ok, int replica = -1) const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(std::count_if(outcomes_.begin(), outcomes_.end(), [&](const Outcome& o) {
      return o.started == phase && o.status.ok() == ok && (replica < 0 || o.replica == replica);
    }));
  }
  std::vector<Outcome> outcomes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return outcomes_;
  }

 private:
  const std::atomic<int>& phase_;
  ClusterClient client_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Outcome> outcomes_;
  std::vector<std::thread> threads_;
};

// The checks every fault test ends with, once its replicas are stopped
// cleanly: every receipt in the database at its record, none twice, every
// stored message receipted (`receipts` holds them all by then), every one
// stored once by the endpoint, the exported chain verifies. Prints the counts.
void CheckCluster(const char* name, const std::string& dsn, const ReplicaSet& set, const RecordingEndpoint& endpoint,
                  const std::map<MessageKey, v1::Receipt>& receipts) {
  const StoredMessages db = ReadStoredMessages(dsn);
  const ReceiptCheck check = CheckReceipts(db, receipts);
  for (const std::string& p : check.problems) ADD_FAILURE() << name << ": " << p;
  EXPECT_EQ(db.audit_index.size(), receipts.size()) << name << ": stored messages without a receipt";
  std::map<std::string, std::vector<std::string>> cases;  // each message its own case here
  for (const auto& [key, r] : receipts) cases[key.first + "|" + key.second].push_back(key.second);
  const StoreCheck store = CheckEndpointStore(endpoint.arrivals(), cases);
  for (const std::string& p : store.problems) ADD_FAILURE() << name << ": endpoint: " << p;
  const VerifyReport report = VerifyExportedLog(db, set.dir() + "/export", set.witness_logs());
  EXPECT_FALSE(report.problem.has_value()) << name << ": " << report.problem->message;
  EXPECT_EQ(report.signed_size, db.line.size()) << name << ": the clean stops sign the tail";
  std::printf("[ %s ] receipts %zu; database: messages %zu, lost %zu, wrong index %zu, wrong record %zu, accepted "
              "twice %zu; endpoint: undelivered %zu, duplicates in store %zu, redeliveries %d; audit records %zu, "
              "verified %s\n",
              name, receipts.size(), db.audit_index.size(), check.lost, check.wrong_index, check.wrong_record,
              check.accepted_twice, store.lost, store.duplicates, endpoint.redeliveries(), db.line.size(),
              report.problem.has_value() ? "NO" : "yes");
  EXPECT_EQ(check.lost + check.wrong_index + check.wrong_record + check.accepted_twice, 0u) << name;
  EXPECT_EQ(store.lost + store.duplicates, 0u) << name;
}

// Waits until the endpoint stored every receipted message (up to 60 s).
bool AllDelivered(const RecordingEndpoint& endpoint, const std::map<MessageKey, v1::Receipt>& receipts) {
  return WaitUntil([&] {
    std::set<std::string> have;
    for (const Arrival& a : endpoint.arrivals()) have.insert(a.message_id);
    for (const auto& [key, r] : receipts) {
      if (!have.count(key.second)) return false;
    }
    return true;
  }, seconds(60), milliseconds(200));
}

struct Cluster {
  std::unique_ptr<PgCluster> pg;
  std::string dsn;
  std::unique_ptr<RecordingEndpoint> endpoint;
  std::unique_ptr<ReplicaSet> set;
};
// PostgreSQL, the endpoint and three replicas; a failure fails the test.
void StartCluster(const std::string& name, Cluster* c) {
  auto pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << "PostgreSQL did not start: " << pg.status();
  c->pg = std::move(*pg);
  auto dsn = c->pg->CreateDatabase("faults");
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  c->dsn = *dsn;
  c->endpoint = std::make_unique<RecordingEndpoint>(name);
  ASSERT_TRUE(c->endpoint->ok());
  ReplicaSetOptions o;
  o.dsn = c->dsn;
  o.base.europol_push_address = c->endpoint->address();
  o.base.max_attempts = 0;  // Retry until delivered.
  o.base.checkpoint_every_records = 50;
  o.lease_ms = 2000;
  o.poll_ms = 500;
  c->set = std::make_unique<ReplicaSet>(name, o);
  ASSERT_TRUE(c->set->ok());
}

TEST(ClusterFaults, ReplicaWhoseStateFolderWasDeletedWhileDownRejoinsAndNothingIsLost) {
  Cluster c;
  ASSERT_NO_FATAL_FAILURE(StartCluster("cluster-wipe", &c));
  ReplicaSet& set = *c.set;
  std::atomic<int> phase{0};
  std::map<MessageKey, v1::Receipt> receipts;
  std::vector<v1::Envelope> failed;
  std::set<uint64_t> r2_rejoined;  // audit indexes of r2's receipts after it rejoined
  {
    Load load(set, 4, phase);
    ASSERT_TRUE(WaitUntil([&] { return load.Count(0, true, 1) >= 100; }, seconds(60))) << "no load on r2";
    set.Kill(1);  // The machine of r2 goes away, disk and all.
    set.WipeState(1);
    phase = 1;
    // The others go on (calls to r2 fail meanwhile).
    ASSERT_TRUE(WaitUntil([&] { return load.Count(1, true) >= 100; }, seconds(60)));
    phase = 2;
    ASSERT_TRUE(set.Start(1)) << "r2 did not start on an empty state folder; see " << set.log_path(1);
    EXPECT_TRUE(WaitUntil([&] { return load.Count(2, true, 1) >= 100; }, seconds(60)))
        << "r2 accepts nothing after rejoining";
    load.Stop();
    for (const Outcome& o : load.outcomes()) {
      if (o.status.ok()) {
        receipts[{o.receipt.sender(), o.receipt.message_id()}] = o.receipt;
        if (o.replica == 1 && o.started == 2) r2_rejoined.insert(o.receipt.audit_index());
        continue;
      }
      failed.push_back(o.envelope);
      EXPECT_EQ(o.replica, 1) << o.envelope.message_id() << " refused by a replica that was up: "
                              << o.status.error_code() << " " << ReasonOf(o.status);
    }
  }
  // A call to r2 cut by its kill may have been accepted: resubmitted elsewhere, it gets its original receipt.
  ClusterClient client(set.addresses(), "parties/uk-border-force");
  const StoredMessages before = ReadStoredMessages(c.dsn);
  int resubmitted = 0;
  for (const v1::Envelope& e : failed) {
    const MessageKey key{"uk/border-force", e.message_id()};
    if (!before.audit_index.count(key)) continue;
    auto r = client.SubmitAnywhere(e, 0, seconds(30));
    ASSERT_TRUE(r.status.ok()) << e.message_id() << ": " << ReasonOf(r.status);
    EXPECT_TRUE(r.receipt.duplicate()) << e.message_id() << " was stored: its resubmission is the duplicate";
    receipts[key] = r.receipt;
    ++resubmitted;
  }
  EXPECT_TRUE(AllDelivered(*c.endpoint, receipts)) << "not everything receipted was delivered";
  EXPECT_TRUE(set.StopAll());

  // r2's acceptances after it rejoined are recorded under its id.
  const StoredMessages db = ReadStoredMessages(c.dsn);
  int under_r2 = 0;
  for (uint64_t idx : r2_rejoined) {
    auto line = db.line.find(idx);
    auto record = line == db.line.end() ? absl::StatusOr<AuditRecord>(absl::NotFoundError("")) : ParseLine(line->second);
    under_r2 += record.ok() && record->replica_id == "r2";
  }
  EXPECT_EQ(under_r2, static_cast<int>(r2_rejoined.size())) << "r2's acceptances after rejoining, under its id";
  std::printf("[ cluster wipe ] r2 accepted %zu after rejoining on an empty state folder; cut calls stored and "
              "resubmitted %d\n", r2_rejoined.size(), resubmitted);
  CheckCluster("cluster wipe", c.dsn, set, *c.endpoint, receipts);
}

enum Phase { kBefore = 0, kDown = 1, kAfter = 2 };

TEST(ClusterFaults, DatabaseStoppedForTenSecondsUnderLoadNoReceiptWithoutStorageAndEveryReplicaResumes) {
  Cluster c;
  ASSERT_NO_FATAL_FAILURE(StartCluster("cluster-db-down", &c));
  ReplicaSet& set = *c.set;
  std::vector<pid_t> pids;
  for (int i = 0; i < set.size(); ++i) pids.push_back(set.pid(i));
  std::atomic<int> phase{kBefore};
  Load load(set, 6, phase);
  ASSERT_TRUE(WaitUntil([&] { return load.Count(kBefore, true) >= 100; }, seconds(60))) << "no load";

  ASSERT_TRUE(c.pg->Stop(/*immediate=*/false).ok());  // pg_ctl stop -m fast
  phase = kDown;
  const auto down = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitUntil([&] { return load.Count(kDown, false) >= 30; }, seconds(10))) << "no refusals while down";
  // The outage lasts 10 s (what the issue asks), whatever the refusals did.
  std::this_thread::sleep_until(down + seconds(10));
  phase = kAfter;  // From here on calls may succeed; a call that ended before this did not.
  ASSERT_TRUE(c.pg->Restart().ok());
  const auto up = std::chrono::steady_clock::now();
  for (int i = 0; i < set.size(); ++i) {
    EXPECT_TRUE(WaitUntil([&] { return load.Count(kAfter, true, i) >= 30; }, seconds(60)))
        << set.id(i) << " gives no receipts after the database came back";
  }
  const double resumed_after = std::chrono::duration<double>(std::chrono::steady_clock::now() - up).count();
  load.Stop();
  for (int i = 0; i < set.size(); ++i) {
    EXPECT_TRUE(set.running(i) && set.pid(i) == pids[i]) << set.id(i) << " was restarted or died; see "
                                                         << set.log_path(i);
  }

  // No receipt while the database was down; refusals UNAVAILABLE with a reason.
  const std::set<std::string> kUnavailableReasons = {"AUDIT_UNAVAILABLE", "STORE_UNAVAILABLE", "OUTCOME_UNKNOWN"};
  std::map<MessageKey, v1::Receipt> receipts;
  std::vector<const Outcome*> unknown, refused;
  std::map<std::string, int> reasons;
  int down_calls = 0;
  const std::vector<Outcome> outcomes = load.outcomes();
  for (const Outcome& o : outcomes) {
    if (o.started == kDown && o.ended == kDown) {
      ++down_calls;
      EXPECT_FALSE(o.status.ok()) << o.envelope.message_id() << " got a receipt while the database was down";
    }
    if (o.status.ok()) {
      receipts[{o.receipt.sender(), o.receipt.message_id()}] = o.receipt;
      continue;
    }
    const std::string reason = ReasonOf(o.status);
    ++reasons[reason];
    EXPECT_EQ(o.status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << o.envelope.message_id() << " at " << set.id(o.replica) << ": " << reason << " " << o.status.error_message();
    EXPECT_TRUE(kUnavailableReasons.count(reason)) << o.envelope.message_id() << " at " << set.id(o.replica)
                                                   << " (phase " << o.started << "-" << o.ended << "): reason '"
                                                   << reason << "': " << o.status.error_message();
    (reason == "OUTCOME_UNKNOWN" ? unknown : refused).push_back(&o);
  }
  // Each OUTCOME_UNKNOWN again, to another replica: its original receipt, or accepted now.
  ClusterClient client(set.addresses(), "parties/uk-border-force");
  int original = 0, accepted_now = 0;
  for (const Outcome* o : unknown) {
    auto r = client.SubmitAnywhere(o->envelope, o->replica + 1, seconds(30));
    ASSERT_TRUE(r.status.ok()) << o->envelope.message_id() << ": " << ReasonOf(r.status);
    (r.receipt.duplicate() ? original : accepted_now) += 1;
    receipts[{r.receipt.sender(), r.receipt.message_id()}] = r.receipt;
  }
  EXPECT_TRUE(AllDelivered(*c.endpoint, receipts)) << "not everything receipted was delivered";
  EXPECT_TRUE(set.StopAll());
  const StoredMessages db = ReadStoredMessages(c.dsn);
  size_t refused_but_stored = 0;
  for (const Outcome* o : refused) {
    const bool stored = db.audit_index.count({"uk/border-force", o->envelope.message_id()}) > 0;
    refused_but_stored += stored;
    EXPECT_FALSE(stored) << o->envelope.message_id() << " was refused " << ReasonOf(o->status) << " but is stored";
  }
  std::string reason_counts;
  for (const auto& [reason, n] : reasons) reason_counts += " " + reason + "=" + std::to_string(n);
  std::printf("[ cluster db down ] submits %zu (%d while down, none receipted), refused:%s; every replica receipting "
              "again %.1f s after the restart, same processes; outcome unknown resubmitted: original %d, accepted "
              "now %d; refused but stored %zu\n",
              outcomes.size(), down_calls, reason_counts.c_str(), resumed_after, original, accepted_now,
              refused_but_stored);
  EXPECT_GE(down_calls, 30);
  CheckCluster("cluster db down", c.dsn, set, *c.endpoint, receipts);
}

TEST(ClusterFaults, SameMessageIdAtTwoReplicasAtOnceIsAcceptedOnce) {
  const int kIds = 200;
  Cluster c;
  ASSERT_NO_FATAL_FAILURE(StartCluster("cluster-same-id", &c));
  ReplicaSet& set = *c.set;
  ClusterClient a(set.addresses(), "parties/uk-border-force"), b(set.addresses(), "parties/uk-border-force");
  std::map<MessageKey, v1::Receipt> receipts;
  int in_progress = 0, mismatched = 0, both_new = 0, both_duplicate = 0, failed = 0;
  for (int n = 0; n < kIds; ++n) {
    const v1::Envelope e = SampleReferral("SAME-" + std::to_string(n));
    const int first = n % set.size(), second = (n + 1) % set.size();
    std::atomic<int> ready{0};
    struct Side {
      grpc::Status status;
      v1::Receipt receipt;
      int in_progress = 0;
    } sides[2];
    auto run = [&](ClusterClient& client, int replica, Side* side) {
      ++ready;
      while (ready < 2) {
      }  // The barrier: both calls leave together.
      const auto until = std::chrono::steady_clock::now() + seconds(10);
      for (;;) {
        side->status = Submit(client.stub(replica), e, &side->receipt);
        if (side->status.error_code() != grpc::StatusCode::ABORTED || ReasonOf(side->status) != "SUBMISSION_IN_PROGRESS" ||
            std::chrono::steady_clock::now() >= until) {
          return;
        }
        ++side->in_progress;  // The other replica is recording it right now: retry, as the answer says.
        std::this_thread::sleep_for(milliseconds(10));
      }
    };
    std::thread ta(run, std::ref(a), first, &sides[0]);
    std::thread tb(run, std::ref(b), second, &sides[1]);
    ta.join();
    tb.join();
    in_progress += sides[0].in_progress + sides[1].in_progress;
    if (!sides[0].status.ok() || !sides[1].status.ok()) {
      ++failed;
      ADD_FAILURE() << e.message_id() << ": " << sides[0].status.error_code() << " " << ReasonOf(sides[0].status)
                    << " / " << sides[1].status.error_code() << " " << ReasonOf(sides[1].status);
      continue;
    }
    const v1::Receipt& ra = sides[0].receipt;
    const v1::Receipt& rb = sides[1].receipt;
    both_new += !ra.duplicate() && !rb.duplicate();
    both_duplicate += ra.duplicate() && rb.duplicate();
    EXPECT_NE(ra.duplicate(), rb.duplicate()) << e.message_id() << ": one acceptance and one duplicate answer";
    v1::Receipt ca = ra, cb = rb;
    ca.set_duplicate(false);
    cb.set_duplicate(false);
    if (!google::protobuf::util::MessageDifferencer::Equals(ca, cb)) {
      ++mismatched;
      ADD_FAILURE() << e.message_id() << ": different receipts\n" << ra.DebugString() << "vs\n" << rb.DebugString();
    }
    receipts[{ra.sender(), ra.message_id()}] = ra;
  }
  EXPECT_TRUE(AllDelivered(*c.endpoint, receipts));
  EXPECT_TRUE(set.StopAll());
  const StoredMessages db = ReadStoredMessages(c.dsn);
  int records_not_one = 0;
  for (const auto& [key, r] : receipts) {
    auto it = db.accepted_records.find(key);
    const int records = it == db.accepted_records.end() ? 0 : it->second;
    records_not_one += records != 1;
    EXPECT_EQ(records, 1) << key.second << ": `submit accepted` records";
  }
  std::printf("[ cluster same id ] %d ids each at two replicas at once: failed %d, both accepted %d, both duplicate "
              "%d, different receipts %d, ids without exactly one acceptance record %d; in-progress answers "
              "retried %d\n",
              kIds, failed, both_new, both_duplicate, mismatched, records_not_one, in_progress);
  EXPECT_EQ(receipts.size(), static_cast<size_t>(kIds));
  CheckCluster("cluster same id", c.dsn, set, *c.endpoint, receipts);
}

}  // namespace
}  // namespace portcullis::testing
