// The Audit service over real mTLS: auditors only, reasons recorded, paging,
// inclusion and consistency proofs that verify against signed checkpoints,
// disk faults refusing work, and hostile strings that cannot break the log.
#include <cstdio>
#include <fstream>

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "gateway/audit/checkpoint.h"
#include "gateway/audit/log_format.h"
#include "gateway/audit/log_verifier.h"
#include "gateway/audit/merkle.h"
#include "portcullis/v1/audit.grpc.pb.h"
#include "tests/support/harness.h"
#include "tests/support/test_storage.h"

namespace portcullis::testing {
namespace {

std::unique_ptr<v1::Audit::Stub> AuditClient(const GatewayHarness& h, const std::string& stem) {
  return v1::Audit::NewStub(h.Channel(stem));
}

grpc::Status Query(v1::Audit::Stub& stub, const v1::AuditQueryRequest& req, v1::AuditQueryResponse* resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return stub.Query(&ctx, req, resp);
}

std::string PublicKey() { return PkiDir() + "/audit/signing.pub"; }

TEST(AuditService, OnlyAuditorsMayQueryAndRefusalsAreRecorded) {
  GatewayHarness h("audit-authz");
  v1::AuditQueryRequest req;
  req.set_reason("curiosity");
  v1::AuditQueryResponse resp;
  grpc::Status s = Query(*AuditClient(h, "parties/uk-nca"), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(s), "NOT_AN_AUDITOR");
  EXPECT_TRUE(h.WaitForAudit({"\"action\":\"audit_query\"", "\"actor_party\":\"uk/nca\"", "\"outcome\":\"refused\"",
                              "NOT_AN_AUDITOR"}));
  for (const char* call : {"checkpoint", "consistency"}) {
    grpc::ClientContext ctx;
    grpc::Status cs;
    if (std::string(call) == "checkpoint") {
      v1::SignedCheckpoint c;
      cs = AuditClient(h, "parties/eu-europol")->GetCheckpoint(&ctx, v1::GetCheckpointRequest(), &c);
    } else {
      v1::ConsistencyProofRequest creq;
      creq.set_old_size(1);
      creq.set_new_size(1);
      v1::ConsistencyProof p;
      cs = AuditClient(h, "parties/eu-europol")->GetConsistencyProof(&ctx, creq, &p);
    }
    EXPECT_EQ(cs.error_code(), grpc::StatusCode::PERMISSION_DENIED) << call;
  }
}

TEST(AuditService, QueryNeedsAReasonAndRecordsItWithTheAuditor) {
  GatewayHarness h("audit-query");
  auto bf = h.Client("parties/uk-border-force");
  v1::Receipt r;
  ASSERT_TRUE(Submit(*bf, SampleReferral("AQ-1"), &r).ok());
  ASSERT_TRUE(Submit(*bf, SampleReferral("AQ-2"), &r).ok());
  auto auditor = AuditClient(h, "parties/audit-ico");

  v1::AuditQueryRequest req;
  v1::AuditQueryResponse resp;
  grpc::Status s = Query(*auditor, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldOf(s), "reason");

  req.set_reason("ICO complaint 2026/1187: disclosure to Europol");
  req.mutable_filter()->set_message_id("AQ-2");
  resp.Clear();
  ASSERT_TRUE(Query(*auditor, req, &resp).ok());
  ASSERT_GE(resp.entries_size(), 1);
  for (const auto& e : resp.entries()) {
    EXPECT_EQ(e.message_id(), "AQ-2");
    EXPECT_TRUE(CheckLine(e.line()).ok());
  }
  EXPECT_EQ(resp.entries(0).action(), "submit");
  EXPECT_EQ(resp.entries(0).actor_party(), "uk/border-force");
  EXPECT_EQ(resp.entries(0).actor_officer(), "BF-LO-4471");
  EXPECT_EQ(resp.entries(0).recipients(0), "eu/europol");
  EXPECT_EQ(resp.entries(0).classification(), "OFFICIAL_SENSITIVE");
  EXPECT_EQ(resp.entries(0).payload_sha256(), r.envelope_sha256());
  EXPECT_TRUE(h.WaitForAudit({"\"action\":\"audit_query\"", "\"actor_party\":\"audit/ico\"",
                              "ICO complaint 2026/1187", "\"outcome\":\"ok\""}));

  // Paging: one record per page, every submit found exactly once.
  v1::AuditQueryRequest paged;
  paged.set_reason("paging test");
  paged.mutable_filter()->set_action("submit");
  paged.set_page_size(1);
  std::vector<std::string> ids;
  for (int pages = 0; pages < 50; ++pages) {
    v1::AuditQueryResponse page;
    ASSERT_TRUE(Query(*auditor, paged, &page).ok());
    for (const auto& e : page.entries()) ids.push_back(e.message_id());
    if (page.next_page_token().empty()) break;
    paged.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"AQ-1", "AQ-2"}));
}

