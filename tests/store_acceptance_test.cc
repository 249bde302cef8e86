// MessageStore conformance, every backend (tests/support/store_backends.h):
// Reserve outcomes (also after a restart), commits read back, durable
// recipient updates, concurrent committers, pairing with the audit log.
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "gateway/common/digest.h"
#include "gateway/common/refusal.h"
#include "tests/support/store_backends.h"
#include "tests/support/store_test_util.h"

namespace portcullis::testing {
namespace {

class StoreAcceptance : public StoreConformanceTest {};
PORTCULLIS_STORE_CONFORMANCE(StoreAcceptance);

TEST_P(StoreAcceptance, EveryReserveOutcome) {
  auto store = Fresh();
  ASSERT_NE(store, nullptr);
  const v1::Envelope e = MakeEnvelope("uk/nca", "m-1");
  const std::string sha = ShaOf(e);

  EXPECT_EQ(store->Reserve("uk/nca", "m-1", sha).outcome, ReserveOutcome::kNew);
  EXPECT_EQ(store->Reserve("uk/nca", "m-1", sha).outcome, ReserveOutcome::kInProgress);
  EXPECT_EQ(store->Reserve("uk/nca", "m-1", "other").outcome, ReserveOutcome::kInProgress);
  store->Abandon("uk/nca", "m-1");
  EXPECT_EQ(store->Reserve("uk/nca", "m-1", sha).outcome, ReserveOutcome::kNew);
  const v1::Receipt receipt = MakeReceipt(e);
  ASSERT_TRUE(CommitAndWait(*store, e, receipt).ok());
  // Stored but its acceptance not yet audited: still being recorded.
  EXPECT_EQ(store->Reserve("uk/nca", "m-1", sha).outcome, ReserveOutcome::kInProgress);
  ASSERT_TRUE(store->MarkAudited("uk/nca", "m-1", receipt.audit_index()).ok());

  ReserveResult dup = store->Reserve("uk/nca", "m-1", sha);
  EXPECT_EQ(dup.outcome, ReserveOutcome::kDuplicate);
  EXPECT_EQ(dup.receipt.SerializeAsString(), receipt.SerializeAsString());
  ReserveResult conflict = store->Reserve("uk/nca", "m-1", ShaOf(MakeEnvelope("uk/nca", "m-1", {"eu/europol"})));
  EXPECT_EQ(conflict.outcome, ReserveOutcome::kConflict);
  // The same id from another sender is another key.
  EXPECT_EQ(store->Reserve("fr/police", "m-1", sha).outcome, ReserveOutcome::kNew);

  // A second Commit, or one without a reservation, is refused and writes nothing.
  EXPECT_EQ(CommitAndWait(*store, e, receipt).status().code(), absl::StatusCode::kFailedPrecondition);
  const v1::Envelope unreserved = MakeEnvelope("uk/nca", "m-2");
  EXPECT_EQ(CommitAndWait(*store, unreserved, MakeReceipt(unreserved)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->Get("uk/nca", "m-2").status().code(), absl::StatusCode::kNotFound);
  // Abandon after a commit changes nothing.
  store->Abandon("uk/nca", "m-1");
  EXPECT_EQ(store->Reserve("uk/nca", "m-1", sha).outcome, ReserveOutcome::kDuplicate);
}

TEST_P(StoreAcceptance, ReserveOutcomesSurviveReopen) {
  const v1::Envelope e = MakeEnvelope("uk/nca", "m-1");
  const v1::Receipt receipt = MakeReceipt(e, 41);
  {
    auto store = Fresh();
    ASSERT_NE(store, nullptr);
    ASSERT_EQ(store->Reserve("uk/nca", "m-1", ShaOf(e)).outcome, ReserveOutcome::kNew);
    ASSERT_TRUE(CommitAndWait(*store, e, receipt).ok());
    ASSERT_TRUE(store->MarkAudited("uk/nca", "m-1", receipt.audit_index()).ok());
    // Reserved but never committed: a reservation does not outlive the process.
    ASSERT_EQ(store->Reserve("uk/nca", "m-pending", "abc").outcome, ReserveOutcome::kNew);
  }
  auto store = Reopen();
  ASSERT_NE(store, nullptr);
  ReserveResult dup = store->Reserve("uk/nca", "m-1", ShaOf(e));
  EXPECT_EQ(dup.outcome, ReserveOutcome::kDuplicate);
  EXPECT_EQ(dup.receipt.SerializeAsString(), receipt.SerializeAsString());  // Byte-identical original.
  ReserveResult conflict = store->Reserve("uk/nca", "m-1", std::string(64, 'f'));
  EXPECT_EQ(conflict.outcome, ReserveOutcome::kConflict);
  EXPECT_EQ(conflict.receipt.SerializeAsString(), receipt.SerializeAsString());
  EXPECT_EQ(store->Reserve("uk/nca", "m-pending", "abc").outcome, ReserveOutcome::kNew);
}

TEST_P(StoreAcceptance, CommitReopenGetReturnsWhatWasStored) {
  v1::Envelope e = MakeEnvelope("uk/nca", "m-1", {"eu/europol", "nl/politie", "de/bka"});
  v1::Attachment* a = e.add_attachments();  // Binary content with NULs: a blob, not text.
  a->set_file_name("statement.pdf");
  a->set_media_type("application/pdf");
  a->set_content(std::string("%PDF\0\x01\xff\0tail", 13));
  a->set_sha256(Sha256Hex(a->content()));
  const v1::Receipt receipt = MakeReceipt(e);
  int64_t committed_at = 0;
  {
    auto store = Fresh();
    ASSERT_NE(store, nullptr);
    ASSERT_EQ(store->Reserve(e.sender(), e.message_id(), ShaOf(e)).outcome, ReserveOutcome::kNew);
    auto record = CommitAndWait(*store, e, receipt);
    ASSERT_TRUE(record.ok()) << record.status();
    ASSERT_EQ((*record)->recipients.size(), 3u);
    committed_at = (*record)->recipients[0].updated_micros;
    EXPECT_GT(committed_at, 0);
  }
  auto store = Reopen();
  ASSERT_NE(store, nullptr);
  auto got = store->Get("uk/nca", "m-1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)->envelope.SerializeAsString(), e.SerializeAsString());
  EXPECT_EQ((*got)->receipt.SerializeAsString(), receipt.SerializeAsString());
  ASSERT_EQ((*got)->recipients.size(), 3u);
  const std::vector<std::string> order = {"eu/europol", "nl/politie", "de/bka"};
  for (size_t i = 0; i < order.size(); ++i) {
    const RecipientRecord& r = (*got)->recipients[i];
    EXPECT_EQ(r.party, order[i]);  // Envelope order.
    EXPECT_EQ(r.state, v1::ACCEPTED);
    EXPECT_EQ(r.attempts, 0u);
    EXPECT_EQ(r.updated_micros, committed_at);
  }

  auto missing = store->Get("uk/nca", "nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(RefusalOf(missing.status()).reason(), "MESSAGE_NOT_FOUND");
  // Delivery ids follow the dispatcher's rule.
  EXPECT_EQ(DeliveryIdFor("uk/nca", "m-1", "eu/europol"),
            Sha256Hex("uk/nca\nm-1\neu/europol").substr(0, 32));
}

TEST_P(StoreAcceptance, UpdateRecipientIsDurableAndRefusesLikeTheInMemoryStore) {
  const v1::Envelope e = MakeEnvelope("uk/nca", "m-1");
  {
    auto store = Fresh();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(Accept(*store, e).ok());
    auto delivered = store->UpdateRecipient("uk/nca", "m-1", "eu/europol", [](RecipientRecord& r) {
      EXPECT_EQ(r.state, v1::ACCEPTED);
      r.state = v1::DELIVERED;
      r.attempts = 2;
      r.party = "someone/else";  // Ignored: the row's key stays.
      return absl::OkStatus();
    });
    ASSERT_TRUE(delivered.ok()) << delivered.status();
    EXPECT_EQ(delivered->party, "eu/europol");
    EXPECT_EQ(delivered->state, v1::DELIVERED);
    auto acked = store->UpdateRecipient("uk/nca", "m-1", "eu/europol", [](RecipientRecord& r) {
      EXPECT_EQ(r.state, v1::DELIVERED);  // Sees the previous update.
      r.state = v1::ACKNOWLEDGED;
      r.officer = "insp-3";
      return absl::OkStatus();
    });
    ASSERT_TRUE(acked.ok());

    // Refusals.
    auto not_found = store->UpdateRecipient("uk/nca", "nope", "eu/europol", [](RecipientRecord&) {
      ADD_FAILURE() << "update ran for a missing message";
      return absl::OkStatus();
    });
    EXPECT_EQ(not_found.status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(RefusalOf(not_found.status()).reason(), "MESSAGE_NOT_FOUND");
    auto stranger = store->UpdateRecipient("uk/nca", "m-1", "fr/police", [](RecipientRecord&) {
      ADD_FAILURE() << "update ran for a non-recipient";
      return absl::OkStatus();
    });
    EXPECT_EQ(stranger.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(RefusalOf(stranger.status()).reason(), "NOT_A_RECIPIENT");
    // An update that refuses is not kept, and its error comes back as is.
    auto refused = store->UpdateRecipient("uk/nca", "m-1", "nl/politie", [](RecipientRecord& r) {
      r.state = v1::FAILED;
      return Refuse(absl::StatusCode::kFailedPrecondition, "ALREADY_FINAL", "", "no");
    });
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(RefusalOf(refused.status()).reason(), "ALREADY_FINAL");
  }
  auto store = Reopen();
  ASSERT_NE(store, nullptr);
  auto got = store->Get("uk/nca", "m-1");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ((*got)->recipients.size(), 2u);
  EXPECT_EQ((*got)->recipients[0].state, v1::ACKNOWLEDGED);
  EXPECT_EQ((*got)->recipients[0].attempts, 2u);
  EXPECT_EQ((*got)->recipients[0].officer, "insp-3");
  EXPECT_EQ((*got)->recipients[1].state, v1::ACCEPTED);  // The refused update left no trace.
}

// (How the SQLite store groups them into transactions: sqlite_store_test.cc.)
TEST_P(StoreAcceptance, SixteenConcurrentCommittersAllLandOnceInSeqOrder) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 50;  // 800 messages.
  {
    auto store = Fresh();
    ASSERT_NE(store, nullptr);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const v1::Envelope e = MakeEnvelope("uk/nca", absl::StrCat("t", t, "-", i));
          absl::Status s = AcceptAudited(*store, e);
          // Reads run alongside the writer (more threads than read connections).
          if (s.ok()) s = store->Get(e.sender(), e.message_id()).status();
          if (!s.ok()) {
            ++failures;
            ADD_FAILURE() << s;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
  }
  auto store = Reopen();
  ASSERT_NE(store, nullptr);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      ASSERT_TRUE(store->Get("uk/nca", absl::StrCat("t", t, "-", i)).ok()) << t << "-" << i;
    }
  }
  // Every delivery row, exactly once, in strictly increasing seq.
  std::set<std::string> ids;
  int64_t after = 0;
  for (;;) {
    auto page = store->PendingDeliveries("eu/europol", after, 500);
    ASSERT_TRUE(page.ok()) << page.status();
    if (page->empty()) break;
    for (const auto& d : *page) {
      EXPECT_GT(d.seq, after);
      after = d.seq;
      ids.insert(d.message_id);
    }
  }
  EXPECT_EQ(ids.size(), size_t{kThreads * kPerThread});
}

TEST_P(StoreAcceptance, MarkAuditedAndUnaudited) {
  {
    auto store = Fresh();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/nca", absl::StrCat("m-", i)), 1000 + i).ok());
    }
    auto all = store->Unaudited();
    ASSERT_TRUE(all.ok()) << all.status();
    ASSERT_EQ(all->size(), 3u);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ((*all)[i].sender, "uk/nca");
      EXPECT_EQ((*all)[i].message_id, absl::StrCat("m-", i));  // Commit order.
      EXPECT_EQ((*all)[i].audit_size_at_commit, uint64_t(1000 + i));
      EXPECT_EQ((*all)[i].accepted_micros, int64_t{1767225601123456});
    }
    EXPECT_TRUE(store->MarkAudited("uk/nca", "m-1", 55).ok());
    EXPECT_TRUE(store->MarkAudited("uk/nca", "m-1", 55).ok());  // Same pairing again: fine.
    EXPECT_EQ(store->MarkAudited("uk/nca", "m-1", 56).code(), absl::StatusCode::kFailedPrecondition);
    absl::Status missing = store->MarkAudited("uk/nca", "nope", 1);
    EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(RefusalOf(missing).reason(), "MESSAGE_NOT_FOUND");
  }
  auto store = Reopen();
  ASSERT_NE(store, nullptr);
  auto left = store->Unaudited();
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].message_id, "m-0");
  EXPECT_EQ((*left)[1].message_id, "m-2");
  EXPECT_EQ(store->MarkAudited("uk/nca", "m-1", 56).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace portcullis::testing
