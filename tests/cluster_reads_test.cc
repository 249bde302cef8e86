// Replicas on one PostgreSQL database answer reads the same (issue 15, item 1;
// docs/cluster.md): three real gateways (real mTLS, the dev PKI) on one
// database of a real throw-away cluster. Whichever replica accepted a message,
// Track, ListCase and the Audit service (records, inclusion and consistency
// proofs) give every caller the same answer from every replica, and a
// resubmission at another replica gets the original receipt back.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "portcullis/v1/audit.grpc.pb.h"
#include "portcullis/v1/exchange.grpc.pb.h"
#include "testkit/sample_envelopes.h"
#include "tests/support/harness.h"
#include "tests/support/pg_cluster.h"

namespace portcullis::testing {
namespace {

constexpr int kReplicas = 3;
constexpr int kMessages = 12;
const char* const kSender = "parties/uk-border-force";
const char* const kAuditor = "parties/audit-ico";

std::string CaseOf(int k) { return "BF-2026-CL-" + std::to_string(k % 3); }

// Every call of a test through `h`, as `stem`; answers are compared as bytes.
template <typename Call>
std::string Answer(const char* what, Call call) {
  std::string bytes;
  grpc::Status s = call(&bytes);
  EXPECT_TRUE(s.ok()) << what << ": " << s.error_message() << " " << ReasonOf(s);
  return bytes;
}

class ClusterReads : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = PgCluster::Start();
    ASSERT_TRUE(pg.ok()) << "PostgreSQL did not start: " << pg.status();
    pg_ = *std::move(pg);
    auto dsn = pg_->CreateDatabase("cluster_reads");
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    for (int i = 0; i < kReplicas; ++i) {
      HarnessOptions o;
      o.store_dsn = *dsn;  // One database; eu/europol receives by pull, so deliveries stay ACCEPTED.
      o.replica_id = "r" + std::to_string(i + 1);
      replicas_.push_back(std::make_unique<GatewayHarness>("cluster-reads-" + o.replica_id, o));
    }
  }

  std::string Track(int replica, const std::string& id, const std::string& stem) {
    return Answer("Track", [&](std::string* out) {
      v1::TrackRequest req;
      req.set_sender("uk/border-force");
      req.set_message_id(id);
      v1::TrackResponse resp;
      grpc::Status s = replicas_[replica]->Client(stem)->Track(CallContext().get(), req, &resp);
      *out = resp.SerializeAsString();
      return s;
    });
  }

  std::string ListCase(int replica, const std::string& case_reference, const std::string& stem) {
    return Answer("ListCase", [&](std::string* out) {
      v1::ListCaseRequest req;
      req.set_case_reference(case_reference);
      req.set_officer("BF-LO-4471");
      req.set_justification("cluster reads test");
      v1::ListCaseResponse resp;
      grpc::Status s = replicas_[replica]->Client(stem)->ListCase(CallContext().get(), req, &resp);
      *out = resp.SerializeAsString();
      return s;
    });
  }

  std::unique_ptr<v1::Audit::Stub> Auditor(int replica) {
    return v1::Audit::NewStub(replicas_[replica]->Channel(kAuditor));
  }

  std::unique_ptr<PgCluster> pg_;
  std::vector<std::unique_ptr<GatewayHarness>> replicas_;
};