std::vector<merkle::Hash> Hashes(const google::protobuf::RepeatedPtrField<std::string>& hex) {
  std::vector<merkle::Hash> out;
  for (const auto& h : hex) {
    out.emplace_back();
    EXPECT_TRUE(merkle::FromHex(h, &out.back())) << h;
  }
  return out;
}

Checkpoint FromProto(const v1::SignedCheckpoint& c) {
  return Checkpoint{c.tree_size(), c.root_hash(),
                    google::protobuf::util::TimeUtil::TimestampToMicroseconds(c.time()), c.key_id(), c.signature()};
}

TEST(AuditService, SenderGetsAnInclusionProofForItsReceiptThatVerifies) {
  GatewayHarness h("audit-inclusion");
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("INC-1"), &receipt).ok());
  auto first = h.gateway()->audit()->CheckpointNow();
  ASSERT_TRUE(first.ok()) << first.status();

  v1::InclusionProofRequest req;
  req.set_index(receipt.audit_index());
  v1::InclusionProof proof;
  grpc::ClientContext ctx;
  ASSERT_TRUE(AuditClient(h, "parties/uk-border-force")->GetInclusionProof(&ctx, req, &proof).ok());
  EXPECT_EQ(proof.tree_size(), first->size);
  auto verifier = CheckpointVerifier::Load(PublicKey());
  ASSERT_TRUE(verifier.ok());
  EXPECT_TRUE((*verifier)->Verify(FromProto(proof.checkpoint())).ok());
  merkle::Hash root;
  ASSERT_TRUE(merkle::FromHex(proof.checkpoint().root_hash(), &root));
  EXPECT_TRUE(merkle::VerifyInclusion(proof.index(), proof.tree_size(), merkle::LeafHash(proof.leaf_line()),
                                      Hashes(proof.path()), root));
  auto record = ParseLine(proof.leaf_line());
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->message_id, "INC-1");
  EXPECT_EQ(record->payload_sha256, receipt.envelope_sha256());

  // A party with nothing to do with the message gets no proof; an auditor does.
  grpc::ClientContext other;
  EXPECT_EQ(AuditClient(h, "parties/uk-nca")->GetInclusionProof(&other, req, &proof).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::ClientContext actx;
  EXPECT_TRUE(AuditClient(h, "parties/audit-ico")->GetInclusionProof(&actx, req, &proof).ok());

  // The log grows; the auditor proves the new checkpoint extends the old one.
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("INC-2"), &receipt).ok());
  auto second = h.gateway()->audit()->CheckpointNow();
  ASSERT_TRUE(second.ok());
  ASSERT_GT(second->size, first->size);
  v1::ConsistencyProofRequest creq;
  creq.set_old_size(first->size);
  v1::ConsistencyProof cproof;
  grpc::ClientContext cctx;
  ASSERT_TRUE(AuditClient(h, "parties/audit-ico")->GetConsistencyProof(&cctx, creq, &cproof).ok());
  merkle::Hash old_root, new_root;
  ASSERT_TRUE(merkle::FromHex(first->root, &old_root));
  ASSERT_TRUE(merkle::FromHex(cproof.checkpoint().root_hash(), &new_root));
  EXPECT_TRUE(merkle::VerifyConsistency(first->size, cproof.new_size(), old_root, new_root, Hashes(cproof.path())));
}

