// The acceptance pipeline (gateway/service/acceptance.h) without gRPC, on
// the exchange rig (tests/support/exchange_rig.h): a real SQLite store
// (failures injected per call), an in-memory audit log and a delivery
// handoff that records what it is told. Each test names the step it proves
// and fails if that step is removed.
#include "gateway/service/acceptance.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "gateway/common/digest.h"
#include "gateway/common/refusal.h"
#include "tests/support/exchange_rig.h"
#include "util/sha256.h"

namespace portcullis::testing {
namespace {

std::string Reason(const absl::StatusOr<v1::Receipt>& answer) { return RefusalOf(answer.status()).reason(); }

// The one record a refused submission leaves, checked as refused for `reason`.
void ExpectOneRefusedRecord(const ExchangeRig& rig, const std::string& reason) {
  std::vector<AuditRecord> records = rig.log.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].action, "submit");
  EXPECT_EQ(records[0].outcome, "refused");
  EXPECT_EQ(records[0].reason, reason);
  EXPECT_EQ(records[0].request_id, "req-1");
}

TEST(AcceptancePipeline, AcceptsStoresAuditsPairsAndDispatchesInThatOrder) {
  ExchangeRig rig("accept");
  absl::StatusOr<v1::Receipt> receipt = rig.Submit(SampleReferral("ACC-1"));
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  EXPECT_FALSE(receipt->duplicate());
  std::vector<AuditRecord> records = rig.log.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].outcome, "accepted");
  EXPECT_EQ(records[0].actor_party, kSender);
  EXPECT_EQ(records[0].peer, "ipv4:127.0.0.1:1");
  EXPECT_EQ(records[0].payload_sha256, receipt->envelope_sha256());
  EXPECT_EQ(receipt->audit_index(), records[0].index);
  EXPECT_TRUE(rig.Stored("ACC-1"));
  // Pair: the store knows the acceptance's record; then dispatch.
  auto unaudited = rig.store->Unaudited();
  ASSERT_TRUE(unaudited.ok());
  EXPECT_TRUE(unaudited->empty());
  EXPECT_EQ(rig.delivery.dispatched(), std::vector<std::string>{"ACC-1"});
  EXPECT_GT(rig.delivery.room("eu/europol"), 0);  // Held until delivery releases it.
}

TEST(AcceptancePipeline, AnAcceptanceIsAnsweredOnlyOnceItsRecordIsDurable) {
  ExchangeRig rig("audited-first");
  rig.log.HoldAppends();
  v1::SubmitRequest request;
  *request.mutable_envelope() = SampleReferral("ACC-HELD");
  std::atomic<bool> answered{false};
  rig.pipeline->Submit(rig.From(kSender), request, [&answered](absl::StatusOr<v1::Receipt>) { answered = true; });
  for (int i = 0; i < 1000 && rig.log.held() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(rig.log.held(), 1u);  // Stored, its record on its way.
  EXPECT_TRUE(rig.Stored("ACC-HELD"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(answered);
  rig.log.ReleaseHeld();
  EXPECT_TRUE(answered);
  rig.store->Flush();
}

TEST(AcceptancePipeline, ARefusalIsAnsweredOnlyOnceItsRecordIsDurable) {
  ExchangeRig rig("refusal-audited-first");
  rig.log.HoldAppends();
  v1::SubmitRequest no_envelope;
  std::atomic<bool> answered{false};
  rig.pipeline->Submit(rig.From(kSender), no_envelope, [&answered](absl::StatusOr<v1::Receipt>) { answered = true; });
  EXPECT_EQ(rig.log.held(), 1u);
  EXPECT_FALSE(answered);
  rig.log.ReleaseHeld();
  EXPECT_TRUE(answered);
}

TEST(AcceptancePipeline, AnUnhealthyAuditLogRefusesBeforeAnythingIsDoneOrRecorded) {
  ExchangeRig rig("audit-unhealthy");
  rig.log.SetHealth(absl::UnavailableError("disk full"));
  absl::StatusOr<v1::Receipt> answer = rig.Submit(SampleReferral("ACC-NOLOG"));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Reason(answer), "AUDIT_UNAVAILABLE");
  EXPECT_TRUE(rig.log.records().empty());
  EXPECT_EQ(rig.store->reservations, 0);  // The store was not even asked.
  EXPECT_FALSE(rig.Stored("ACC-NOLOG"));
  EXPECT_EQ(rig.delivery.room("eu/europol"), 0);
}

TEST(AcceptancePipeline, CheckSubmissionRefusesAnUnauthenticatedCallerAndRecordsIt) {
  ExchangeRig rig("unauthenticated");
  v1::SubmitRequest request;
  *request.mutable_envelope() = SampleReferral("ACC-ANON");
  Submission anonymous{Refuse(absl::StatusCode::kUnauthenticated, "PEER_UNKNOWN", "", "no party"), "ipv4:1", "req-1",
                       std::nullopt, ""};
  absl::StatusOr<v1::Receipt> answer = rig.Submit(request, anonymous);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnauthenticated);
  ExpectOneRefusedRecord(rig, "PEER_UNKNOWN");
  EXPECT_EQ(rig.log.records()[0].actor_party, "");
  EXPECT_FALSE(rig.Stored("ACC-ANON"));
}

// Issue 13: a party known by its certificate whose officer assertion is
// refused: the refusal's record names the party (who tried), nothing is kept.
TEST(AcceptancePipeline, ARefusedAssertionIsRecordedWithTheCertificatesParty) {
  ExchangeRig rig("assertion-refused");
  v1::SubmitRequest request;
  *request.mutable_envelope() = SampleReferral("ACC-ASSERT");
  Submission refused{Refuse(absl::StatusCode::kUnauthenticated, "ASSERTION_SIGNATURE", "authorization", "bad"),
                     "ipv4:1", "req-1", std::nullopt, kSender};
  absl::StatusOr<v1::Receipt> answer = rig.Submit(request, refused);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnauthenticated);
  ExpectOneRefusedRecord(rig, "ASSERTION_SIGNATURE");
  EXPECT_EQ(rig.log.records()[0].actor_party, kSender);
  EXPECT_FALSE(rig.log.records()[0].officer_verified);
  EXPECT_FALSE(rig.Stored("ACC-ASSERT"));
}

