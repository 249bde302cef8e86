// PgMessageStore only (what every backend must do: the conformance suites,
// tests/store_*_test.cc, run on "postgres" too): the blocking Commit, group
// commit under 16 concurrent committers, a write from inside an update
// callback, an op that runs again when its batch is rerun, and ListCase
// against the in-memory pairings (one being written is listed; one that
// became durable after the page's snapshot too, forced by a test hook).
// Several gateways on one database and a server restart:
// pg_store_shared_test.cc. Also: what Open refuses.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"
#include "gateway/store/pg_message_store.h"
#include "tests/support/pg_store_fixtures.h"
#include "tests/support/poll.h"
#include "tests/support/store_test_util.h"

namespace portcullis::testing {
namespace {

std::unique_ptr<PgStoreParts> OpenOrDie(std::function<void()> after_case_snapshot = nullptr) {
  auto dsn = FreshPgDatabase();
  EXPECT_TRUE(dsn.ok()) << dsn.status();
  if (!dsn.ok()) return nullptr;
  auto parts = OpenPgStoreParts(*dsn, 0, std::move(after_case_snapshot));
  EXPECT_TRUE(parts.ok()) << parts.status();
  return parts.ok() ? *std::move(parts) : nullptr;
}

std::vector<std::string> IdsOf(const CasePage& page) {
  std::vector<std::string> out;
  for (const CaseEntry& c : page.messages) out.push_back(c.message_id);
  return out;
}

// Holds the writer inside an op (an update's callback) until `released`.
void HoldWriter(PgMessageStore& store, std::shared_future<void> released) {
  std::promise<void> holding;
  store.UpdateRecipientAsync(
      "uk/nca", "m-1", "eu/europol",
      [&holding, released](RecipientRecord&) {
        holding.set_value();
        released.wait();
        return absl::OkStatus();
      },
      [](absl::StatusOr<RecipientRecord>) {});
  holding.get_future().wait();  // The writer is inside that update's batch.
}

// Open refuses what it cannot work with: no writer or pool, a database
// without the schema (the caller prepares it), a server that is not there.
TEST(PgStore, OpenRefusesAMissingSchemaOrServer) {
  auto cluster = SharedPgCluster();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EXPECT_EQ(PgMessageStore::Open(PgStoreOptions{}).status().code(), absl::StatusCode::kInvalidArgument);
  auto bare = (*cluster)->CreateDatabase("no_schema");
  ASSERT_TRUE(bare.ok()) << bare.status();
  auto unprepared = OpenPgStoreParts(*bare);
  EXPECT_EQ(unprepared.status().code(), absl::StatusCode::kFailedPrecondition) << unprepared.status();
  auto dsn = FreshPgDatabase();
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  auto parts = OpenPgStoreParts(*dsn);
  ASSERT_TRUE(parts.ok()) << parts.status();
  pg::Pool nowhere("host=127.0.0.1 port=1 user=portcullis dbname=nowhere", 1, 2);
  PgStoreOptions options;
  options.writer = (*parts)->writer.get();
  options.pool = &nowhere;
  EXPECT_EQ(PgMessageStore::Open(options).status().code(), absl::StatusCode::kUnavailable);
}

// A callback that writes to the store gets an error instead of a deadlock
// (the writer thread would wait for itself).
TEST(PgStore, AnUpdateCallbackThatWritesGetsAnErrorNotADeadlock) {
  auto g = OpenOrDie();
  ASSERT_NE(g, nullptr);
  PgMessageStore& store = *g->store;
  ASSERT_TRUE(Accept(store, MakeEnvelope("uk/nca", "m-1")).ok());
  auto reentrant = store.UpdateRecipient("uk/nca", "m-1", "nl/politie",
                                         [&](RecipientRecord&) { return store.MarkAudited("uk/nca", "m-1", 1); });
  EXPECT_EQ(reentrant.status().code(), absl::StatusCode::kFailedPrecondition);
  auto got = store.Get("uk/nca", "m-1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->recipients[1].state, v1::ACCEPTED);
  // The refusal did not stick to the thread: a later write from the test works.
  EXPECT_TRUE(store.MarkAudited("uk/nca", "m-1", 1).ok());
}

// The blocking Commit (tests, tools): one commit counted; a second Commit, or
// one without a reservation, refused.
TEST(PgStore, BlockingCommitCountsAndRefusesWithoutAReservation) {
  auto g = OpenOrDie();
  ASSERT_NE(g, nullptr);
  PgMessageStore& store = *g->store;
  const v1::Envelope e = MakeEnvelope("uk/nca", "m-1");
  ASSERT_EQ(store.Reserve("uk/nca", "m-1", ShaOf(e)).outcome, ReserveOutcome::kNew);
  auto record = store.Commit(e, MakeReceipt(e));
  ASSERT_TRUE(record.ok()) << record.status();
  // The record to dispatch carries the seqs the head row gave.
  ASSERT_EQ((*record)->recipients.size(), 2u);
  EXPECT_EQ((*record)->recipients[0].seq, 1);
  EXPECT_EQ((*record)->recipients[1].seq, 2);
  EXPECT_EQ(store.Commit(e, MakeReceipt(e)).status().code(), absl::StatusCode::kFailedPrecondition);
  const v1::Envelope unreserved = MakeEnvelope("uk/nca", "m-2");
  EXPECT_EQ(store.Commit(unreserved, MakeReceipt(unreserved)).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.commits(), 1u);
}

TEST(PgStore, SixteenConcurrentCommittersShareTransactions) {
  auto g = OpenOrDie();
  ASSERT_NE(g, nullptr);
  PgMessageStore& store = *g->store;
  constexpr int kThreads = 16;
  constexpr int kPerThread = 60;
  std::atomic<int> failures{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const v1::Envelope e = MakeEnvelope("uk/nca", absl::StrCat("t", t, "-", i));
        absl::Status s = AcceptAudited(store, e);
        // Reads run alongside the writer (more threads than read connections).
        if (s.ok()) s = store.Get(e.sender(), e.message_id()).status();
        if (!s.ok()) {
          ++failures;
          ADD_FAILURE() << s;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store.commits(), uint64_t{kThreads * kPerThread});
  EXPECT_LT(g->writer->batches(), g->writer->ops());  // Several writes per transaction.
  std::printf(
      "[ postgres ] %d committers: %llu commits (+ pairings) in %.3f s = %.0f commits/s; %llu transactions "
      "(%.1f writes per transaction)\n",
      kThreads, static_cast<unsigned long long>(store.commits()), seconds,
      static_cast<double>(store.commits()) / seconds, static_cast<unsigned long long>(g->writer->batches()),
      static_cast<double>(g->writer->ops()) / static_cast<double>(g->writer->batches()));
}

// An op that fails in a batch is rolled back alone (its SAVEPOINT): an update
// beside it in the batch runs once, is kept (attempts 1), and its caller is
// answered once.
TEST(PgStore, AnUpdateBesideAFailedOpIsAppliedOnce) {
  auto g = OpenOrDie();
  ASSERT_NE(g, nullptr);
  PgMessageStore& store = *g->store;
  ASSERT_TRUE(AcceptAudited(store, MakeEnvelope("uk/nca", "m-1")).ok());
  std::promise<void> release;
  HoldWriter(store, release.get_future().share());
  // Both queued behind the held op: the next batch is [update, failing pairing].
  std::atomic<int> runs{0};
  std::promise<absl::StatusOr<RecipientRecord>> updated;
  store.UpdateRecipientAsync(
      "uk/nca", "m-1", "nl/politie",
      [&runs](RecipientRecord& r) {
        ++runs;
        r.attempts += 1;
        return absl::OkStatus();
      },
      [&updated](absl::StatusOr<RecipientRecord> r) { updated.set_value(std::move(r)); });
  std::promise<absl::Status> refused;
  store.MarkAuditedAsync("uk/nca", "nope", 3, [&refused](absl::Status s) { refused.set_value(std::move(s)); });
  release.set_value();
  const absl::Status not_found = refused.get_future().get();
  EXPECT_EQ(RefusalOf(not_found).reason(), "MESSAGE_NOT_FOUND") << not_found;
  auto r = updated.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->attempts, 1u);
  EXPECT_EQ(runs.load(), 1) << "a neighbour's failure ran the update again";
  auto got = store.Get("uk/nca", "m-1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->recipients[1].attempts, 1u);
}

// A message whose pairing is being written (MarkAuditedAsync called, not
// yet durable) is listed: its sender holds the receipt. The writer is held so
// that the pairing cannot be durable before ListCase runs.
TEST(PgStore, ListCaseListsAMessageWhosePairingIsBeingWritten) {
  auto g = OpenOrDie();
  ASSERT_NE(g, nullptr);
  PgMessageStore& store = *g->store;
  ASSERT_TRUE(AcceptAudited(store, MakeEnvelope("uk/nca", "m-1")).ok());
  ASSERT_TRUE(Accept(store, MakeEnvelope("uk/nca", "m-2")).ok());
  auto unpaired = store.ListCase("BF-2026-004512", "eu/europol", 0, 10);
  ASSERT_TRUE(unpaired.ok()) << unpaired.status();
  EXPECT_EQ(IdsOf(*unpaired), (std::vector<std::string>{"m-1"}));
  EXPECT_TRUE(unpaired->more);
  std::promise<void> release;
  HoldWriter(store, release.get_future().share());
  std::promise<absl::Status> paired;
  store.MarkAuditedAsync("uk/nca", "m-2", 42, [&paired](absl::Status s) { paired.set_value(s); });
  // Reserve answers the duplicate with the index being written, too.
  const v1::Envelope m2 = MakeEnvelope("uk/nca", "m-2");
  ReserveResult dup = store.Reserve("uk/nca", "m-2", ShaOf(m2));
  EXPECT_EQ(dup.outcome, ReserveOutcome::kDuplicate);
  EXPECT_EQ(dup.receipt.audit_index(), 42u);
  auto page = store.ListCase("BF-2026-004512", "eu/europol", 0, 10);
  release.set_value();
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(IdsOf(*page), (std::vector<std::string>{"m-1", "m-2"}));
  EXPECT_FALSE(page->more);
  EXPECT_TRUE(paired.get_future().get().ok());
}

// Issue 14, item 5, on PostgreSQL: m-2's pairing becomes durable, and leaves
// the in-memory set of pairings being written, between ListCase's snapshot
// (which still shows m-2 unpaired) and its decision about m-2. Forced every
// run: an update holds the writer, so the pairing cannot be durable before
// the snapshot; the test hook then lets the writer go and waits for the
// pairing's callback. m-2 is listed: its pairing was in flight before the
// snapshot (the set is read first).
TEST(PgStore, ListCaseListsAPairingThatBecameDurableAfterItsSnapshot) {
  std::promise<void> release_writer;
  std::shared_future<void> released = release_writer.get_future().share();
  std::promise<absl::Status> paired;
  std::shared_future<absl::Status> paired_done = paired.get_future().share();
  std::atomic<bool> hooked{false};
  auto g = OpenOrDie([&] {
    if (hooked.exchange(true)) return;  // The first ListCase only.
    release_writer.set_value();
    paired_done.wait();  // Durable, and gone from the in-memory set.
  });
  ASSERT_NE(g, nullptr);
  PgMessageStore& store = *g->store;
  ASSERT_TRUE(AcceptAudited(store, MakeEnvelope("uk/nca", "m-1")).ok());
  ASSERT_TRUE(Accept(store, MakeEnvelope("uk/nca", "m-2")).ok());
  ASSERT_TRUE(AcceptAudited(store, MakeEnvelope("uk/nca", "m-3")).ok());
  HoldWriter(store, released);
  store.MarkAuditedAsync("uk/nca", "m-2", 42, [&paired](absl::Status s) { paired.set_value(std::move(s)); });

  auto page = store.ListCase("BF-2026-004512", "eu/europol", 0, 10);
  if (!hooked.exchange(true)) release_writer.set_value();  // Never leave the writer held.
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(IdsOf(*page), (std::vector<std::string>{"m-1", "m-2", "m-3"}));
  EXPECT_FALSE(page->more) << "a pairing durable since the snapshot cut the page";
  EXPECT_TRUE(paired_done.get().ok());
}

// Reserve never holds its shard's lock across the database read: while one
// Reserve waits for a pool connection, the writer's thread (an acceptance op,
// inside the batch that holds the head row) takes the same shard's lock at
// once instead of stalling every gateway's writes behind that read.
TEST(PgStore, AReserveWaitingForAConnectionDoesNotStallTheWriter) {
  auto dsn = FreshPgDatabase();
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  auto parts = OpenPgStoreParts(*dsn, 0, nullptr, /*pool_size=*/1);
  ASSERT_TRUE(parts.ok()) << parts.status();
  PgStoreParts& g = **parts;
  const v1::Envelope first = MakeEnvelope("uk/nca", "k-0");
  ASSERT_EQ(g.store->Reserve("uk/nca", "k-0", ShaOf(first)).outcome, ReserveOutcome::kNew);
  // Another key in the same shard (the store shards by the hash of sender '\n' id, 64 shards).
  auto shard_of = [](const std::string& id) { return std::hash<std::string>()("uk/nca\n" + id) % 64; };
  std::string other;
  for (int i = 1; other.empty(); ++i) {
    if (shard_of(absl::StrCat("k-", i)) == shard_of("k-0")) other = absl::StrCat("k-", i);
  }
  auto held = g.pool->Acquire();  // The only read connection: Reserve waits for it.
  ASSERT_TRUE(held.ok()) << held.status();
  std::atomic<bool> reserve_returned{false};
  std::thread reserving([&] {
    // Given the connection once the test lets it go: nothing stored, new.
    EXPECT_EQ(g.store->Reserve("uk/nca", other, "sha").outcome, ReserveOutcome::kNew);
    reserve_returned = true;
  });
  ASSERT_TRUE(WaitUntil([&] { return g.pool->waiting() == 1; }));
  absl::Status s = g.writer->Run([&](pg::Tx& tx) -> absl::Status {
    auto head = tx.head();
    if (!head.ok()) return head.status();
    const uint64_t index = (*head)->audit_size++;
    std::shared_ptr<const MessageRecord> stored;
    return g.store->InsertAcceptedInTx(tx, first, MakeReceipt(first, index), index, &stored);
  });
  g.store->FinishAccepted("uk/nca", "k-0", s.ok());
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_FALSE(reserve_returned.load()) << "the writer waited for a Reserve's read";
  { auto release = std::move(*held); }
  reserving.join();
  // Reserved by that call now; abandoned, free again.
  EXPECT_EQ(g.store->Reserve("uk/nca", other, "sha").outcome, ReserveOutcome::kInProgress);
  g.store->Abandon("uk/nca", other);
  EXPECT_EQ(g.store->Reserve("uk/nca", other, "sha").outcome, ReserveOutcome::kNew);
  EXPECT_EQ(g.store->Reserve("uk/nca", "k-0", ShaOf(first)).outcome, ReserveOutcome::kDuplicate);
}

// Only the messages primary key means "another gateway stored it first": a
// unique violation on a delivery seq (here a head row set back, as a corrupt
// one would be) fails INTERNAL, stores nothing and keeps no reservation,
// never ALREADY_EXISTS (which the acceptance answers "in progress, retry"
// for ever).
TEST(PgStore, AUniqueViolationOtherThanTheMessageKeyIsInternalNotStoredFirst) {
  auto dsn = FreshPgDatabase();
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  auto parts = OpenPgStoreParts(*dsn);
  ASSERT_TRUE(parts.ok()) << parts.status();
  PgMessageStore& store = *(*parts)->store;
  ASSERT_TRUE(Accept(store, MakeEnvelope("uk/nca", "m-1")).ok());
  {
    auto conn = pg::Connection::Open(*dsn);
    ASSERT_TRUE(conn.ok()) << conn.status();
    ASSERT_TRUE((*conn)->Run("UPDATE portcullis_head SET next_seq = 1").ok());  // Seq 1 is m-1's.
  }
  const v1::Envelope second = MakeEnvelope("uk/nca", "m-2");
  ASSERT_EQ(store.Reserve("uk/nca", "m-2", ShaOf(second)).outcome, ReserveOutcome::kNew);
  auto committed = store.Commit(second, MakeReceipt(second));
  EXPECT_EQ(committed.status().code(), absl::StatusCode::kInternal) << committed.status();
  EXPECT_EQ(store.Get("uk/nca", "m-2").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.Reserve("uk/nca", "m-2", ShaOf(second)).outcome, ReserveOutcome::kNew);

  // The key itself taken (the row exists; this process's reservation does
  // not know): ALREADY_EXISTS, as from another gateway.
  auto other = OpenPgStoreParts(*dsn);
  ASSERT_TRUE(other.ok()) << other.status();
  const v1::Envelope first = MakeEnvelope("uk/nca", "m-3");
  ASSERT_EQ((*other)->store->Reserve("uk/nca", "m-3", ShaOf(first)).outcome, ReserveOutcome::kNew);
  ASSERT_EQ(store.Reserve("uk/nca", "m-3", ShaOf(first)).outcome, ReserveOutcome::kNew);
  {
    auto conn = pg::Connection::Open(*dsn);
    ASSERT_TRUE(conn.ok()) << conn.status();
    ASSERT_TRUE((*conn)->Run("UPDATE portcullis_head SET next_seq = (SELECT max(seq) + 1 FROM deliveries)").ok());
  }
  ASSERT_TRUE((*other)->store->Commit(first, MakeReceipt(first)).ok());
  EXPECT_EQ(store.Commit(first, MakeReceipt(first)).status().code(), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace portcullis::testing