grpc::Status ProofOf(GatewayHarness& h, const std::string& stem, uint64_t index, v1::InclusionProof* proof) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::InclusionProofRequest req;
  req.set_index(index);
  return AuditClient(h, stem)->GetInclusionProof(&ctx, req, proof);
}

uint64_t IndexOfLineWith(const std::vector<std::string>& lines, const std::vector<std::string>& needles) {
  for (const std::string& line : lines) {
    bool all = true;
    for (const auto& n : needles) all = all && line.find(n) != std::string::npos;
    if (all) return ParseLine(line)->index;
  }
  ADD_FAILURE() << "no audit line with all of the needles";
  return 0;
}

TEST(AuditService, OutsidersLearnNothingFromAcknowledgementsOrProofs) {
  GatewayHarness h("audit-outsiders");
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("LEAK-1"), &receipt).ok());
  {
    grpc::ClientContext ctx;
    v1::TrackRequest tr;
    tr.set_message_id("LEAK-1");
    v1::TrackResponse track;
    ASSERT_TRUE(h.Client("parties/uk-border-force")->Track(&ctx, tr, &track).ok());
  }
  // uk/nca, not a recipient, tries to acknowledge Border Force's message.
  grpc::ClientContext ctx;
  v1::AcknowledgeRequest ack;
  ack.set_sender("uk/border-force");
  ack.set_message_id("LEAK-1");
  ack.set_officer("NCA-1");
  ack.set_decision(v1::ACCEPT);
  v1::AcknowledgeResponse ar;
  grpc::Status s = h.Client("parties/uk-nca")->Acknowledge(&ctx, ack, &ar);
  // Not a participant: the answer for a message that does not exist (issue 11 item 3).
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(s), "MESSAGE_NOT_FOUND");
  ASSERT_TRUE(h.WaitForAudit({"\"action\":\"acknowledge\"", "\"actor_party\":\"uk/nca\"", "MESSAGE_NOT_FOUND"}));
  const std::vector<std::string> lines = h.AuditLines();
  const uint64_t refused_ack =
      IndexOfLineWith(lines, {"\"action\":\"acknowledge\"", "\"actor_party\":\"uk/nca\""});
  EXPECT_EQ(lines[refused_ack].find("BF-2026-004512"), std::string::npos) << "the refusal carries the case reference";
  EXPECT_EQ(lines[refused_ack].find("LAW.EUROPOL"), std::string::npos) << "the refusal carries the legal basis";

  // uk/nca gets the same answer for its own refused call, the message's
  // records and an index far beyond the log.
  v1::InclusionProof proof;
  std::vector<grpc::Status> answers = {ProofOf(h, "parties/uk-nca", refused_ack, &proof),
                                       ProofOf(h, "parties/uk-nca", receipt.audit_index(), &proof),
                                       ProofOf(h, "parties/uk-nca", 1000000, &proof)};
  for (const grpc::Status& a : answers) {
    EXPECT_EQ(a.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(ReasonOf(a), "NOT_A_PARTICIPANT");
    EXPECT_EQ(a.error_message(), answers[0].error_message());
  }
  // Europol, a recipient, may prove the submission but not Border Force's
  // consultation record (which holds Border Force's address).
  EXPECT_TRUE(ProofOf(h, "parties/eu-europol", receipt.audit_index(), &proof).ok());
  const uint64_t track = IndexOfLineWith(lines, {"\"action\":\"track\"", "\"actor_party\":\"uk/border-force\""});
  EXPECT_EQ(ProofOf(h, "parties/eu-europol", track, &proof).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(ProofOf(h, "parties/audit-ico", track, &proof).ok());
}

// Issue 11 item 3: a party that is not an auditor gets one identical answer
// (code, reason, message, details) for a record that exists but is not its
// own and for one that does not exist, whatever tree size it names.
TEST(AuditService, NonAuditorCannotTellNotYoursFromNonexistent) {
  GatewayHarness h("audit-one-answer");
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("ONE-ANSWER-1"), &receipt).ok());
  ASSERT_TRUE(h.WaitForAudit({"\"action\":\"submit\"", "ONE-ANSWER-1"}));
  const uint64_t size = h.AuditLines().size();
  auto proof_of = [&](uint64_t index, uint64_t tree_size) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::InclusionProofRequest req;
    req.set_index(index);
    req.set_tree_size(tree_size);
    v1::InclusionProof proof;
    grpc::Status s = AuditClient(h, "parties/uk-nca")->GetInclusionProof(&ctx, req, &proof);
    EXPECT_EQ(proof.ByteSizeLong(), 0u) << "a refusal carries no proof";
    return s;
  };
  // Exists, not uk/nca's (Border Force's submission to Europol), and beyond
  // the log; with no tree size, a valid one, one beyond the log, one below the index.
  std::vector<grpc::Status> answers;
  for (uint64_t index : {receipt.audit_index(), size + 5, uint64_t{1} << 40}) {
    for (uint64_t tree_size : {uint64_t{0}, size, size + 100, index}) answers.push_back(proof_of(index, tree_size));
  }
  for (const grpc::Status& a : answers) {
    EXPECT_EQ(a.error_code(), answers[0].error_code());
    EXPECT_EQ(ReasonOf(a), ReasonOf(answers[0]));
    EXPECT_EQ(a.error_message(), answers[0].error_message());
    EXPECT_EQ(a.error_details(), answers[0].error_details());
  }
  EXPECT_EQ(answers[0].error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(answers[0]), "NOT_A_PARTICIPANT");
  // The sender of the record is answered, so the refusals above were not for
  // want of a valid request.
  v1::InclusionProof proof;
  EXPECT_TRUE(ProofOf(h, "parties/uk-border-force", receipt.audit_index(), &proof).ok());
}

