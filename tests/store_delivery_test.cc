// MessageStore conformance, every backend: what the delivery scheduler and
// operators ask of it: pending deliveries in order and paging, confirmation
// of pulled deliveries, expiry, and dead letters (listed, retried, cancelled).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "gateway/common/digest.h"
#include "gateway/common/refusal.h"
#include "tests/support/store_backends.h"
#include "tests/support/store_test_util.h"
#include "util/clock.h"

namespace portcullis::testing {
namespace {

class StoreDeliveryQueue : public StoreConformanceTest {};
PORTCULLIS_STORE_CONFORMANCE(StoreDeliveryQueue);

TEST_P(StoreDeliveryQueue, PendingDeliveriesInSeqOrderWithPaging) {
  auto store = Fresh();
  ASSERT_NE(store, nullptr);
  // m-0..m-9 to europol; the even ones also to politie.
  for (int i = 0; i < 10; ++i) {
    std::vector<std::string> to = {"eu/europol"};
    if (i % 2 == 0) to.push_back("nl/politie");
    ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", absl::StrCat("m-", i), to)).ok());
  }
  ASSERT_TRUE(store
                  ->UpdateRecipient("uk/nca", "m-3", "eu/europol",
                                    [](RecipientRecord& r) {
                                      r.state = v1::DELIVERED;
                                      return absl::OkStatus();
                                    })
                  .ok());

  std::vector<std::string> seen;
  int64_t after = 0;
  int pages = 0;
  for (;;) {
    auto page = store->PendingDeliveries("eu/europol", after, 3);
    ASSERT_TRUE(page.ok()) << page.status();
    if (page->empty()) break;
    ++pages;
    EXPECT_LE(page->size(), 3u);
    for (const DeliveryRow& d : *page) {
      EXPECT_GT(d.seq, after);
      after = d.seq;
      EXPECT_EQ(d.recipient, "eu/europol");
      EXPECT_EQ(d.sender, "uk/nca");
      EXPECT_EQ(d.state, v1::ACCEPTED);
      EXPECT_EQ(d.case_reference, "BF-2026-004512");
      EXPECT_EQ(d.delivery_id, DeliveryIdFor("uk/nca", d.message_id, "eu/europol"));
      EXPECT_GT(d.updated_micros, 0);
      EXPECT_EQ(d.next_attempt_micros, d.updated_micros);  // Due at once.
      seen.push_back(d.message_id);
    }
  }
  EXPECT_EQ(pages, 3);  // 9 rows: 3 + 3 + 3.
  EXPECT_EQ(seen, (std::vector<std::string>{"m-0", "m-1", "m-2", "m-4", "m-5", "m-6", "m-7", "m-8", "m-9"}));

  auto politie = store->PendingDeliveries("nl/politie", 0, 100);
  ASSERT_TRUE(politie.ok());
  ASSERT_EQ(politie->size(), 5u);
  EXPECT_EQ((*politie)[4].message_id, "m-8");
  EXPECT_TRUE(store->PendingDeliveries("nl/politie", 0, 0)->empty());
  EXPECT_TRUE(store->PendingDeliveries("nobody", 0, 10)->empty());
}

TEST_P(StoreDeliveryQueue, PendingDeliveriesStopBeforeAMessageNotYetAudited) {
  auto store = Fresh();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", "m-1")).ok());
  ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/nca", "m-2")).ok());  // Stored, its audit record not yet written.
  ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", "m-3")).ok());
  auto page = store->PendingDeliveries("eu/europol", 0, 10);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 1u) << "a pager must not pass m-2 (it would never come back for it)";
  EXPECT_EQ((*page)[0].message_id, "m-1");
  ASSERT_TRUE(store->MarkAudited("uk/nca", "m-2", 99).ok());
  page = store->PendingDeliveries("eu/europol", (*page)[0].seq, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[1].message_id, "m-3");
}

TEST_P(StoreDeliveryQueue, ConfirmPulledSettlesThroughOneDeliveryAndCountsTheBacklog) {
  auto store = Fresh();
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", absl::StrCat("m-", i), {"eu/europol", "uk/bsc"})).ok());
  }
  auto before = store->BacklogCounts();
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ((*before)["eu/europol"].messages, 5u);
  EXPECT_EQ((*before)["uk/bsc"].messages, 5u);
  const uint64_t one = (*before)["eu/europol"].bytes / 5;
  EXPECT_GT(one, 0u);

