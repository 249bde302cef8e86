// A recipient's decision (gateway/service/decision.h) without gRPC, on the
// exchange rig: messages accepted through the acceptance pipeline, then
// decided by Decide against the same real store.
#include "gateway/service/decision.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>

#include "gateway/common/refusal.h"
#include "tests/support/exchange_rig.h"
#include "tests/support/files.h"
#include "util/clock.h"

namespace portcullis::testing {
namespace {

v1::AcknowledgeRequest Acknowledgement(const std::string& message_id, v1::AckDecision decision,
                                       const std::string& reason = "") {
  v1::AcknowledgeRequest request;
  request.set_sender(kSender);
  request.set_message_id(message_id);
  request.set_decision(decision);
  request.set_officer("EU-LO-0001");
  request.set_reason(reason);
  return request;
}

// `officer`: the officer the caller's assertion vouches for ("" = none).
Decision DecideAs(ExchangeRig& rig, const std::string& party, const v1::AcknowledgeRequest& request,
                  const std::string& officer = "") {
  AuditRecord record;
  record.action = "acknowledge";
  record.peer = "ipv4:127.0.0.1:2";
  Caller caller{rig.config->FindParty(party), std::nullopt};
  if (!officer.empty()) caller.officer = identity::VerifiedOfficer{party, officer, {}, "dev-1", "", 0};
  return Decide(*rig.store, rig.delivery, caller, request, std::move(record));
}

std::string ReasonOf(const absl::Status& status) { return RefusalOf(status).reason(); }

// A store of the test's own (a fresh SQLite store) whose UpdateRecipient can
// (a) lose the COMMIT's answer: the change is made, the caller is told
// UNKNOWN; (b) run the callback once first on the row as the first run of a
// rerun op could have read it (already decided the same way, by the same
// officer), then on the row as it stands.
class DecisionStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::atomic<bool> lose_answer{false}, rerun{false};

  absl::StatusOr<RecipientRecord> UpdateRecipient(const std::string& sender, const std::string& message_id,
                                                  const std::string& party,
                                                  const std::function<absl::Status(RecipientRecord&)>& update) override {
    if (rerun) {
      auto m = inner().Get(sender, message_id);
      if (!m.ok()) return m.status();
      for (const RecipientRecord& r : (*m)->recipients) {
        if (r.party != party) continue;
        RecipientRecord before = r;
        before.state = v1::ACKNOWLEDGED;
        before.officer = "EU-LO-0001";
        before.reason = "";
        update(before).IgnoreError();  // The first run, rolled back.
      }
    }
    auto updated = inner().UpdateRecipient(sender, message_id, party, update);
    if (lose_answer && updated.ok()) return absl::UnknownError("injected: the COMMIT's answer was lost");
    return updated;
  }
};

// The rig's parties, log and delivery, with a DecisionStore: `message_id` accepted through a pipeline on it.
std::unique_ptr<DecisionStore> AcceptOnOwnStore(ExchangeRig& rig, const std::string& name,
                                                const std::string& message_id) {
  auto sqlite = SqliteMessageStore::Open({MakeTempDir(name) + "/messages.db"});
  EXPECT_TRUE(sqlite.ok()) << sqlite.status();
  if (!sqlite.ok()) return nullptr;
  auto store = std::make_unique<DecisionStore>(*std::move(sqlite));
  AcceptancePipeline pipeline(rig.config, store.get(), &rig.log, &rig.delivery, NowMicros);
  std::promise<absl::StatusOr<v1::Receipt>> answered;
  v1::SubmitRequest request;
  *request.mutable_envelope() = SampleReferral(message_id);
  pipeline.Submit(rig.From(kSender), request, [&answered](absl::StatusOr<v1::Receipt> a) { answered.set_value(a); });
  auto answer = answered.get_future().get();
  store->Flush();
  EXPECT_TRUE(answer.ok()) << answer.status();
  return answer.ok() ? std::move(store) : nullptr;
}

Decision DecideOn(ExchangeRig& rig, MessageStore& store, const v1::AcknowledgeRequest& request) {
  AuditRecord record;
  record.action = "acknowledge";
  Caller caller{rig.config->FindParty("eu/europol"), std::nullopt};
  return Decide(store, rig.delivery, caller, request, std::move(record));
}

TEST(Decide, ARecipientsDecisionTakesEffectAndItsRecordNamesTheMessage) {
  ExchangeRig rig("decide");
  ASSERT_TRUE(rig.Submit(SampleReferral("DEC-1")).ok());
  const int64_t held = rig.delivery.room("eu/europol");
  Decision d = DecideAs(rig, "eu/europol", Acknowledgement("DEC-1", v1::ACCEPT));
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.recipient.state(), v1::ACKNOWLEDGED);
  EXPECT_EQ(d.recipient.officer(), "EU-LO-0001");
  EXPECT_EQ(d.record.outcome, "acknowledged");
  EXPECT_EQ(d.record.case_reference, "BF-2026-004512");
  EXPECT_EQ(d.record.recipients, std::vector<std::string>{"eu/europol"});
  EXPECT_EQ(d.record.peer, "ipv4:127.0.0.1:2");
  // Decided while still ACCEPTED: its backlog room is given back.
  EXPECT_LT(rig.delivery.room("eu/europol"), held);
  // It took effect: an unwritable record is not "nothing was done".
  EXPECT_EQ(ReasonOf(d.if_unaudited), "DECISION_NOT_AUDITED");
}