// A refused submission is built from the envelope as written: the recipients
// it names were never sent anything. Such a recipient (here eu/fr-dnpaf, not
// cleared for the referral) gets from an inclusion proof of that record the
// answer for an index that does not exist, and so learns nothing of the case,
// justification or marking. The sender may still prove its own record.
TEST(AuditService, ARecipientNamedByARefusedSubmissionCannotProveIt) {
  GatewayHarness h("audit-refused-recipient");
  v1::Envelope e = SampleReferral("NOT-CLEARED-1", {"eu/fr-dnpaf"});
  e.set_case_reference("BF-2026-SECRET-CASE");
  v1::Receipt r;
  grpc::Status s = Submit(*h.Client("parties/uk-border-force"), e, &r);
  ASSERT_EQ(ReasonOf(s), "RECIPIENT_NOT_CLEARED");
  ASSERT_TRUE(h.WaitForAudit({"\"action\":\"submit\"", "NOT-CLEARED-1", "RECIPIENT_NOT_CLEARED"}));
  const std::vector<std::string> lines = h.AuditLines();
  const uint64_t refused = IndexOfLineWith(lines, {"\"action\":\"submit\"", "NOT-CLEARED-1"});
  ASSERT_NE(lines[refused].find("eu/fr-dnpaf"), std::string::npos) << "the record names the recipient written";
  ASSERT_NE(lines[refused].find("BF-2026-SECRET-CASE"), std::string::npos);
  ASSERT_TRUE(h.gateway()->audit()->CheckpointNow().ok());

  v1::InclusionProof proof;
  const grpc::Status named = ProofOf(h, "parties/eu-fr-dnpaf", refused, &proof);
  EXPECT_EQ(proof.leaf_line(), "");
  const grpc::Status nonexistent = ProofOf(h, "parties/eu-fr-dnpaf", uint64_t{1} << 40, &proof);
  EXPECT_EQ(named.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(named), "NOT_A_PARTICIPANT");
  EXPECT_EQ(named.error_code(), nonexistent.error_code());
  EXPECT_EQ(named.error_message(), nonexistent.error_message());
  EXPECT_EQ(named.error_details(), nonexistent.error_details());
  // The sender proves its own refused submission.
  ASSERT_TRUE(ProofOf(h, "parties/uk-border-force", refused, &proof).ok());
  EXPECT_EQ(proof.leaf_line(), lines[refused]);
}

