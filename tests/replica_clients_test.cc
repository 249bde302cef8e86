// Clients reach any replica (issue 15 item 3, docs/cluster.md "Clients reach
// any replica"): three in-process gateways (real mTLS, dev PKI) on one real
// PostgreSQL database, each with its own cluster replica id, and a client that
// dials all three addresses as one round-robin channel (adapters::DialGateway
// with "A,B,C", what every tool's repeated --gateway becomes):
// - its calls spread over all three replicas (the audit records' replica_id);
// - it keeps working when one replica is stopped, on the other two only;
// - every connection passes the same identity check as a single address: a
//   listed server with another identity is never used, and a list of only
//   such servers fails every call with IDENTITY_MISMATCH.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/common/gateway_client.h"
#include "adapters/common/partner_endpoint.h"
#include "adapters/common/party_tls.h"
#include "tests/support/harness.h"
#include "tests/support/pg_cluster.h"

namespace portcullis::testing {
namespace {

constexpr char kSender[] = "uk-border-force";

class ReplicaClientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = PgCluster::Start();
    ASSERT_TRUE(pg.ok()) << "PostgreSQL could not be started: " << pg.status();
    cluster_ = *std::move(pg);
    auto dsn = cluster_->CreateDatabase("replicas");
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    dsn_ = *dsn;
    for (int i = 1; i <= 3; ++i) {
      HarnessOptions o;
      o.store_dsn = dsn_;
      o.replica_id = absl::StrCat("replica-", i);
      replicas_.push_back(std::make_unique<GatewayHarness>(absl::StrCat("replica-clients-", i), o));
    }
  }

  std::string AllAddresses() const {
    std::vector<std::string> a;
    for (const auto& r : replicas_) a.push_back(r->address());
    return absl::StrJoin(a, ",");
  }

  // Submits a fresh referral with message id `id`; the call's status.
  grpc::Status SubmitOne(v1::Exchange::Stub& stub, const std::string& id) {
    v1::Receipt receipt;
    return Submit(stub, SampleReferral(id), &receipt);
  }

  // The replica that accepted each message id (its "submit" audit record).
  std::map<std::string, std::string> AcceptedBy() const {
    std::map<std::string, std::string> out;
    for (const AuditRecord& r : replicas_.front()->AuditRecords("submit")) {
      if (r.outcome == "accepted") out[r.message_id] = r.replica_id;
    }
    return out;
  }

  std::unique_ptr<PgCluster> cluster_;
  std::string dsn_;
  std::vector<std::unique_ptr<GatewayHarness>> replicas_;
};

TEST_F(ReplicaClientsTest, OneChannelSpreadsCallsOverEveryReplicaAndSkipsAStoppedOne) {
  auto channel = adapters::DialGateway(AllAddresses(), adapters::PartyTlsFromPki(PkiDir(), kSender));
  ASSERT_TRUE(channel.ok()) << channel.status();
  auto stub = v1::Exchange::NewStub(*channel);

  // Until every replica has accepted one call (the channel connects to each
  // in the background; round robin uses those that are ready).
  int n = 0;
  std::set<std::string> seen;
  ASSERT_TRUE(WaitUntil([&] {
    const std::string id = absl::StrCat("RR-WARM-", n++);
    grpc::Status s = SubmitOne(*stub, id);
    EXPECT_TRUE(s.ok()) << s.error_message();
    seen.clear();
    for (const auto& [message, replica] : AcceptedBy()) seen.insert(replica);
    return seen.size() == 3;
  })) << "calls reached only " << absl::StrJoin(seen, ", ");

  // With all three ready, calls take turns: 30 calls, about 10 each.
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(SubmitOne(*stub, absl::StrCat("RR-", i)).ok());
  std::map<std::string, int> per_replica;
  for (const auto& [message, replica] : AcceptedBy()) {
    if (message.rfind("RR-WARM-", 0) != 0) ++per_replica[replica];
  }
  ASSERT_EQ(per_replica.size(), 3u);
  for (const auto& [replica, count] : per_replica) {
    EXPECT_GE(count, 5) << replica << " took " << count << " of 30 calls: not round robin";
  }

  // Replica 2 goes away: after the channel notices (the first call that
  // succeeds), every call succeeds, on replicas 1 and 3 only.
  replicas_[1]->Stop();
  int probe = 0;
  ASSERT_TRUE(WaitUntil([&] { return SubmitOne(*stub, absl::StrCat("AFTER-PROBE-", probe++)).ok(); }));
  for (int i = 0; i < 30; ++i) {
    grpc::Status s = SubmitOne(*stub, absl::StrCat("AFTER-", i));
    EXPECT_TRUE(s.ok()) << "call " << i << " after one replica stopped: " << s.error_message();
  }
  std::map<std::string, int> after;
  for (const auto& [message, replica] : AcceptedBy()) {
    if (message.rfind("AFTER-", 0) == 0 && message.rfind("AFTER-PROBE-", 0) != 0) ++after[replica];
  }
  EXPECT_EQ(after.count("replica-2"), 0u) << "a call reached the stopped replica";
  EXPECT_GE(after["replica-1"], 1);
  EXPECT_GE(after["replica-3"], 1);
  EXPECT_EQ(after["replica-1"] + after["replica-3"], 30);
}