  auto pending = store->PendingDeliveries("eu/europol", 0, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 5u);
  // Nothing was read for sending yet: nothing can be confirmed.
  auto early = store->ConfirmPulled("eu/europol", DeliveryIdFor("uk/nca", "m-2", "eu/europol"));
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_TRUE(early->changed.empty());
  // m-0 .. m-3 were read for sending; the party confirms through m-2.
  store->RecordPulled("eu/europol", (*pending)[3].seq);
  auto confirmed = store->ConfirmPulled("eu/europol", DeliveryIdFor("uk/nca", "m-2", "eu/europol"));
  ASSERT_TRUE(confirmed.ok()) << confirmed.status();
  EXPECT_EQ(confirmed->through_seq, (*pending)[2].seq);
  ASSERT_EQ(confirmed->changed.size(), 3u);  // m-0, m-1, m-2.
  EXPECT_EQ(confirmed->changed[2].row.message_id, "m-2");
  EXPECT_EQ(confirmed->changed[2].row.state, v1::DELIVERED);
  EXPECT_EQ(confirmed->changed[0].envelope_bytes, one);
  // Durable, and only Europol's.
  auto m0 = store->Get("uk/nca", "m-0");
  ASSERT_TRUE(m0.ok());
  EXPECT_EQ((*m0)->recipients[0].state, v1::DELIVERED);
  EXPECT_EQ((*m0)->recipients[1].state, v1::ACCEPTED);
  auto after = store->BacklogCounts();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)["eu/europol"].messages, 2u);  // m-3, m-4.
  EXPECT_EQ((*after)["uk/bsc"].messages, 5u);

  // Again: nothing new. Someone else's delivery, or none: NOT_FOUND.
  EXPECT_TRUE(store->ConfirmPulled("eu/europol", DeliveryIdFor("uk/nca", "m-1", "eu/europol"))->changed.empty());
  // An id beyond what was read for sending (e.g. a stale id of a re-sequenced
  // delivery) confirms no further than what was read: m-3, not m-4.
  auto capped = store->ConfirmPulled("eu/europol", DeliveryIdFor("uk/nca", "m-4", "eu/europol"));
  ASSERT_TRUE(capped.ok());
  ASSERT_EQ(capped->changed.size(), 1u);
  EXPECT_EQ(capped->changed[0].row.message_id, "m-3");
  EXPECT_EQ(store->ConfirmPulled("eu/europol", DeliveryIdFor("uk/nca", "m-3", "uk/bsc")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->ConfirmPulled("eu/europol", "nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreDeliveryQueue, DeliveriesExpireAfterTheMaximumAgeWithTheirLastError) {
  // Accepted at MakeReceipt's time (2026-01-01), so long expired "now".
  auto store = Fresh(/*max_age_micros=*/3600LL * 1000000);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", absl::StrCat("m-", i), {"eu/europol"})).ok());
  }
  ASSERT_TRUE(store
                  ->UpdateRecipient("uk/nca", "m-1", "eu/europol",
                                    [](RecipientRecord& r) {
                                      r.reason = "connection refused";
                                      return absl::OkStatus();
                                    })
                  .ok());
  ASSERT_TRUE(store
                  ->UpdateRecipient("uk/nca", "m-2", "eu/europol",
                                    [](RecipientRecord& r) {
                                      r.state = v1::DELIVERED;
                                      return absl::OkStatus();
                                    })
                  .ok());
  const int64_t accepted = 1767225601123456;
  auto none = store->ExpireDue(accepted + 3600LL * 1000000 - 1, 10);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty()) << "expired before its time";
  auto expired = store->ExpireDue(NowMicros(), 1);  // Batches of one: two calls.
  ASSERT_TRUE(expired.ok()) << expired.status();
  ASSERT_EQ(expired->size(), 1u);
  auto rest = store->ExpireDue(NowMicros(), 10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u) << "the delivered one does not expire";
  EXPECT_EQ((*rest)[0].row.message_id, "m-1");
  auto m1 = store->Get("uk/nca", "m-1");
  ASSERT_TRUE(m1.ok());
  EXPECT_EQ((*m1)->recipients[0].state, v1::EXPIRED);
  EXPECT_EQ((*m1)->recipients[0].reason,
            "not delivered within the maximum age; last error: connection refused");
  EXPECT_TRUE(store->BacklogCounts()->empty());
}

// A message to eu/europol and nl/politie whose europol delivery gave up.
void MakeFailed(MessageStore& store, const std::string& id) {
  const v1::Envelope e = MakeEnvelope("uk/nca", id);
  ASSERT_TRUE(AcceptAudited(store, e).ok());
  auto failed = store.UpdateRecipient("uk/nca", id, "eu/europol", [](RecipientRecord& r) {
    r.state = v1::FAILED;
    r.attempts = 3;
    r.reason = "connection refused";
    return absl::OkStatus();
  });
  ASSERT_TRUE(failed.ok()) << failed.status();
}