// An acknowledgement refused before the message was found carries the sender
// the caller wrote: that party may not prove it (it would learn who probed
// which message id of its own), nor may the caller (it was refused).
TEST(AuditService, ARefusedAcknowledgementIsNotTheNamedSendersToProve) {
  GatewayHarness h("audit-refused-ack");
  grpc::ClientContext ctx;
  v1::AcknowledgeRequest ack;
  ack.set_sender("uk/border-force");
  ack.set_message_id("NO-SUCH-MESSAGE-1");
  ack.set_officer("NCA-1");
  ack.set_decision(v1::ACCEPT);
  v1::AcknowledgeResponse ar;
  ASSERT_EQ(ReasonOf(h.Client("parties/uk-nca")->Acknowledge(&ctx, ack, &ar)), "MESSAGE_NOT_FOUND");
  ASSERT_TRUE(h.WaitForAudit({"\"action\":\"acknowledge\"", "NO-SUCH-MESSAGE-1"}));
  const uint64_t refused =
      IndexOfLineWith(h.AuditLines(), {"\"action\":\"acknowledge\"", "NO-SUCH-MESSAGE-1"});
  ASSERT_TRUE(h.gateway()->audit()->CheckpointNow().ok());
  v1::InclusionProof proof;
  for (const char* stem : {"parties/uk-border-force", "parties/uk-nca"}) {
    const grpc::Status named = ProofOf(h, stem, refused, &proof);
    const grpc::Status nonexistent = ProofOf(h, stem, uint64_t{1} << 40, &proof);
    EXPECT_EQ(ReasonOf(named), "NOT_A_PARTICIPANT") << stem;
    EXPECT_EQ(named.error_message(), nonexistent.error_message()) << stem;
    EXPECT_EQ(named.error_details(), nonexistent.error_details()) << stem;
  }
  EXPECT_TRUE(ProofOf(h, "parties/audit-ico", refused, &proof).ok());
}