TEST_F(ClusterReads, EveryReplicaAnswersTrackListCaseAndTheAuditServiceTheSame) {
  std::vector<v1::Receipt> receipts(kMessages);
  std::vector<v1::Envelope> sent;
  for (int k = 0; k < kMessages; ++k) {
    v1::Envelope e = SampleReferral("CL-READ-" + std::to_string(k));
    e.set_case_reference(CaseOf(k));
    sent.push_back(e);
    grpc::Status s = Submit(*replicas_[k % kReplicas]->Client(kSender), e, &receipts[k]);
    ASSERT_TRUE(s.ok()) << e.message_id() << ": " << s.error_message() << " " << ReasonOf(s);
  }

  // A resubmission at another replica: the original receipt, marked duplicate.
  for (int k = 0; k < kMessages; k += 5) {
    v1::Receipt again;
    grpc::Status s = Submit(*replicas_[(k + 1) % kReplicas]->Client(kSender), sent[k], &again);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(again.duplicate());
    again.set_duplicate(false);
    EXPECT_EQ(again.SerializeAsString(), receipts[k].SerializeAsString()) << "receipt of CL-READ-" << k;
  }

  // Track and ListCase, as the sender and as the recipient, from every replica.
  for (int k = 0; k < kMessages; ++k) {
    const std::string id = "CL-READ-" + std::to_string(k);
    for (const std::string stem : {kSender, "parties/eu-europol"}) {
      const std::string first = Track(0, id, stem);
      EXPECT_FALSE(first.empty());
      for (int r = 1; r < kReplicas; ++r) EXPECT_EQ(Track(r, id, stem), first) << id << " as " << stem << " at r" << r + 1;
    }
  }
  for (int c = 0; c < 3; ++c) {
    for (const std::string stem : {kSender, "parties/eu-europol"}) {
      const std::string first = ListCase(0, CaseOf(c), stem);
      v1::ListCaseResponse parsed;
      ASSERT_TRUE(parsed.ParseFromString(first));
      EXPECT_EQ(parsed.messages_size(), kMessages / 3) << CaseOf(c);
      for (int r = 1; r < kReplicas; ++r) EXPECT_EQ(ListCase(r, CaseOf(c), stem), first) << CaseOf(c) << " at r" << r + 1;
    }
  }

  // The Audit service: the acceptance records, each stamped with the replica
  // that accepted it, the same from every replica.
  std::vector<std::string> submits;
  for (int r = 0; r < kReplicas; ++r) {
    v1::AuditQueryRequest q;
    q.set_reason("cluster reads test");
    q.mutable_filter()->set_action("submit");
    q.mutable_filter()->set_outcome("accepted");
    v1::AuditQueryResponse resp;
    grpc::Status s = Auditor(r)->Query(CallContext().get(), q, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message() << " " << ReasonOf(s);
    ASSERT_EQ(resp.entries_size(), kMessages);
    std::string entries;
    for (int k = 0; k < kMessages; ++k) {
      const v1::AuditEntry& entry = resp.entries(k);
      EXPECT_EQ(entry.index(), receipts[k].audit_index());
      EXPECT_EQ(entry.replica_id(), "r" + std::to_string(k % kReplicas + 1)) << entry.line();
      entries += entry.SerializeAsString();
    }
    submits.push_back(entries);
  }
  EXPECT_EQ(submits[1], submits[0]);
  EXPECT_EQ(submits[2], submits[0]);

  // Inclusion of the first receipt's record: the first replica signs a
  // checkpoint covering it; the others prove it against that same tree.
  v1::InclusionProofRequest pr;
  pr.set_index(receipts[0].audit_index());
  v1::InclusionProof first;
  grpc::Status s = Auditor(0)->GetInclusionProof(CallContext().get(), pr, &first);
  ASSERT_TRUE(s.ok()) << s.error_message() << " " << ReasonOf(s);
  ASSERT_GT(first.tree_size(), receipts[kMessages - 1].audit_index());
  for (int r = 1; r < kReplicas; ++r) {
    pr.set_tree_size(first.tree_size());
    v1::InclusionProof other;
    s = Auditor(r)->GetInclusionProof(CallContext().get(), pr, &other);
    ASSERT_TRUE(s.ok()) << s.error_message() << " " << ReasonOf(s);
    EXPECT_EQ(other.leaf_line(), first.leaf_line());
    EXPECT_EQ(std::vector<std::string>(other.path().begin(), other.path().end()),
              std::vector<std::string>(first.path().begin(), first.path().end()))
        << "r" << r + 1;
  }
  // Consistency of the first record's tree with that signed tree, asked of
  // each replica: one answer.
  std::string consistency;
  for (int r = 0; r < kReplicas; ++r) {
    v1::ConsistencyProofRequest cr;
    cr.set_old_size(receipts[0].audit_index() + 1);
    cr.set_new_size(first.tree_size());
    v1::ConsistencyProof proof;
    s = Auditor(r)->GetConsistencyProof(CallContext().get(), cr, &proof);
    ASSERT_TRUE(s.ok()) << s.error_message() << " " << ReasonOf(s);
    EXPECT_FALSE(proof.path().empty());
    if (r == 0) consistency = proof.SerializeAsString();
    EXPECT_EQ(proof.SerializeAsString(), consistency) << "r" << r + 1;
  }
}

}  // namespace
}  // namespace portcullis::testing
