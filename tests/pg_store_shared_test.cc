// What only PgMessageStore has: several gateways on one database, and a
// database server that goes away and comes back.
// - Two stores (two "gateways", each its own writer and pool) accepting the
//   same (sender, message_id): exactly one row, the other told duplicate,
//   conflict or in progress, never two; also through the one-transaction
//   acceptance (InsertAcceptedInTx / FinishAccepted).
// - Delivery seqs, message positions and audit indexes from two writers at
//   once: gap-free, and in commit order (a pager by seq running alongside
//   misses nothing).
// - Two gateways' batches locking the same delivery row and the head row:
//   no deadlock (every store op takes the head row first).
// - A server restart: reads and writes fail with UNAVAILABLE while it is
//   down, and the same store works again once it is back (no new Open).
#include <gtest/gtest.h>

#include <atomic>
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

// The one-transaction acceptance as the lead's PgAcceptance does it: inside
// one writer op, the audit index from the head row, then the message rows.
// Returns the op's outcome (after FinishAccepted).
absl::Status AcceptInOneTransaction(PgStoreParts& gateway, const v1::Envelope& e, uint64_t* index_out = nullptr) {
  auto index = std::make_shared<uint64_t>(0);
  absl::Status s = gateway.writer->Run([&gateway, &e, index](pg::Tx& tx) -> absl::Status {
    auto head = tx.head();
    if (!head.ok()) return head.status();
    *index = (*head)->audit_size++;  // Stands in for the audit record of the acceptance.
    v1::Receipt receipt = MakeReceipt(e, *index);
    std::shared_ptr<const MessageRecord> stored;
    PORTCULLIS_RETURN_IF_ERROR(gateway.store->InsertAcceptedInTx(tx, e, receipt, *index, &stored));
    if (stored == nullptr || stored->receipt.audit_index() != *index) return absl::InternalError("no record");
    return absl::OkStatus();
  });
  gateway.store->FinishAccepted(e.sender(), e.message_id(), s.ok());
  if (index_out != nullptr) *index_out = *index;
  return s;
}

// One number from the database (a count, a max).
int64_t Scalar(const std::string& dsn, const char* sql, std::initializer_list<pg::Param> params = {}) {
  auto conn = pg::Connection::Open(dsn);
  EXPECT_TRUE(conn.ok()) << conn.status();
  if (!conn.ok()) return -1;
  auto res = (*conn)->Exec(sql, params);
  EXPECT_TRUE(res.ok()) << res.status();
  return res.ok() && res->rows() == 1 ? res->Int(0, 0) : -1;
}

struct TwoGateways {
  std::string dsn;
  std::unique_ptr<PgStoreParts> a, b;
};

void OpenTwo(TwoGateways* g) {
  auto dsn = FreshPgDatabase();
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  g->dsn = *dsn;
  auto a = OpenPgStoreParts(g->dsn);
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = OpenPgStoreParts(g->dsn);
  ASSERT_TRUE(b.ok()) << b.status();
  g->a = *std::move(a);
  g->b = *std::move(b);
}