// A record line that is on disk but cannot be read as a record (the log was
// damaged under the running gateway) is reported to auditors as such, with
// no path in the words; anyone else gets the one not-yours answer.
TEST(AuditService, ADamagedRecordIsReportedToAuditorsAndHiddenFromOthers) {
  GatewayHarness h("audit-damaged");
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("DAMAGED-1"), &receipt).ok());
  ASSERT_TRUE(h.WaitForAudit({"\"action\":\"submit\"", "DAMAGED-1"}));
  ASSERT_TRUE(h.gateway()->audit()->CheckpointNow().ok());
  const uint64_t index = receipt.audit_index();
  v1::InclusionProof proof;
  ASSERT_TRUE(ProofOf(h, "parties/audit-ico", index, &proof).ok());
  ASSERT_TRUE(ProofOf(h, "parties/uk-border-force", index, &proof).ok());

  // Damage the record's first byte where it is stored (same length: in the file, every other line stays
  // where it is).
  if (TestsOnPostgres()) {
    ExecIn(h.store_dsn(), absl::StrCat("UPDATE audit_records SET line = 'X' || substr(line, 2) WHERE idx = ", index));
  } else {
    std::ifstream in(h.audit_path(), std::ios::binary);
    std::string line;
    uint64_t offset = 0;
    for (uint64_t i = 0; i < index && std::getline(in, line); ++i) offset += line.size() + 1;
    ASSERT_TRUE(std::getline(in, line));
    ASSERT_NE(line.find("DAMAGED-1"), std::string::npos);
    std::fstream out(h.audit_path(), std::ios::binary | std::ios::in | std::ios::out);
    out.seekp(static_cast<std::streamoff>(offset));
    out.put('X');
    ASSERT_TRUE(out.good());
  }
  auto no_path = [&](const grpc::Status& s) {
    const std::string all = s.error_message() + s.error_details();
    EXPECT_EQ(all.find(h.audit_path()), std::string::npos) << s.error_message();
    EXPECT_EQ(all.find("audit.log"), std::string::npos) << s.error_message();
    EXPECT_EQ(all.find("/tmp"), std::string::npos) << s.error_message();
  };
  const grpc::Status damaged = ProofOf(h, "parties/audit-ico", index, &proof);
  EXPECT_EQ(damaged.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(ReasonOf(damaged), "RECORD_UNREADABLE");
  EXPECT_EQ(FieldOf(damaged), "index");
  no_path(damaged);
  // Beyond the log is another answer for an auditor.
  EXPECT_EQ(ReasonOf(ProofOf(h, "parties/audit-ico", uint64_t{1} << 40, &proof)), "INDEX_OUT_OF_RANGE");

  v1::AuditQueryRequest req;
  req.set_reason("review after disk damage");
  v1::AuditQueryResponse resp;
  const grpc::Status query = Query(*AuditClient(h, "parties/audit-ico"), req, &resp);
  EXPECT_EQ(query.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(ReasonOf(query), "RECORD_UNREADABLE");
  EXPECT_NE(query.error_message().find(absl::StrCat("record ", index, " ")), std::string::npos)
      << query.error_message();
  no_path(query);
  EXPECT_EQ(resp.entries_size(), 0);

  // The record's sender (which could prove it before): the answer for a record that does not exist.
  const grpc::Status sender = ProofOf(h, "parties/uk-border-force", index, &proof);
  const grpc::Status nonexistent = ProofOf(h, "parties/uk-border-force", uint64_t{1} << 40, &proof);
  EXPECT_EQ(ReasonOf(sender), "NOT_A_PARTICIPANT");
  EXPECT_EQ(sender.error_code(), nonexistent.error_code());
  EXPECT_EQ(sender.error_message(), nonexistent.error_message());
  EXPECT_EQ(sender.error_details(), nonexistent.error_details());
}

// The stated reason of a query follows the rules of every stated reason
// (CheckStatement), and the officer filter those of every officer id.
TEST(AuditService, QueryReasonAndOfficerFilterAreChecked) {
  GatewayHarness h("audit-query-rules");
  auto auditor = AuditClient(h, "parties/audit-ico");
  struct Case {
    std::string reason, officer, want_reason, want_field;
  };
  const std::vector<Case> cases = {
      {"   \t ", "", "FIELD_REQUIRED", "reason"},
      {"complaint \x1b[2J\x1b[31mforged", "", "FIELD_FORMAT", "reason"},
      {std::string("nul") + std::string(1, '\0') + "byte", "", "FIELD_FORMAT", "reason"},
      {std::string(1025, 'r'), "", "FIELD_TOO_LONG", "reason"},
      {"ICO complaint 2026/1188", "BF LO 4471", "FIELD_FORMAT", "filter.officer"},
      {"ICO complaint 2026/1188", "BF-\x1b[31m", "FIELD_FORMAT", "filter.officer"},
      {"ICO complaint 2026/1188", std::string(129, 'o'), "FIELD_TOO_LONG", "filter.officer"},
  };
  for (const Case& c : cases) {
    v1::AuditQueryRequest req;
    req.set_reason(c.reason);
    req.mutable_filter()->set_officer(c.officer);
    v1::AuditQueryResponse resp;
    const grpc::Status s = Query(*auditor, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.want_field << " " << c.want_reason;
    EXPECT_EQ(ReasonOf(s), c.want_reason) << s.error_message();
    EXPECT_EQ(FieldOf(s), c.want_field) << s.error_message();
    EXPECT_EQ(resp.entries_size(), 0);
  }
  // A reason over several lines and a well-formed officer are fine.
  v1::AuditQueryRequest ok;
  ok.set_reason("ICO complaint 2026/1188\nsecond line");
  ok.mutable_filter()->set_officer("BF-LO-4471");
  v1::AuditQueryResponse resp;
  EXPECT_TRUE(Query(*auditor, ok, &resp).ok());
}

// Record format v2 through the service, on a log that began in v1 (an
// upgraded deployment): every entry reads, v1 entries as format 1 with empty
// v2 fields, v2 entries carry the replica id the gateway stamps, and the
// adoption of the unsigned v1 records is an entry of its own.
TEST(AuditService, QueryReadsV1AndV2EntriesOfOneLog) {
  SkipUnlessFileStorage("a deployment upgraded from a v1 audit.log file (a database log begins in v2)");
  HarnessOptions o;
  o.replica_id = "gw-test-1";
  GatewayHarness h("audit-v1-v2", o);
  h.Stop();
  const std::string v1_dir = std::string(PORTCULLIS_SOURCE_DIR) + "/tests/data/audit-v1";
  {
    std::ifstream in(v1_dir + "/audit.log", std::ios::binary);
    std::ofstream out(h.audit_path(), std::ios::binary | std::ios::trunc);
    out << in.rdbuf();
  }
  std::remove((h.audit_path() + ".checkpoints").c_str());  // Signed by the fixture's own (discarded) key.
  std::remove((h.audit_path() + ".leaves").c_str());
  h.Restart();
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("V2-1"), &receipt).ok());
  EXPECT_GT(receipt.audit_index(), 7u);

  v1::AuditQueryRequest req;
  req.set_reason("format v1 and v2 review");
  v1::AuditQueryResponse resp;
  ASSERT_TRUE(Query(*AuditClient(h, "parties/audit-ico"), req, &resp).ok());
  ASSERT_GE(resp.entries_size(), 9);
  for (int i = 0; i < 7; ++i) {
    const v1::AuditEntry& e = resp.entries(i);
    EXPECT_EQ(e.format_version(), 1u) << e.line();
    EXPECT_EQ(e.replica_id(), "") << e.line();
    EXPECT_EQ(e.line().find("\"v\":"), std::string::npos);
  }
  EXPECT_EQ(resp.entries(0).actor_officer(), "BF-LO-4471");
  EXPECT_EQ(resp.entries(0).message_id(), "BF-REF-2026-004512-01");
  const v1::AuditEntry& adopt = resp.entries(7);
  EXPECT_EQ(adopt.format_version(), 2u);
  EXPECT_EQ(adopt.action(), "adopt_unsigned");
  EXPECT_EQ(adopt.range_first(), 0u);
  EXPECT_EQ(adopt.range_last(), 6u);
  EXPECT_EQ(adopt.count(), 7u);
  EXPECT_EQ(adopt.replica_id(), "gw-test-1");
  for (int i = 7; i < resp.entries_size(); ++i) {
    EXPECT_EQ(resp.entries(i).format_version(), 2u) << resp.entries(i).line();
    EXPECT_EQ(resp.entries(i).replica_id(), "gw-test-1") << resp.entries(i).line();
  }
  // A filter matches v1 and v2 records alike.
  v1::AuditQueryRequest by_case = req;
  by_case.mutable_filter()->set_case_reference("BF-2026-004512");
  v1::AuditQueryResponse found;
  ASSERT_TRUE(Query(*AuditClient(h, "parties/audit-ico"), by_case, &found).ok());
  int v1_found = 0, v2_found = 0;
  for (const auto& e : found.entries()) (e.format_version() == 1 ? v1_found : v2_found)++;
  EXPECT_EQ(v1_found, 5);  // The fixture's records of that case.
  EXPECT_GE(v2_found, 1);  // The new submission (SampleReferral's case).
}

