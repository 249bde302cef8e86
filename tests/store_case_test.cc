// MessageStore conformance, every backend: ListCase (each party's share of a
// case, in commit order, never past a message not yet audited) and the
// senders a reply's correlation may name.
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/common/digest.h"
#include "gateway/common/refusal.h"
#include "tests/support/store_backends.h"
#include "tests/support/store_test_util.h"

namespace portcullis::testing {
namespace {

class StoreCaseReads : public StoreConformanceTest {};
PORTCULLIS_STORE_CONFORMANCE(StoreCaseReads);

v1::Envelope InCase(v1::Envelope e, const std::string& case_reference) {
  e.set_case_reference(case_reference);
  return e;
}

std::vector<std::string> IdsOf(const CasePage& page) {
  std::vector<std::string> out;
  for (const CaseEntry& c : page.messages) out.push_back(c.message_id);
  return out;
}

std::vector<std::string> PartiesOf(const CaseEntry& c) {
  std::vector<std::string> out;
  for (const RecipientRecord& r : c.recipients) out.push_back(r.party);
  return out;
}

TEST_P(StoreCaseReads, ListCaseShowsEachPartyItsShareOfTheCaseInCommitOrder) {
  auto store = Fresh();
  ASSERT_NE(store, nullptr);
  const std::string kCase = "BF-2026-000777";
  ASSERT_TRUE(AcceptAudited(*store, InCase(MakeEnvelope("uk/nca", "a-1", {"eu/europol", "nl/politie"}), kCase)).ok());
  ASSERT_TRUE(AcceptAudited(*store, InCase(MakeEnvelope("uk/nca", "b-1", {"eu/europol"}), "BF-2026-OTHER")).ok());
  ASSERT_TRUE(AcceptAudited(*store, InCase(MakeEnvelope("eu/europol", "a-2", {"uk/nca"}), kCase)).ok());
  ASSERT_TRUE(AcceptAudited(*store, InCase(MakeEnvelope("uk/nca", "a-3", {"nl/politie"}), kCase)).ok());
  ASSERT_TRUE(store
                  ->UpdateRecipient("uk/nca", "a-1", "nl/politie",
                                    [](RecipientRecord& r) {
                                      r.state = v1::REJECTED;
                                      r.reason = "not our jurisdiction";
                                      r.officer = "KMAR-5";
                                      return absl::OkStatus();
                                    })
                  .ok());

  auto nca = store->ListCase(kCase, "uk/nca", 0, 10);
  ASSERT_TRUE(nca.ok()) << nca.status();
  EXPECT_FALSE(nca->more);
  ASSERT_EQ(IdsOf(*nca), (std::vector<std::string>{"a-1", "a-2", "a-3"}));
  const CaseEntry& a1 = nca->messages[0];
  EXPECT_EQ(a1.sender, "uk/nca");
  EXPECT_EQ(a1.originating_officer, "officer-7");
  EXPECT_EQ(a1.correlation_id, "payload");
  EXPECT_EQ(a1.body_type, "");  // MakeEnvelope sets no body.
  EXPECT_EQ(a1.accepted_micros, 1767225601123456);
  ASSERT_EQ(PartiesOf(a1), (std::vector<std::string>{"eu/europol", "nl/politie"}));  // The sender: all, in order.
  EXPECT_EQ(a1.recipients[0].state, v1::ACCEPTED);
  EXPECT_EQ(a1.recipients[1].state, v1::REJECTED);
  EXPECT_EQ(a1.recipients[1].reason, "not our jurisdiction");
  EXPECT_EQ(a1.recipients[1].officer, "KMAR-5");
  EXPECT_EQ(PartiesOf(nca->messages[1]), (std::vector<std::string>{"uk/nca"}));  // Received.
  EXPECT_LT(nca->messages[0].position, nca->messages[1].position);
  EXPECT_LT(nca->messages[1].position, nca->messages[2].position);
  EXPECT_EQ(nca->resume_after, nca->messages[2].position);

  auto europol = store->ListCase(kCase, "eu/europol", 0, 10);
  ASSERT_TRUE(europol.ok());
  ASSERT_EQ(IdsOf(*europol), (std::vector<std::string>{"a-1", "a-2"}));
  EXPECT_EQ(PartiesOf(europol->messages[0]), (std::vector<std::string>{"eu/europol"}));  // Its own only.
  EXPECT_EQ(PartiesOf(europol->messages[1]), (std::vector<std::string>{"uk/nca"}));

  auto politie = store->ListCase(kCase, "nl/politie", 0, 10);
  ASSERT_TRUE(politie.ok());
  ASSERT_EQ(IdsOf(*politie), (std::vector<std::string>{"a-1", "a-3"}));
  ASSERT_EQ(PartiesOf(politie->messages[0]), (std::vector<std::string>{"nl/politie"}));
  EXPECT_EQ(politie->messages[0].recipients[0].state, v1::REJECTED);

  for (const std::string& party : {std::string("fr/police"), std::string("")}) {
    auto none = store->ListCase(kCase, party, 0, 10);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->messages.empty());
    EXPECT_FALSE(none->more);
  }
  EXPECT_EQ(IdsOf(*store->ListCase("BF-2026-OTHER", "eu/europol", 0, 10)), (std::vector<std::string>{"b-1"}));
  EXPECT_TRUE(store->ListCase("BF-2026-NONE", "uk/nca", 0, 10)->messages.empty());