TEST(PgStoreShared, TwoGatewaysCommittingTheSameKeyStoreItOnce) {
  TwoGateways g;
  ASSERT_NO_FATAL_FAILURE(OpenTwo(&g));
  constexpr int kKeys = 40;
  for (int k = 0; k < kKeys; ++k) {
    const v1::Envelope e = MakeEnvelope("uk/nca", absl::StrCat("m-", k));
    // Both reserve before either commits: each process sees no row and no
    // reservation of its own, so both are told "new".
    ASSERT_EQ(g.a->store->Reserve(e.sender(), e.message_id(), ShaOf(e)).outcome, ReserveOutcome::kNew);
    ASSERT_EQ(g.b->store->Reserve(e.sender(), e.message_id(), ShaOf(e)).outcome, ReserveOutcome::kNew);
    std::promise<absl::Status> a_done, b_done;
    auto commit = [&e](PgMessageStore* store, std::promise<absl::Status>* done) {
      store->CommitAsync(
          std::make_shared<const v1::Envelope>(e), MakeReceipt(e), 0,
          [done](absl::StatusOr<std::shared_ptr<const MessageRecord>> r) { done->set_value(r.status()); });
    };
    std::thread ta(commit, g.a->store.get(), &a_done);
    std::thread tb(commit, g.b->store.get(), &b_done);
    ta.join();
    tb.join();
    const absl::Status sa = a_done.get_future().get();
    const absl::Status sb = b_done.get_future().get();
    ASSERT_NE(sa.ok(), sb.ok()) << "exactly one gateway stores it: " << sa << " / " << sb;
    const absl::Status& lost = sa.ok() ? sb : sa;
    EXPECT_EQ(lost.code(), absl::StatusCode::kAlreadyExists) << lost;
    PgMessageStore& winner = sa.ok() ? *g.a->store : *g.b->store;
    PgMessageStore& loser = sa.ok() ? *g.b->store : *g.a->store;
    // The loser's reservation is gone: its next Reserve answers from the row
    // (stored, not yet audited: in progress; once paired: the duplicate).
    EXPECT_EQ(loser.Reserve(e.sender(), e.message_id(), ShaOf(e)).outcome, ReserveOutcome::kInProgress);
    ASSERT_TRUE(winner.MarkAudited(e.sender(), e.message_id(), 100 + k).ok());
    ReserveResult dup = loser.Reserve(e.sender(), e.message_id(), ShaOf(e));
    EXPECT_EQ(dup.outcome, ReserveOutcome::kDuplicate);
    EXPECT_EQ(dup.receipt.audit_index(), uint64_t(100 + k));
    EXPECT_EQ(loser.Reserve(e.sender(), e.message_id(), std::string(64, 'f')).outcome, ReserveOutcome::kConflict);
  }
  EXPECT_EQ(Scalar(g.dsn, "SELECT count(*) FROM messages"), kKeys);
  EXPECT_EQ(Scalar(g.dsn, "SELECT count(*) FROM deliveries"), 2 * kKeys);
  EXPECT_EQ(g.a->store->commits() + g.b->store->commits(), uint64_t{kKeys});
  // The failed commits took no seq or position: both stay gap-free.
  EXPECT_EQ(Scalar(g.dsn, "SELECT max(seq) - min(seq) + 1 FROM deliveries"), 2 * kKeys);
  EXPECT_EQ(Scalar(g.dsn, "SELECT max(position) - min(position) + 1 FROM messages"), kKeys);
}

TEST(PgStoreShared, TwoGatewaysAcceptingTheSameKeyInOneTransactionStoreItOnce) {
  TwoGateways g;
  ASSERT_NO_FATAL_FAILURE(OpenTwo(&g));
  const v1::Envelope e = MakeEnvelope("uk/nca", "m-1");
  // Without a reservation: refused, nothing stored.
  EXPECT_EQ(AcceptInOneTransaction(*g.a, e).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(g.a->store->Reserve(e.sender(), e.message_id(), ShaOf(e)).outcome, ReserveOutcome::kNew);
  ASSERT_EQ(g.b->store->Reserve(e.sender(), e.message_id(), ShaOf(e)).outcome, ReserveOutcome::kNew);
  uint64_t index_a = 0, index_b = 0;
  absl::Status sa, sb;
  std::thread ta([&] { sa = AcceptInOneTransaction(*g.a, e, &index_a); });
  std::thread tb([&] { sb = AcceptInOneTransaction(*g.b, e, &index_b); });
  ta.join();
  tb.join();
  ASSERT_NE(sa.ok(), sb.ok()) << sa << " / " << sb;
  EXPECT_EQ((sa.ok() ? sb : sa).code(), absl::StatusCode::kAlreadyExists);
  const uint64_t index = sa.ok() ? index_a : index_b;
  PgMessageStore& loser = sa.ok() ? *g.b->store : *g.a->store;
  // Audited in its own transaction: the loser's next Reserve is the duplicate at once.
  ReserveResult dup = loser.Reserve(e.sender(), e.message_id(), ShaOf(e));
  EXPECT_EQ(dup.outcome, ReserveOutcome::kDuplicate);
  EXPECT_EQ(dup.receipt.audit_index(), index);
  EXPECT_EQ(Scalar(g.dsn, "SELECT count(*) FROM messages"), 1);
  // The rolled-back transaction's audit index was not spent: one record counted.
  EXPECT_EQ(Scalar(g.dsn, "SELECT audit_size FROM portcullis_head"), 1);
  EXPECT_EQ(Scalar(g.dsn, "SELECT count(*) FROM messages WHERE audit_index IS NULL"), 0);
  auto unaudited = loser.Unaudited();
  ASSERT_TRUE(unaudited.ok());
  EXPECT_TRUE(unaudited->empty());
  auto pending = loser.PendingDeliveries("eu/europol", 0, 10);  // Deliverable at once.
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->size(), 1u);
}