TEST(AuditService, AuditDiskFailureRefusesWorkAndAcknowledgesNothing) {
  auto fail = std::make_shared<std::atomic<bool>>(false);
  HarnessOptions o;
  o.hooks.audit_fault_injector = [fail](absl::string_view op) {
    return *fail && op == "sync" ? absl::UnavailableError("injected fdatasync failure: EIO") : absl::OkStatus();
  };
  GatewayHarness h("audit-eio", o);
  auto bf = h.Client("parties/uk-border-force");
  v1::Receipt r;
  ASSERT_TRUE(Submit(*bf, SampleReferral("EIO-1"), &r).ok());
  *fail = true;
  if (TestsOnPostgres()) CutOffDatabase(h.store_dsn(), true);  // The database is gone.
  v1::Receipt none;
  grpc::Status s = Submit(*bf, SampleReferral("EIO-2"), &none);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ReasonOf(s), "AUDIT_UNAVAILABLE");
  EXPECT_TRUE(none.message_id().empty());
  // Later work is refused up front: with the file log even with the disk back (its failure is sticky); on
  // PostgreSQL while the database is gone.
  *fail = false;
  s = Submit(*bf, SampleReferral("EIO-3"), &none);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  grpc::ClientContext ctx;
  v1::TrackRequest tr;
  tr.set_message_id("EIO-2");
  v1::TrackResponse track;
  EXPECT_EQ(bf->Track(&ctx, tr, &track).error_code(), grpc::StatusCode::UNAVAILABLE);
  if (TestsOnPostgres()) {
    // The database back: the gateway resumes by itself, without a restart; what was refused was not kept.
    CutOffDatabase(h.store_dsn(), false);
    EXPECT_TRUE(WaitUntil([&] { return Submit(*bf, SampleReferral("EIO-4"), &r).ok(); }, std::chrono::seconds(20),
                          std::chrono::milliseconds(100)));
    EXPECT_EQ(h.CountAudit({"\"action\":\"submit\"", "EIO-2"}), 0);
    EXPECT_EQ(h.CountAudit({"\"action\":\"submit\"", "EIO-3"}), 0);
  }
}