TEST(Decide, TheSameDecisionAgainIsADuplicateAndAnyOtherIsRefused) {
  ExchangeRig rig("decide-final");
  ASSERT_TRUE(rig.Submit(SampleReferral("DEC-2")).ok());
  ASSERT_TRUE(DecideAs(rig, "eu/europol", Acknowledgement("DEC-2", v1::REJECT, "not ours")).status.ok());
  Decision again = DecideAs(rig, "eu/europol", Acknowledgement("DEC-2", v1::REJECT, "not ours"));
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(again.record.outcome, "duplicate");
  EXPECT_EQ(again.recipient.state(), v1::REJECTED);
  EXPECT_EQ(ReasonOf(again.if_unaudited), "AUDIT_UNAVAILABLE");  // Nothing took effect.
  Decision other = DecideAs(rig, "eu/europol", Acknowledgement("DEC-2", v1::ACCEPT));
  EXPECT_EQ(other.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(other.status), "ALREADY_DECIDED");
  EXPECT_EQ(other.record.outcome, "refused");
}

TEST(Decide, OnlyARecipientDecidesAndOthersLearnNothing) {
  ExchangeRig rig("decide-who");
  ASSERT_TRUE(rig.Submit(SampleReferral("DEC-3")).ok());
  Decision by_sender = DecideAs(rig, kSender, Acknowledgement("DEC-3", v1::ACCEPT));
  EXPECT_EQ(ReasonOf(by_sender.status), "NOT_A_RECIPIENT");
  Decision by_stranger = DecideAs(rig, "eu/fr-dnpaf", Acknowledgement("DEC-3", v1::ACCEPT));
  EXPECT_EQ(ReasonOf(by_stranger.status), "MESSAGE_NOT_FOUND");
  EXPECT_EQ(by_stranger.record.case_reference, "");  // Nothing of the message in its record.
  Decision unknown = DecideAs(rig, "eu/europol", Acknowledgement("NO-SUCH", v1::ACCEPT));
  EXPECT_EQ(ReasonOf(unknown.status), ReasonOf(by_stranger.status));
}

TEST(Decide, TheRequestIsCheckedBeforeTheStoreIsRead) {
  ExchangeRig rig("decide-request");
  Decision no_officer = DecideAs(rig, "eu/europol", [] {
    v1::AcknowledgeRequest r = Acknowledgement("DEC-4", v1::ACCEPT);
    r.clear_officer();
    return r;
  }());
  EXPECT_EQ(ReasonOf(no_officer.status), "FIELD_REQUIRED");
  EXPECT_EQ(RefusalOf(no_officer.status).field(), "officer");
  Decision reject_without_reason = DecideAs(rig, "eu/europol", Acknowledgement("DEC-4", v1::REJECT));
  EXPECT_EQ(RefusalOf(reject_without_reason.status).field(), "reason");
  EXPECT_EQ(reject_without_reason.record.outcome, "refused");
}

