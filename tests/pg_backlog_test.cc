// The backlog bounds counted in the database (issue 15, docs/cluster.md
// "Backlog bounds"), on a real PostgreSQL started by this binary:
// - backlog_counts, kept by the trigger deliveries_backlog, after each kind
//   of transition a delivery makes (acceptance, delivered, acknowledged from
//   ACCEPTED, rejected after delivery, failed, retried, cancelled, pull
//   confirmation, expiry, a discarded acceptance): always what the rows say,
//   and what PgMessageStore::BacklogCounts reads;
// - a version-1 database with ACCEPTED rows migrated to version 2: the
//   counts are filled, and kept from then on;
// - InsertAcceptedInTx with a bound: the acceptance beyond it is refused
//   with exactly Backlog::Reserve's refusal, and nothing is stored and no
//   audit index spent.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gateway/common/digest.h"
#include "gateway/common/refusal.h"
#include "gateway/delivery/backlog.h"
#include "gateway/pg/pg_schema.h"
#include "gateway/store/pg_message_store.h"
#include "tests/support/pg_store_fixtures.h"
#include "tests/support/store_test_util.h"
#include "util/clock.h"

namespace portcullis::testing {
namespace {

const char kEuropol[] = "eu/europol";
const char kBsc[] = "uk/bsc";

std::unique_ptr<pg::Connection> Connect(const std::string& dsn) {
  auto conn = pg::Connection::Open(dsn, 10);
  EXPECT_TRUE(conn.ok()) << conn.status();
  return conn.ok() ? *std::move(conn) : nullptr;
}

// recipient -> (messages, bytes) from `sql` (three columns).
std::map<std::string, std::pair<int64_t, int64_t>> Rows(const std::string& dsn, const char* sql) {
  std::map<std::string, std::pair<int64_t, int64_t>> out;
  auto conn = Connect(dsn);
  if (conn == nullptr) return out;
  auto res = conn->Exec(sql);
  EXPECT_TRUE(res.ok()) << res.status();
  if (!res.ok()) return out;
  for (int i = 0; i < res->rows(); ++i) out[std::string(res->Text(i, 0))] = {res->Int(i, 1), res->Int(i, 2)};
  return out;
}

// What the rows say: ACCEPTED deliveries and their envelopes' bytes.
std::map<std::string, std::pair<int64_t, int64_t>> Truth(const std::string& dsn) {
  return Rows(dsn,
              "SELECT d.recipient, COUNT(*), COALESCE(SUM(octet_length(m.envelope)), 0) FROM deliveries d JOIN "
              "messages m ON m.sender = d.sender AND m.message_id = d.message_id WHERE d.state = 1 "
              "GROUP BY d.recipient");
}

// The trigger's table, recipients with none left out.
std::map<std::string, std::pair<int64_t, int64_t>> Counted(const std::string& dsn) {
  return Rows(dsn, "SELECT recipient, messages, bytes FROM backlog_counts WHERE messages <> 0 OR bytes <> 0");
}

// backlog_counts agrees with the rows and with BacklogCounts(), and holds
// `europol` and `bsc` deliveries.
void ExpectCounts(const std::string& dsn, const PgMessageStore& store, int64_t europol, int64_t bsc,
                  const std::string& step) {
  SCOPED_TRACE(step);
  const auto truth = Truth(dsn);
  EXPECT_EQ(Counted(dsn), truth);
  auto read = store.BacklogCounts();
  ASSERT_TRUE(read.ok()) << read.status();
  std::map<std::string, std::pair<int64_t, int64_t>> via_store;
  for (const auto& [r, c] : *read) via_store[r] = {int64_t(c.messages), int64_t(c.bytes)};
  EXPECT_EQ(via_store, truth);
  auto count = [&truth](const char* r) { return truth.count(r) ? truth.at(r).first : 0; };
  EXPECT_EQ(count(kEuropol), europol);
  EXPECT_EQ(count(kBsc), bsc);
}

absl::Status SetState(PgMessageStore& store, const std::string& id, const std::string& party, v1::DeliveryState to) {
  return store
      .UpdateRecipient("uk/nca", id, party,
                       [to](RecipientRecord& r) {
                         r.state = to;
                         r.reason = "test";
                         return absl::OkStatus();
                       })
      .status();
}

TEST(PgBacklogCounts, TheTriggerCountsEveryKindOfTransition) {
  auto dsn = FreshPgDatabase();
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  // Deliveries expire an hour after acceptance; MakeReceipt accepts in 2026-01-01: all due "now".
  auto parts = OpenPgStoreParts(*dsn, 3600LL * 1000000);
  ASSERT_TRUE(parts.ok()) << parts.status();
  PgMessageStore& store = *(*parts)->store;
  ExpectCounts(*dsn, store, 0, 0, "empty");

  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(AcceptAudited(store, MakeEnvelope("uk/nca", absl::StrCat("m-", i), {kEuropol, kBsc},
                                                  std::string(100 * (i + 1), 'x')))
                    .ok());
  }
  ExpectCounts(*dsn, store, 6, 6, "accepted");
  auto truth = Truth(*dsn);
  EXPECT_GT(truth[kEuropol].second, 6 * 100) << "bytes are the envelopes' sizes";