TEST_P(StoreDeliveryQueue, DeadLettersAreListedByDestinationInSeqOrder) {
  auto store = Fresh();
  ASSERT_NE(store, nullptr);
  MakeFailed(*store, "m-1");
  ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/nca", "m-2")).ok());  // Not a dead letter.
  MakeFailed(*store, "m-3");
  ASSERT_TRUE(store->UpdateRecipient("uk/nca", "m-3", "nl/politie", [](RecipientRecord& r) {
    r.state = v1::EXPIRED;
    return absl::OkStatus();
  }).ok());

  auto all = store->DeadLetters("", 0, 10);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].message_id, "m-1");
  EXPECT_EQ((*all)[1].message_id, "m-3");
  EXPECT_EQ((*all)[2].state, v1::EXPIRED);
  EXPECT_LT((*all)[0].seq, (*all)[1].seq);

  auto europol = store->DeadLetters("eu/europol", 0, 10);
  ASSERT_TRUE(europol.ok());
  ASSERT_EQ(europol->size(), 2u);
  EXPECT_EQ((*europol)[0].attempts, 3u);
  EXPECT_EQ((*europol)[0].reason, "connection refused");
  auto page2 = store->DeadLetters("eu/europol", (*europol)[0].seq, 1);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->size(), 1u);
  EXPECT_EQ((*page2)[0].message_id, "m-3");

  auto counts = store->CountDeliveries({v1::FAILED, v1::EXPIRED});
  ASSERT_TRUE(counts.ok()) << counts.status();
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ((*counts)[0].recipient, "eu/europol");
  EXPECT_EQ((*counts)[0].state, v1::FAILED);
  EXPECT_EQ((*counts)[0].count, 2u);
  EXPECT_EQ((*counts)[1].recipient, "nl/politie");
  EXPECT_EQ((*counts)[1].state, v1::EXPIRED);
  EXPECT_EQ((*counts)[1].count, 1u);
}

TEST_P(StoreDeliveryQueue, RetryMakesADeadLetterDueAgainLastInLineWithAFreshAttemptBudget) {
  const std::string id = DeliveryIdFor("uk/nca", "m-1", "eu/europol");
  {
    auto store = Fresh();
    ASSERT_NE(store, nullptr);
    MakeFailed(*store, "m-1");
    auto failed = store->GetDelivery(id);
    ASSERT_TRUE(failed.ok());
    const int64_t seq_before = failed->seq;
    ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", "m-later", {"eu/europol"})).ok());
    const int64_t before = NowMicros();
    auto row = store->RetryDeadLetter(id, 60 * 1000000LL, OfficerOnRecord("OPS-7"));
    ASSERT_TRUE(row.ok()) << row.status();
    EXPECT_EQ(row->state, v1::ACCEPTED);
    EXPECT_EQ(row->attempts, 0u);  // A fresh budget of delivery.max_attempts; the history is in the audit log.
    EXPECT_GT(row->seq, seq_before) << "a retried delivery must come after every destination's position";
    EXPECT_EQ(row->last_error, "connection refused");
    EXPECT_EQ(row->officer, "OPS-7");
    EXPECT_EQ(row->reason, "connection refused");  // What Track shows until the next attempt.
    EXPECT_GE(row->next_attempt_micros, before);
    EXPECT_GE(row->expires_micros, before + 60 * 1000000LL);
    EXPECT_LE(row->expires_micros, NowMicros() + 60 * 1000000LL);

    // Not a dead letter any more: a second retry or a cancel is refused.
    auto again = store->RetryDeadLetter(id, 0, OfficerOnRecord("OPS-7"));
    EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(RefusalOf(again.status()).reason(), "NOT_A_DEAD_LETTER");
    EXPECT_EQ(store->CancelDeadLetter(id, OfficerOnRecord("OPS-7"), "no").status().code(),
              absl::StatusCode::kFailedPrecondition);
    auto unknown = store->RetryDeadLetter("0123456789abcdef0123456789abcdef", 0, OfficerOnRecord("OPS-7"));
    EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(RefusalOf(unknown.status()).reason(), "DELIVERY_NOT_FOUND");
  }
  // Durable, and the recipient's view (what Track shows) is the same row.
  auto store = Reopen();
  ASSERT_NE(store, nullptr);
  auto record = store->Get("uk/nca", "m-1");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ((*record)->recipients[0].state, v1::ACCEPTED);
  EXPECT_EQ((*record)->recipients[0].officer, "OPS-7");
  auto pending = store->PendingDeliveries("eu/europol", 0, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].message_id, "m-later");
  EXPECT_EQ((*pending)[1].delivery_id, id) << "the retried delivery is last in line";
  auto dead = store->DeadLetters("", 0, 10);
  ASSERT_TRUE(dead.ok());
  EXPECT_TRUE(dead->empty());
}