  // Paging: two, then the rest.
  auto first = store->ListCase(kCase, "uk/nca", 0, 2);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(IdsOf(*first), (std::vector<std::string>{"a-1", "a-2"}));
  EXPECT_TRUE(first->more);
  auto second = store->ListCase(kCase, "uk/nca", first->resume_after, 2);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(IdsOf(*second), (std::vector<std::string>{"a-3"}));
  EXPECT_FALSE(second->more);
  ASSERT_EQ(PartiesOf(second->messages[0]), (std::vector<std::string>{"nl/politie"}));
  EXPECT_EQ(second->messages[0].recipients[0].state, v1::ACCEPTED);
  EXPECT_TRUE(store->ListCase(kCase, "uk/nca", 0, 0)->messages.empty());
}

TEST_P(StoreCaseReads, ListCaseEndsAPageBeforeAMessageNotYetAudited) {
  auto store = Fresh();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", "m-1")).ok());
  ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/nca", "m-2")).ok());  // Stored, not yet audited.
  ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", "m-3")).ok());
  auto page = store->ListCase("BF-2026-004512", "eu/europol", 0, 10);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(IdsOf(*page), (std::vector<std::string>{"m-1"}));
  EXPECT_TRUE(page->more) << "a pager must come back for m-2, not skip it";
  auto stuck = store->ListCase("BF-2026-004512", "eu/europol", page->resume_after, 10);
  ASSERT_TRUE(stuck.ok());
  EXPECT_TRUE(stuck->messages.empty());
  EXPECT_TRUE(stuck->more);
  EXPECT_EQ(stuck->resume_after, page->resume_after);

  // Paired: the pager comes back and finds it. (Listed already while its
  // pairing is in flight: sqlite_store_case_test.cc.)
  std::promise<absl::Status> paired;
  store->MarkAuditedAsync("uk/nca", "m-2", 42, [&paired](absl::Status s) { paired.set_value(s); });
  ASSERT_TRUE(paired.get_future().get().ok());
  auto rest = store->ListCase("BF-2026-004512", "eu/europol", page->resume_after, 10);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(IdsOf(*rest), (std::vector<std::string>{"m-2", "m-3"}));
  EXPECT_FALSE(rest->more);
}

// A reply's correlation: the messages with that id the party sent or
// received, whoever sent them; other parties' messages never count. Kept
// across a reopen (the index is created when missing).
TEST_P(StoreCaseReads, CorrelatedSendersAreThoseOfMessagesThePartySentOrReceived) {
  {
    auto store = Fresh();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/border-force", "SAME-ID", {"eu/europol"})).ok());
    ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/nca", "SAME-ID", {"eu/europol", "eu/fr-dnpaf"})).ok());
    ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/bsc", "OTHER", {"eu/fr-dnpaf"})).ok());
  }
  auto store = Reopen();
  ASSERT_NE(store, nullptr);
  using Senders = std::vector<std::string>;
  auto senders = [&](const std::string& party, const std::string& id, size_t limit = 10) {
    auto s = store->CorrelatedSenders(party, id, limit);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : Senders{"error"};
  };
  EXPECT_EQ(senders("eu/europol", "SAME-ID"), (Senders{"uk/border-force", "uk/nca"}));
  EXPECT_EQ(senders("eu/europol", "SAME-ID", 1), (Senders{"uk/border-force"}));
  EXPECT_EQ(senders("eu/fr-dnpaf", "SAME-ID"), (Senders{"uk/nca"}));
  EXPECT_EQ(senders("uk/nca", "SAME-ID"), (Senders{"uk/nca"}));  // Its own.
  EXPECT_EQ(senders("uk/bsc", "SAME-ID"), Senders{});           // Others' messages.
  EXPECT_EQ(senders("eu/europol", "OTHER"), Senders{});
  EXPECT_EQ(senders("eu/fr-dnpaf", "OTHER"), (Senders{"uk/bsc"}));
  EXPECT_EQ(senders("eu/europol", "NONE"), Senders{});
}

}  // namespace
}  // namespace portcullis::testing