TEST(PgStoreShared, SeqsPositionsAndIndexesFromTwoWritersAreGapFreeAndInCommitOrder) {
  TwoGateways g;
  ASSERT_NO_FATAL_FAILURE(OpenTwo(&g));
  constexpr int kThreadsPerGateway = 6;
  constexpr int kPerThread = 40;
  constexpr int kTotal = 2 * kThreadsPerGateway * kPerThread;
  std::atomic<int> writing{2 * kThreadsPerGateway};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int gw = 0; gw < 2; ++gw) {
    PgStoreParts* gateway = gw == 0 ? g.a.get() : g.b.get();
    for (int t = 0; t < kThreadsPerGateway; ++t) {
      threads.emplace_back([&, gateway, gw, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const v1::Envelope e = MakeEnvelope(gw == 0 ? "uk/nca" : "uk/border-force", absl::StrCat("t", t, "-", i));
          absl::Status s = gateway->store->Reserve(e.sender(), e.message_id(), ShaOf(e)).outcome == ReserveOutcome::kNew
                               ? AcceptInOneTransaction(*gateway, e)
                               : absl::InternalError("not new");
          if (!s.ok()) {
            ++failures;
            ADD_FAILURE() << s;
          }
        }
        --writing;
      });
    }
  }
  // A pager by seq on a third reader, alongside: it never passes a seq that
  // a later commit could still fill, so it sees every delivery exactly once.
  std::vector<int64_t> seen;
  std::set<std::string> ids;
  int64_t after = 0;
  auto page_once = [&]() -> bool {
    auto page = g.a->store->PendingDeliveries("eu/europol", after, 50);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return false;
    for (const DeliveryRow& d : *page) {
      EXPECT_GT(d.seq, after);
      after = d.seq;
      seen.push_back(d.seq);
      EXPECT_TRUE(ids.insert(d.sender + "/" + d.message_id).second) << "seen twice: " << d.message_id;
    }
    return !page->empty();
  };
  while (writing.load() > 0) page_once();
  for (auto& th : threads) th.join();
  while (page_once()) {
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ids.size(), size_t{kTotal}) << "the pager missed deliveries committed behind it";
  // Gap-free numbers, each used once.
  EXPECT_EQ(Scalar(g.dsn, "SELECT count(DISTINCT seq) FROM deliveries"), 2 * kTotal);
  EXPECT_EQ(Scalar(g.dsn, "SELECT max(seq) - min(seq) + 1 FROM deliveries"), 2 * kTotal);
  EXPECT_EQ(Scalar(g.dsn, "SELECT max(position) - min(position) + 1 FROM messages"), kTotal);
  EXPECT_EQ(Scalar(g.dsn, "SELECT count(DISTINCT audit_index) FROM messages"), kTotal);
  EXPECT_EQ(Scalar(g.dsn, "SELECT max(audit_index) + 1 FROM messages"), kTotal);
  EXPECT_EQ(Scalar(g.dsn, "SELECT audit_size FROM portcullis_head"), kTotal);
  // A message's seqs follow its position (both assigned under one lock, in commit order).
  EXPECT_EQ(Scalar(g.dsn,
                   "SELECT count(*) FROM messages m1 JOIN messages m2 ON m1.position < m2.position "
                   "JOIN deliveries d1 ON d1.sender = m1.sender AND d1.message_id = m1.message_id "
                   "JOIN deliveries d2 ON d2.sender = m2.sender AND d2.message_id = m2.message_id "
                   "WHERE d1.seq > d2.seq"),
            0);
}