  ASSERT_TRUE(SetState(store, "m-0", kEuropol, v1::DELIVERED).ok());
  ExpectCounts(*dsn, store, 5, 6, "delivered");
  ASSERT_TRUE(SetState(store, "m-1", kEuropol, v1::ACKNOWLEDGED).ok());
  ExpectCounts(*dsn, store, 4, 6, "acknowledged while still ACCEPTED");
  ASSERT_TRUE(SetState(store, "m-0", kEuropol, v1::REJECTED).ok());
  ExpectCounts(*dsn, store, 4, 6, "rejected after delivery: no change");
  ASSERT_TRUE(SetState(store, "m-2", kEuropol, v1::FAILED).ok());
  ExpectCounts(*dsn, store, 3, 6, "failed: a dead letter");

  const std::string m2 = DeliveryIdFor("uk/nca", "m-2", kEuropol);
  auto retried = store.RetryDeadLetter(m2, 0, OfficerOnRecord("OPS-7"));
  ASSERT_TRUE(retried.ok()) << retried.status();
  ExpectCounts(*dsn, store, 4, 6, "dead letter retried");
  // A second retry changes nothing (not a dead letter any more).
  EXPECT_EQ(store.RetryDeadLetter(m2, 0, OfficerOnRecord("OPS-7")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ExpectCounts(*dsn, store, 4, 6, "second retry refused");
  ASSERT_TRUE(SetState(store, "m-2", kEuropol, v1::FAILED).ok());
  ExpectCounts(*dsn, store, 3, 6, "failed again");
  ASSERT_TRUE(store.CancelDeadLetter(m2, OfficerOnRecord("OPS-9"), "superseded").ok());
  ExpectCounts(*dsn, store, 3, 6, "cancelled: was not counted, is not counted");

  auto pending = store.PendingDeliveries(kBsc, 0, 10);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 6u);
  store.RecordPulled(kBsc, (*pending)[1].seq);
  auto confirmed = store.ConfirmPulled(kBsc, (*pending)[1].delivery_id);
  ASSERT_TRUE(confirmed.ok()) << confirmed.status();
  ASSERT_EQ(confirmed->changed.size(), 2u);
  ExpectCounts(*dsn, store, 3, 4, "pull confirmed through the second");

  // An acceptance whose audit failed is discarded: its rows go, and its counts.
  const v1::Envelope discarded = MakeEnvelope("uk/nca", "m-discarded", {kEuropol, kBsc});
  ASSERT_TRUE(Accept(store, discarded).ok());
  ExpectCounts(*dsn, store, 4, 5, "accepted, not yet audited");
  std::promise<absl::Status> gone;
  store.DiscardAsync(discarded.sender(), discarded.message_id(), [&gone](absl::Status s) { gone.set_value(s); });
  ASSERT_TRUE(gone.get_future().get().ok());
  ExpectCounts(*dsn, store, 3, 4, "discarded");

  auto expired = store.ExpireDue(NowMicros(), 100);
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(expired->size(), 7u);
  ExpectCounts(*dsn, store, 0, 0, "expired");
  EXPECT_TRUE(store.BacklogCounts()->empty());
  auto expired_one = DeliveryIdFor("uk/nca", "m-3", kEuropol);
  ASSERT_TRUE(store.RetryDeadLetter(expired_one, 0, OfficerOnRecord("OPS-7")).ok());
  ExpectCounts(*dsn, store, 1, 0, "an expired dead letter retried");
}

TEST(PgBacklogCounts, AVersionOneDatabaseMigratedToVersionTwoHasItsCountsFilled) {
  auto dsn = FreshPgDatabase();
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  {
    auto parts = OpenPgStoreParts(*dsn);
    ASSERT_TRUE(parts.ok()) << parts.status();
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(AcceptAudited(*(*parts)->store, MakeEnvelope("uk/nca", absl::StrCat("m-", i), {kEuropol, kBsc},
                                                               std::string(50 * (i + 1), 'y')))
                      .ok());
    }
    ASSERT_TRUE(SetState(*(*parts)->store, "m-0", kEuropol, v1::DELIVERED).ok());
  }
  const auto truth = Truth(*dsn);
  ASSERT_EQ(truth.at(kEuropol).first, 3);
  ASSERT_EQ(truth.at(kBsc).first, 4);
  // Back to exactly version 1 (a new database is version 1 plus the
  // migration: kSchemaV1 then kMigrationV2, pg_schema.cc), rows kept.
  {
    auto conn = Connect(*dsn);
    ASSERT_NE(conn, nullptr);
    ASSERT_TRUE(conn->RunScript("DROP TRIGGER deliveries_backlog ON deliveries; "
                                "DROP FUNCTION portcullis_backlog_change(); DROP TABLE backlog_counts; "
                                "DROP TABLE receive_streams; DROP TABLE destination_leases; "
                                "DROP TABLE portcullis_replicas; "
                                "UPDATE portcullis_meta SET value = '1' WHERE key = 'schema_version'")
                    .ok());
    auto none = conn->Exec("SELECT to_regclass('backlog_counts') IS NULL");
    ASSERT_TRUE(none.ok());
    ASSERT_TRUE(none->Bool(0, 0));
    ASSERT_TRUE(pg::PrepareSchema(*conn).ok());
    auto version = conn->Exec("SELECT value FROM portcullis_meta WHERE key = 'schema_version'");
    ASSERT_TRUE(version.ok());
    EXPECT_EQ(version->Text(0, 0), "2");
  }
  EXPECT_EQ(Counted(*dsn), truth) << "the migration fills the counts from the ACCEPTED rows";
  // And the trigger keeps them from then on.
  auto parts = OpenPgStoreParts(*dsn);
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_TRUE(AcceptAudited(*(*parts)->store, MakeEnvelope("uk/nca", "m-after", {kEuropol})).ok());
  ASSERT_TRUE(SetState(*(*parts)->store, "m-1", kBsc, v1::DELIVERED).ok());
  ExpectCounts(*dsn, *(*parts)->store, 4, 3, "after the migration");
}

// InsertAcceptedInTx inside one writer op, as PgAcceptance runs it.
absl::Status AcceptInTx(pg::GroupWriter& writer, PgMessageStore& store, const v1::Envelope& e) {
  if (store.Reserve(e.sender(), e.message_id(), ShaOf(e)).outcome != ReserveOutcome::kNew) {
    return absl::InternalError("not new");
  }
  absl::Status s = writer.Run([&store, &e](pg::Tx& tx) -> absl::Status {
    auto head = tx.head();
    if (!head.ok()) return head.status();
    const uint64_t index = (*head)->audit_size++;  // Stands in for the acceptance record.
    std::shared_ptr<const MessageRecord> stored;
    return store.InsertAcceptedInTx(tx, e, MakeReceipt(e, index), index, &stored);
  });
  store.FinishAccepted(e.sender(), e.message_id(), s.ok());
  return s;
}

int64_t Scalar(const std::string& dsn, const char* sql) {
  auto conn = Connect(dsn);
  if (conn == nullptr) return -1;
  auto res = conn->Exec(sql);
  EXPECT_TRUE(res.ok()) << res.status();
  return res.ok() && res->rows() == 1 ? res->Int(0, 0) : -1;
}

TEST(PgBacklogCounts, AnAcceptanceBeyondTheBoundIsRefusedAsBacklogReserveRefusesAndStoresNothing) {
  auto dsn = FreshPgDatabase();
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  auto parts = OpenPgStoreParts(*dsn);
  ASSERT_TRUE(parts.ok()) << parts.status();
  PgStoreOptions options;
  options.writer = (*parts)->writer.get();
  options.pool = (*parts)->pool.get();
  options.backlog_bound = {2, 1 << 20};
  auto bounded = PgMessageStore::Open(options);
  ASSERT_TRUE(bounded.ok()) << bounded.status();
  PgMessageStore& store = **bounded;

  ASSERT_TRUE(AcceptInTx(*(*parts)->writer, store, MakeEnvelope("uk/nca", "m-0", {kEuropol, kBsc})).ok());
  ASSERT_TRUE(AcceptInTx(*(*parts)->writer, store, MakeEnvelope("uk/nca", "m-1", {kBsc, kEuropol})).ok());
  const int64_t audit_size = Scalar(*dsn, "SELECT audit_size FROM portcullis_head");
  const v1::Envelope third = MakeEnvelope("uk/nca", "m-2", {kBsc, kEuropol});
  absl::Status refused = AcceptInTx(*(*parts)->writer, store, third);
  ASSERT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_EQ(RefusalOf(refused).reason(), "BACKLOG_FULL");
  EXPECT_EQ(RefusalOf(refused).field(), "recipients");
  // The same words as the in-memory Backlog (SQLite) holding the same.
  Config config;
  config.delivery.max_backlog_messages = 2;
  config.delivery.max_backlog_mib = 1;
  Party bsc;
  bsc.id = kBsc;
  config.parties.push_back(bsc);
  Backlog memory(config);
  ASSERT_TRUE(memory.counting());
  memory.Add(kBsc, 2, 10);
  absl::Status expected = memory.Reserve(third.recipients(), 10);
  EXPECT_EQ(refused, expected);
  EXPECT_NE(refused.message().find("'uk/bsc' has 2 messages (limit 2)"), std::string::npos) << refused;
  // Nothing stored, no seq, position or audit index spent; the id is free again.
  EXPECT_EQ(Scalar(*dsn, "SELECT count(*) FROM messages"), 2);
  EXPECT_EQ(Scalar(*dsn, "SELECT audit_size FROM portcullis_head"), audit_size);
  EXPECT_EQ(store.Reserve(third.sender(), third.message_id(), ShaOf(third)).outcome, ReserveOutcome::kNew);
  store.Abandon(third.sender(), third.message_id());
  // Room again once one is delivered (to both recipients: both were full).
  ASSERT_TRUE(SetState(store, "m-0", kBsc, v1::DELIVERED).ok());
  EXPECT_EQ(AcceptInTx(*(*parts)->writer, store, third).code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(SetState(store, "m-0", kEuropol, v1::DELIVERED).ok());
  EXPECT_TRUE(AcceptInTx(*(*parts)->writer, store, third).ok());
  ExpectCounts(*dsn, store, 2, 2, "after the refusal and a delivery");

  // The bytes bound, by the envelope's stored size.
  const int64_t one = Scalar(*dsn, "SELECT octet_length(envelope) FROM messages WHERE message_id = 'm-0'");
  options.backlog_bound = {1000, static_cast<uint64_t>(2 * one + one / 2)};
  auto by_bytes = PgMessageStore::Open(options);
  ASSERT_TRUE(by_bytes.ok());
  absl::Status s = AcceptInTx(*(*parts)->writer, **by_bytes, MakeEnvelope("uk/nca", "m-3", {kEuropol}));
  ASSERT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("'eu/europol' has "), std::string::npos) << s;
  EXPECT_NE(s.message().find(" bytes (limit "), std::string::npos) << s;
  // Unbounded (no bound set): accepted.
  options.backlog_bound = {};
  auto unbounded = PgMessageStore::Open(options);
  ASSERT_TRUE(unbounded.ok());
  EXPECT_TRUE(AcceptInTx(*(*parts)->writer, **unbounded, MakeEnvelope("uk/nca", "m-3", {kEuropol})).ok());
}

}  // namespace
}  // namespace portcullis::testing