TEST(Decide, AnUnauthenticatedCallerIsRecordedAsRefused) {
  ExchangeRig rig("decide-anonymous");
  Decision d = Decide(*rig.store, rig.delivery, Refuse(absl::StatusCode::kUnauthenticated, "PEER_UNKNOWN", "", "x"),
                      Acknowledgement("DEC-5", v1::ACCEPT), AuditRecord());
  EXPECT_EQ(d.status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(d.record.reason, "PEER_UNKNOWN");
  EXPECT_EQ(d.record.actor_party, "");
  EXPECT_EQ(d.record.message_id, "DEC-5");
}

// Issue 13: the decision is the verified officer's. An empty officer field
// takes it; another officer is OFFICER_MISMATCH and decides nothing; the
// stored decision and its record say it was verified.
TEST(Decide, AVerifiedOfficerDecidesAndAnotherOfficerIsRefused) {
  ExchangeRig rig("decide-verified");
  ASSERT_TRUE(rig.Submit(SampleReferral("DEC-6")).ok());
  Decision other = DecideAs(rig, "eu/europol", Acknowledgement("DEC-6", v1::ACCEPT), "EU-LO-0002");
  EXPECT_EQ(other.status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(other.status), "OFFICER_MISMATCH");
  EXPECT_EQ(other.record.actor_party, "eu/europol");
  EXPECT_EQ(other.record.actor_officer, "EU-LO-0001");  // The claim, recorded as such.
  EXPECT_FALSE(other.record.officer_verified);
  EXPECT_EQ((*rig.store->Get(kSender, "DEC-6"))->recipients[0].state, v1::ACCEPTED);

  v1::AcknowledgeRequest unnamed = Acknowledgement("DEC-6", v1::ACCEPT);
  unnamed.clear_officer();
  EXPECT_EQ(ReasonOf(DecideAs(rig, "eu/europol", unnamed).status), "FIELD_REQUIRED");  // Nobody vouched.
  Decision d = DecideAs(rig, "eu/europol", unnamed, "EU-LO-0002");
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.recipient.officer(), "EU-LO-0002");
  EXPECT_TRUE(d.recipient.officer_verified());
  EXPECT_EQ(d.record.actor_officer, "EU-LO-0002");
  EXPECT_TRUE(d.record.officer_verified);
  const RecipientRecord stored = (*rig.store->Get(kSender, "DEC-6"))->recipients[0];
  EXPECT_EQ(stored.officer, "EU-LO-0002");
  EXPECT_TRUE(stored.officer_verified);
  // The same decision again by the same verified officer is a duplicate.
  Decision again = DecideAs(rig, "eu/europol", unnamed, "EU-LO-0002");
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(again.record.outcome, "duplicate");
}

// A decision whose COMMIT answer was lost may have taken effect: answered
// and recorded OUTCOME_UNKNOWN (not refused); resubmitted, it is a duplicate
// of the decision that stands.
TEST(Decide, ADecisionWhoseCommitAnswerWasLostIsOutcomeUnknownNotRefused) {
  ExchangeRig rig("decide-unknown");
  auto store = AcceptOnOwnStore(rig, "decide-unknown-store", "DEC-7");
  ASSERT_NE(store, nullptr);
  store->lose_answer = true;
  Decision d = DecideOn(rig, *store, Acknowledgement("DEC-7", v1::ACCEPT));
  EXPECT_EQ(d.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(d.status), "OUTCOME_UNKNOWN");
  EXPECT_EQ(d.record.outcome, "outcome_unknown");
  EXPECT_EQ(d.record.reason, "OUTCOME_UNKNOWN");
  EXPECT_EQ(ReasonOf(d.if_unaudited), "OUTCOME_UNKNOWN");  // Not "nothing was done".
  store->lose_answer = false;
  Decision again = DecideOn(rig, *store, Acknowledgement("DEC-7", v1::ACCEPT));
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(again.record.outcome, "duplicate");
  EXPECT_EQ(again.recipient.state(), v1::ACKNOWLEDGED);
}

// The update callback may run twice (a rerun of the store's op): what the
// first run concluded (the same decision already recorded: a duplicate) does
// not survive into the run that counts, on the row as it stands (ACCEPTED:
// the decision takes effect, is recorded as such and releases the room).
TEST(Decide, ARerunOfTheUpdateKeepsNothingOfTheFirstRun) {
  ExchangeRig rig("decide-rerun");
  auto store = AcceptOnOwnStore(rig, "decide-rerun-store", "DEC-8");
  ASSERT_NE(store, nullptr);
  const int64_t held = rig.delivery.room("eu/europol");
  store->rerun = true;
  Decision d = DecideOn(rig, *store, Acknowledgement("DEC-8", v1::ACCEPT));
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.record.outcome, "acknowledged");
  EXPECT_EQ(d.recipient.state(), v1::ACKNOWLEDGED);
  EXPECT_EQ(ReasonOf(d.if_unaudited), "DECISION_NOT_AUDITED");
  EXPECT_LT(rig.delivery.room("eu/europol"), held);
}

}  // namespace
}  // namespace portcullis::testing