TEST(AcceptancePipeline, CheckSubmissionRefusesAMissingEnvelope) {
  ExchangeRig rig("no-envelope");
  absl::StatusOr<v1::Receipt> answer = rig.Submit(v1::SubmitRequest(), rig.From(kSender));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RefusalOf(answer.status()).field(), "envelope");
  ExpectOneRefusedRecord(rig, "FIELD_REQUIRED");
}

TEST(AcceptancePipeline, CheckSubmissionRefusesASenderClaimThatIsNotTheCaller) {
  ExchangeRig rig("sender-mismatch");
  v1::Envelope e = SampleReferral("ACC-CLAIM");
  e.set_sender("uk/nca");
  absl::StatusOr<v1::Receipt> answer = rig.Submit(e);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kPermissionDenied);
  ExpectOneRefusedRecord(rig, "SENDER_MISMATCH");
  EXPECT_FALSE(rig.Stored("ACC-CLAIM"));
}

TEST(AcceptancePipeline, CheckSubmissionValidatesTheEnvelope) {
  ExchangeRig rig("invalid");
  v1::Envelope e = SampleReferral("ACC-INVALID");
  e.clear_case_reference();
  absl::StatusOr<v1::Receipt> answer = rig.Submit(e);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RefusalOf(answer.status()).field(), "envelope.case_reference");
  EXPECT_EQ(rig.log.records().size(), 1u);
  EXPECT_FALSE(rig.Stored("ACC-INVALID"));
}

TEST(AcceptancePipeline, CheckSubmissionValidatesAgainstThePipelinesClock) {
  // Created "now" by the sender's clock, a day after the pipeline's: beyond any skew.
  ExchangeRig rig("clock", [] { return NowMicros() - 24LL * 3600 * 1000 * 1000; });
  absl::StatusOr<v1::Receipt> answer = rig.Submit(SampleReferral("ACC-CLOCK"));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument) << answer.status();
  EXPECT_EQ(RefusalOf(answer.status()).reason(), "CREATED_IN_FUTURE");
}

TEST(AcceptancePipeline, CheckSubmissionChecksRoutes) {
  ExchangeRig rig("route");
  absl::StatusOr<v1::Receipt> answer = rig.Submit(SampleReferral("ACC-ROUTE", {"audit/ico"}));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(rig.log.records().size(), 1u);
  EXPECT_EQ(rig.log.records()[0].outcome, "refused");
  EXPECT_FALSE(rig.Stored("ACC-ROUTE"));
}