TEST_P(StoreDeliveryQueue, CancelMakesADeadLetterCancelledForGood) {
  auto store = Fresh();
  ASSERT_NE(store, nullptr);
  MakeFailed(*store, "m-1");
  const std::string id = DeliveryIdFor("uk/nca", "m-1", "eu/europol");
  const std::string other = DeliveryIdFor("uk/nca", "m-1", "nl/politie");
  // ACCEPTED is not a dead letter.
  auto refused = store->CancelDeadLetter(other, OfficerOnRecord("OPS-7"), "no");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("ACCEPTED"), absl::string_view::npos) << refused.status();

  auto row = store->CancelDeadLetter(id, OfficerOnRecord("OPS-7"), "superseded by BF-REF-2");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->state, v1::CANCELLED);
  EXPECT_EQ(row->last_error, "connection refused");
  auto again = store->GetDelivery(id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->state, v1::CANCELLED);
  EXPECT_EQ(again->reason, "superseded by BF-REF-2");
  EXPECT_EQ(store->GetDelivery("nope").status().code(), absl::StatusCode::kNotFound);
  auto record = store->Get("uk/nca", "m-1");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ((*record)->recipients[0].state, v1::CANCELLED);
  EXPECT_EQ((*record)->recipients[0].reason, "superseded by BF-REF-2");
  EXPECT_EQ(store->RetryDeadLetter(id, 0, OfficerOnRecord("OPS-7")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto pending = store->PendingDeliveries("eu/europol", 0, 10);
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
}

// Issue 13: whether a delivery's officer was vouched for by an assertion is
// kept with it, durably: on a decision (UpdateRecipient) and on an
// operator's retry or cancel; a claim stays a claim.
TEST_P(StoreDeliveryQueue, WhetherADeliverysOfficerWasVerifiedIsKept) {
  const std::string m1 = DeliveryIdFor("uk/nca", "m-1", "eu/europol");
  const std::string m2 = DeliveryIdFor("uk/nca", "m-2", "eu/europol");
  {
    auto store = Fresh();
    ASSERT_NE(store, nullptr);
    MakeFailed(*store, "m-1");
    MakeFailed(*store, "m-2");
    // m-1: a verified retry, it fails again, then a claimed cancel: verified -> claimed.
    auto row = store->RetryDeadLetter(m1, 0, OfficerOnRecord("OPS-7", true));
    ASSERT_TRUE(row.ok()) << row.status();
    EXPECT_TRUE(row->officer_verified);
    EXPECT_TRUE(store->GetDelivery(m1)->officer_verified);
    ASSERT_TRUE(store->UpdateRecipient("uk/nca", "m-1", "eu/europol", [](RecipientRecord& r) {
      r.state = v1::FAILED;
      return absl::OkStatus();
    }).ok());
    row = store->CancelDeadLetter(m1, OfficerOnRecord("OPS-8", false), "superseded");
    ASSERT_TRUE(row.ok()) << row.status();
    EXPECT_FALSE(row->officer_verified);
    // m-2: a verified cancel (the column's default is claimed: this must write it).
    row = store->CancelDeadLetter(m2, OfficerOnRecord("OPS-9", true), "superseded");
    ASSERT_TRUE(row.ok()) << row.status();
    EXPECT_TRUE(row->officer_verified);
    // A recipient's verified decision, through UpdateRecipient.
    auto decided = store->UpdateRecipient("uk/nca", "m-1", "nl/politie", [](RecipientRecord& r) {
      r.state = v1::ACKNOWLEDGED;
      r.officer = "NL-9";
      r.officer_verified = true;
      return absl::OkStatus();
    });
    ASSERT_TRUE(decided.ok()) << decided.status();
    EXPECT_TRUE(decided->officer_verified);
  }
  auto store = Reopen();  // Durable.
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->GetDelivery(m1)->officer_verified);
  EXPECT_EQ(store->GetDelivery(m1)->officer, "OPS-8");
  EXPECT_TRUE(store->GetDelivery(m2)->officer_verified);
  auto one = store->Get("uk/nca", "m-1");
  ASSERT_TRUE(one.ok());
  ASSERT_EQ((*one)->recipients.size(), 2u);
  EXPECT_FALSE((*one)->recipients[0].officer_verified);  // eu/europol: the claimed cancel.
  EXPECT_EQ((*one)->recipients[1].officer, "NL-9");
  EXPECT_TRUE((*one)->recipients[1].officer_verified);
  auto two = store->Get("uk/nca", "m-2");
  ASSERT_TRUE(two.ok());
  EXPECT_TRUE((*two)->recipients[0].officer_verified);
  EXPECT_FALSE((*two)->recipients[1].officer_verified);  // Never decided.
}

}  // namespace
}  // namespace portcullis::testing