TEST_F(ReplicaClientsTest, EveryConnectionIsCheckedForTheGatewaysIdentity) {
  // Europol's push endpoint: a real mTLS server whose certificate carries
  // Europol's identity, not the gateway's.
  adapters::PartnerEndpointOptions eo;
  eo.tls = adapters::PartyTlsFromPki(PkiDir(), "eu-europol");
  eo.inbox_dir = MakeTempDir("replica-clients-impostor");
  eo.listen_address = "127.0.0.1:0";
  auto impostor = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(impostor.ok()) << impostor.status();
  const std::string impostor_address = absl::StrCat("127.0.0.1:", (*impostor)->port());

  // The impostor between two replicas: every call lands on a replica.
  auto mixed = adapters::DialGateway(absl::StrCat(replicas_[0]->address(), ",", impostor_address, ",",
                                                  replicas_[2]->address()),
                                     adapters::PartyTlsFromPki(PkiDir(), kSender));
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  auto stub = v1::Exchange::NewStub(*mixed);
  for (int i = 0; i < 20; ++i) {
    grpc::Status s = SubmitOne(*stub, absl::StrCat("ID-", i));
    EXPECT_TRUE(s.ok()) << "call " << i << ": " << s.error_message();
  }
  std::map<std::string, std::string> accepted = AcceptedBy();
  for (int i = 0; i < 20; ++i) {
    const auto it = accepted.find(absl::StrCat("ID-", i));
    ASSERT_NE(it, accepted.end()) << "ID-" << i << " not accepted";
    EXPECT_TRUE(it->second == "replica-1" || it->second == "replica-3") << it->second;
  }
  EXPECT_EQ((*impostor)->stored_count(), 0);

  // Only servers with the wrong identity: no call gets through.
  auto wrong = adapters::DialGateway(absl::StrCat(impostor_address, ",", impostor_address),
                                     adapters::PartyTlsFromPki(PkiDir(), kSender));
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  grpc::Status s = SubmitOne(*v1::Exchange::NewStub(*wrong), "ID-WRONG");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(s.error_message().find("IDENTITY_MISMATCH"), std::string::npos) << s.error_message();
  // And the replicas themselves, expected under another identity, are refused too.
  auto strict = adapters::DialGateway(AllAddresses(), adapters::PartyTlsFromPki(PkiDir(), kSender),
                                      "spiffe://exchange.gov.uk/someone-else");
  ASSERT_TRUE(strict.ok()) << strict.status();
  s = SubmitOne(*v1::Exchange::NewStub(*strict), "ID-STRICT");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(AcceptedBy().count("ID-STRICT"), 0u);
}

TEST_F(ReplicaClientsTest, ABadAddressInTheListIsNamed) {
  const adapters::PartyTls tls = adapters::PartyTlsFromPki(PkiDir(), kSender);
  auto bad = adapters::DialGateway(absl::StrCat(replicas_[0]->address(), ",gw2"), tls);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("\"gw2\""), absl::string_view::npos) << bad.status();
  auto unknown = adapters::DialGateway(absl::StrCat(replicas_[0]->address(), ",no-such-replica.invalid:8443"), tls);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(unknown.status().message().find("no-such-replica.invalid:8443"), absl::string_view::npos)
      << unknown.status();
}

}  // namespace
}  // namespace portcullis::testing