// Holds `writer` inside an op until `released`; with `take_head`, that op
// holds the head row's lock. Returns once the op runs.
void HoldWriter(pg::GroupWriter& writer, std::shared_future<void> released, bool take_head) {
  auto inside = std::make_shared<std::promise<void>>();
  std::future<void> in = inside->get_future();
  writer.Submit(
      [inside, released, take_head](pg::Tx& tx) -> absl::Status {
        if (take_head) PORTCULLIS_RETURN_IF_ERROR(tx.head().status());
        inside->set_value();
        released.wait();
        return absl::OkStatus();
      },
      [](absl::Status s) { EXPECT_TRUE(s.ok()) << s; });
  in.wait();
}

// Gateway B's batch holds the head row and then wants delivery X; gateway
// A's batch updates X and then commits a message (the head row). Were A's
// update to lock X before the head row, the two would deadlock (PostgreSQL
// would abort one: a write refused for nothing). Every store op takes the
// head row first, so A waits at the head row and both batches commit.
TEST(PgStoreShared, TwoGatewaysUpdatingOneDeliveryWhileCommittingDoNotDeadlock) {
  TwoGateways g;
  ASSERT_NO_FATAL_FAILURE(OpenTwo(&g));
  ASSERT_TRUE(AcceptAudited(*g.a->store, MakeEnvelope("uk/nca", "x")).ok());
  auto update = [](const std::string& reason) {
    return [reason](RecipientRecord& r) {
      r.reason = reason;
      return absl::OkStatus();
    };
  };
  // B: one batch [hold the head row, update X].
  std::promise<void> release_b1, release_b2;
  HoldWriter(*g.b->writer, release_b1.get_future().share(), false);
  auto b_has_head = std::make_shared<std::promise<void>>();
  std::shared_future<void> b2 = release_b2.get_future().share();
  g.b->writer->Submit(
      [b_has_head, b2](pg::Tx& tx) -> absl::Status {
        PORTCULLIS_RETURN_IF_ERROR(tx.head().status());
        b_has_head->set_value();
        b2.wait();
        return absl::OkStatus();
      },
      [](absl::Status s) { EXPECT_TRUE(s.ok()) << s; });
  std::promise<absl::StatusOr<RecipientRecord>> b_updated;
  g.b->store->UpdateRecipientAsync("uk/nca", "x", "eu/europol", update("b"),
                                   [&](absl::StatusOr<RecipientRecord> r) { b_updated.set_value(std::move(r)); });
  release_b1.set_value();
  b_has_head->get_future().wait();
  // A: [update X, commit a message] (every batch locks the head row first, so
  // A waits at its BEGIN for B, never on X while holding what B needs).
  std::promise<absl::StatusOr<RecipientRecord>> a_updated;
  g.a->store->UpdateRecipientAsync("uk/nca", "x", "eu/europol", update("a"),
                                   [&](absl::StatusOr<RecipientRecord> r) { a_updated.set_value(std::move(r)); });
  const v1::Envelope y = MakeEnvelope("uk/nca", "y");
  ASSERT_EQ(g.a->store->Reserve("uk/nca", "y", ShaOf(y)).outcome, ReserveOutcome::kNew);
  std::promise<absl::Status> a_committed;
  g.a->store->CommitAsync(
      std::make_shared<const v1::Envelope>(y), MakeReceipt(y), 0,
      [&](absl::StatusOr<std::shared_ptr<const MessageRecord>> r) { a_committed.set_value(r.status()); });
  // A's batch is waiting for a lock B holds.
  auto probe = pg::Connection::Open(g.dsn);
  ASSERT_TRUE(probe.ok()) << probe.status();
  const int a_pid = g.a->writer->backend_pid();
  EXPECT_TRUE(WaitUntil([&] {
    auto res = (*probe)->Exec("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", {a_pid});
    return res.ok() && res->rows() == 1 && res->Bool(0, 0);
  }));
  release_b2.set_value();
  auto b = b_updated.get_future().get();
  EXPECT_TRUE(b.ok()) << b.status();
  auto a = a_updated.get_future().get();
  EXPECT_TRUE(a.ok()) << a.status();
  const absl::Status committed = a_committed.get_future().get();
  EXPECT_TRUE(committed.ok()) << committed;
  auto got = g.a->store->Get("uk/nca", "x");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->recipients[0].reason, "a");  // B's batch first, then A's.
}