// Invalid UTF-8 cannot reach the gateway in a proto3 string (protobuf refuses
// to parse it); audit_log_test writes it to the log directly.
TEST(AuditService, HostileStringsLeaveTheLogVerifiableAndReadable) {
  const std::vector<std::string> hostile = {
      "x\n{\"index\":0,\"action\":\"forged\"}",
      "tab\tcr\rnul" + std::string(1, '\0') + "bell\x07",
      "line\xe2\x80\xa8separator",
      "\"quoted\\\" }",
      "=HYPERLINK(\"http://evil\")",
  };
  GatewayHarness h("audit-injection");
  auto bf = h.Client("parties/uk-border-force");
  int n = 0;
  for (const auto& s : hostile) {
    v1::Envelope e = SampleReferral("INJ-" + std::to_string(n++));
    e.set_originating_officer(s);
    e.mutable_justification()->set_purpose(s);
    e.set_case_reference(s);
    v1::Receipt r;
    Submit(*bf, e, &r).error_code();  // Accepted or refused: either way recorded.
    v1::Envelope bad_id = SampleReferral(s);
    Submit(*bf, bad_id, &r).error_code();
    grpc::ClientContext ctx;
    v1::AcknowledgeRequest ack;
    ack.set_sender("uk/border-force");
    ack.set_message_id(s);
    ack.set_officer(s);
    ack.set_decision(v1::REJECT);
    ack.set_reason(s);
    v1::AcknowledgeResponse ar;
    h.Client("parties/eu-europol")->Acknowledge(&ctx, ack, &ar).error_code();
  }
  h.Stop();
  std::vector<std::string> lines = h.AuditLines();
  ASSERT_GE(lines.size(), hostile.size() * 3);
  for (const auto& line : lines) {
    EXPECT_TRUE(CheckLine(line).ok()) << line;
    EXPECT_TRUE(ParseLine(line).ok()) << line;
    for (unsigned char c : line) ASSERT_GE(c, 0x20) << line;
  }
  VerifyOptions vo;
  vo.log_path = h.audit_path();
  if (TestsOnPostgres()) {  // The log as stored in the database, as the file log's files.
    vo.log_path = h.dir() + "/exported.log";
    WriteAuditFilesFrom(h.store_dsn(), vo.log_path);
  }
  vo.public_key_path = PublicKey();
  auto report = VerifyLog(vo);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->problem.has_value()) << report->problem->message;
  EXPECT_EQ(report->records, lines.size());
  // The forged text is kept as data inside one record, never as a record of its own.
  for (const auto& line : lines) EXPECT_EQ(line.find("\"action\":\"forged\""), std::string::npos) << line;
}

}  // namespace
}  // namespace portcullis::testing