TEST(AcceptancePipeline, CompleteEnvelopeSetsTheSenderAndAnRfisDeadline) {
  ExchangeRig rig("complete");
  v1::Envelope e;
  e.set_priority(v1::URGENT);
  e.mutable_created_at()->set_seconds(1000);
  e.mutable_request_for_information()->set_directly_accessible(false);
  CompletedEnvelope c = CompleteEnvelope(e, *rig.config->FindParty(kSender));
  EXPECT_EQ(c.envelope->sender(), kSender);
  EXPECT_EQ(c.envelope->request_for_information().answer_by().seconds(), 1000 + 72 * 3600);
  EXPECT_EQ(c.sha256, Sha256Hex(DeterministicBytes(*c.envelope)));
  EXPECT_EQ(c.bytes, c.envelope->ByteSizeLong());
  // Through the pipeline: the stored envelope is the completed one.
  ASSERT_TRUE(rig.Submit(SampleReferral("ACC-COMPLETE")).ok());
  auto stored = rig.store->Get(kSender, "ACC-COMPLETE");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ((*stored)->envelope.sender(), kSender);
}

TEST(AcceptancePipeline, ReserveMessageIdGivesAResubmissionItsOriginalReceipt) {
  ExchangeRig rig("duplicate");
  const v1::Envelope e = SampleReferral("ACC-DUP");
  absl::StatusOr<v1::Receipt> first = rig.Submit(e);
  ASSERT_TRUE(first.ok()) << first.status();
  const int64_t room_after_first = rig.delivery.room("eu/europol");
  absl::StatusOr<v1::Receipt> again = rig.Submit(e);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->duplicate());
  EXPECT_EQ(again->audit_index(), first->audit_index());
  EXPECT_EQ(again->envelope_sha256(), first->envelope_sha256());
  std::vector<AuditRecord> records = rig.log.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].outcome, "duplicate");
  EXPECT_EQ(rig.delivery.dispatched().size(), 1u);  // Delivered once.
  EXPECT_EQ(rig.delivery.room("eu/europol"), room_after_first);
}

TEST(AcceptancePipeline, ReserveMessageIdRefusesTheSameIdForDifferentContent) {
  ExchangeRig rig("conflict");
  ASSERT_TRUE(rig.Submit(SampleReferral("ACC-REUSED")).ok());
  v1::Envelope other = SampleReferral("ACC-REUSED");
  other.mutable_case_referral()->set_summary("something else");
  absl::StatusOr<v1::Receipt> answer = rig.Submit(other);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Reason(answer), "MESSAGE_ID_REUSED");
  ASSERT_EQ(rig.log.records().size(), 2u);
  EXPECT_EQ(rig.log.records()[1].reason, "MESSAGE_ID_REUSED");
}

TEST(AcceptancePipeline, CheckThreadRefusesAReplyToNoMessageAndFreesTheId) {
  ExchangeRig rig("thread");
  v1::Envelope reply = SampleReferral("ACC-REPLY");
  reply.set_correlation_id("NO-SUCH-MESSAGE");
  absl::StatusOr<v1::Receipt> answer = rig.Submit(reply);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kFailedPrecondition);
  ExpectOneRefusedRecord(rig, "CORRELATION_UNKNOWN");
  EXPECT_EQ(rig.delivery.room("eu/europol"), 0);
  // The reservation was dropped: the id can be used at once.
  reply.clear_correlation_id();
  EXPECT_TRUE(rig.Submit(reply).ok());
}

TEST(AcceptancePipeline, CheckThreadRefusesWhenTheStoreCannotSay) {
  ExchangeRig rig("thread-store");
  rig.store->fail_correlation = true;
  v1::Envelope reply = SampleReferral("ACC-REPLY2");
  reply.set_correlation_id("ANY");
  absl::StatusOr<v1::Receipt> answer = rig.Submit(reply);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  ExpectOneRefusedRecord(rig, "STORE_UNAVAILABLE");
}

TEST(AcceptancePipeline, ReserveRoomRefusesAFullBacklogAndFreesTheId) {
  ExchangeRig rig("room");
  rig.delivery.refuse_room = Refuse(absl::StatusCode::kResourceExhausted, "BACKLOG_FULL", "recipients", "full");
  absl::StatusOr<v1::Receipt> answer = rig.Submit(SampleReferral("ACC-FULL"));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kResourceExhausted);
  ExpectOneRefusedRecord(rig, "BACKLOG_FULL");
  EXPECT_FALSE(rig.Stored("ACC-FULL"));
  rig.delivery.refuse_room = absl::OkStatus();
  EXPECT_TRUE(rig.Submit(SampleReferral("ACC-FULL")).ok());
}

TEST(AcceptancePipeline, StoreFailureIsAnsweredUnavailableWithNothingAudited) {
  ExchangeRig rig("store-fails");
  rig.store->fail_commit = true;
  absl::StatusOr<v1::Receipt> answer = rig.Submit(SampleReferral("ACC-NOSTORE"));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Reason(answer), "STORE_UNAVAILABLE");
  EXPECT_TRUE(rig.log.records().empty());  // Above all, no "accepted".
  EXPECT_FALSE(rig.Stored("ACC-NOSTORE"));
  EXPECT_EQ(rig.delivery.room("eu/europol"), 0);
  EXPECT_TRUE(rig.delivery.dispatched().empty());
}