TEST(PgStoreShared, AStoreWorksAgainAfterTheServerRestartsWithoutANewOpen) {
  auto cluster = SharedPgCluster();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto dsn = FreshPgDatabase();
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  auto parts = OpenPgStoreParts(*dsn);
  ASSERT_TRUE(parts.ok()) << parts.status();
  PgMessageStore& store = *(*parts)->store;
  pg::GroupWriter& writer = *(*parts)->writer;
  const v1::Envelope before = MakeEnvelope("uk/nca", "before");
  ASSERT_TRUE(AcceptAudited(store, before).ok());
  ASSERT_TRUE(store.Get("uk/nca", "before").ok());  // The pool has an idle connection now.

  ASSERT_TRUE((*cluster)->Stop(/*immediate=*/true).ok());
  // Down: reads fail UNAVAILABLE (never NOT_FOUND or a stale answer),
  // writes acknowledge nothing, Reserve cannot answer "new".
  EXPECT_EQ(store.Get("uk/nca", "before").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.PendingDeliveries("eu/europol", 0, 10).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.ListCase("BF-2026-004512", "uk/nca", 0, 10).status().code(), absl::StatusCode::kUnavailable);
  const v1::Envelope during = MakeEnvelope("uk/nca", "during");
  EXPECT_EQ(store.Reserve("uk/nca", "during", ShaOf(during)).outcome, ReserveOutcome::kInProgress);
  auto update = store.UpdateRecipient("uk/nca", "before", "eu/europol", [](RecipientRecord& r) {
    r.state = v1::DELIVERED;
    return absl::OkStatus();
  });
  EXPECT_EQ(update.status().code(), absl::StatusCode::kUnavailable) << update.status();
  EXPECT_TRUE(WaitUntil([&] { return !writer.Health().ok(); }));

  ASSERT_TRUE((*cluster)->Restart().ok());
  // Back: the writer reconnects by itself, the pool opens fresh connections.
  EXPECT_TRUE(WaitUntil([&] { return writer.Health().ok(); })) << writer.Health();
  auto got = store.Get("uk/nca", "before");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)->recipients[0].state, v1::ACCEPTED);  // The update while down left nothing.
  ASSERT_EQ(store.Reserve("uk/nca", "during", ShaOf(during)).outcome, ReserveOutcome::kNew);
  ASSERT_TRUE(store.Commit(during, MakeReceipt(during)).ok());
  ASSERT_TRUE(store.MarkAudited("uk/nca", "during", 8).ok());
  auto pending = store.PendingDeliveries("eu/europol", 0, 10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].message_id, "before");
  EXPECT_EQ((*pending)[1].message_id, "during");
}

}  // namespace
}  // namespace portcullis::testing