TEST(AcceptancePipeline, AuditFailureIsNotAnsweredAsAcceptedAndTheMessageIsWithdrawn) {
  ExchangeRig rig("audit-fails");
  rig.log.FailAppends();
  absl::StatusOr<v1::Receipt> answer = rig.Submit(SampleReferral("ACC-NOAUDIT"));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Reason(answer), "AUDIT_UNAVAILABLE");
  EXPECT_FALSE(rig.Stored("ACC-NOAUDIT"));
  EXPECT_EQ(rig.delivery.room("eu/europol"), 0);
  EXPECT_TRUE(rig.delivery.dispatched().empty());
}

TEST(AcceptancePipeline, AuditFailureWhoseWithdrawalFailsTooIsAnsweredOutcomeUnknown) {
  ExchangeRig rig("withdraw-fails");
  rig.log.FailAppends();
  rig.store->fail_discard = true;
  absl::StatusOr<v1::Receipt> answer = rig.Submit(SampleReferral("ACC-UNKNOWN"));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Reason(answer), "OUTCOME_UNKNOWN");
  EXPECT_TRUE(rig.delivery.dispatched().empty());
  // It may be stored: its backlog room stays taken (released when it is
  // delivered; recounted from the store at the next start if not).
  EXPECT_GT(rig.delivery.room("eu/europol"), 0);
}

TEST(AcceptancePipeline, ARefusalWhoseRecordFailsIsAnsweredAuditUnavailable) {
  ExchangeRig rig("refusal-unaudited");
  rig.log.FailAppends();
  v1::Envelope e = SampleReferral("ACC-CLAIM2");
  e.set_sender("uk/nca");
  absl::StatusOr<v1::Receipt> answer = rig.Submit(e);
  EXPECT_EQ(Reason(answer), "AUDIT_UNAVAILABLE");  // Not SENDER_MISMATCH: nothing unaudited is disclosed.
}

TEST(AcceptancePipeline, PairingFailureIsAcceptedAndHandedToDeliveryToRetry) {
  ExchangeRig rig("pairing-fails");
  rig.store->fail_pairing = true;
  absl::StatusOr<v1::Receipt> receipt = rig.Submit(SampleReferral("ACC-PAIR"));
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  EXPECT_TRUE(rig.delivery.dispatched().empty());  // Not before it is paired.
  auto retried = rig.delivery.retried();
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].first, "ACC-PAIR");
  EXPECT_EQ(retried[0].second, receipt->audit_index());
}

}  // namespace
}  // namespace portcullis::testing

namespace portcullis::testing {
namespace {

// Issue 13: the envelope's officer must be the one the caller's assertion vouches for.
TEST(AcceptancePipeline, AVerifiedOfficerMustBeTheEnvelopesAndIsRecordedAsVerified) {
  ExchangeRig rig("officer");
  v1::SubmitRequest request;
  *request.mutable_envelope() = SampleReferral("ACC-OFFICER-1");
  Submission as_other = rig.From(kSender);
  as_other.verified_officer = "SOMEONE-ELSE-1";
  absl::StatusOr<v1::Receipt> refused = rig.Submit(request, as_other);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(RefusalOf(refused.status()).reason(), "OFFICER_MISMATCH");
  EXPECT_FALSE(rig.Stored("ACC-OFFICER-1"));

  Submission as_self = rig.From(kSender);
  as_self.verified_officer = request.envelope().originating_officer();
  absl::StatusOr<v1::Receipt> accepted = rig.Submit(request, as_self);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_TRUE(rig.log.records().back().officer_verified);
  EXPECT_TRUE(accepted->originating_officer_verified());  // The receipt says so, and is kept with the message.
  EXPECT_TRUE((*rig.store->Get(kSender, "ACC-OFFICER-1"))->receipt.originating_officer_verified());
  // A claim without an assertion is accepted and recorded as claimed.
  v1::SubmitRequest claimed;
  *claimed.mutable_envelope() = SampleReferral("ACC-OFFICER-2");
  absl::StatusOr<v1::Receipt> claim = rig.Submit(claimed, rig.From(kSender));
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_FALSE(rig.log.records().back().officer_verified);
  EXPECT_FALSE(claim->originating_officer_verified());
}

}  // namespace
}  // namespace portcullis::testing
