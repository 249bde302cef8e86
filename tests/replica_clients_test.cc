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
#include <grpc/grpc.h>
#include <grpc/support/alloc.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/common/gateway_address.h"
#include "adapters/common/gateway_client.h"
#include "adapters/common/partner_endpoint.h"
#include "adapters/common/party_tls.h"
#include "mtls/credentials.h"
#include "tests/support/harness.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/poll.h"
#include "tests/support/test_storage.h"

namespace portcullis::testing {
namespace {

constexpr char kSender[] = "uk-border-force";

// grpc.health.v1.Health/Check on `channel` (service ""): "\x08\x01" is
// SERVING, "\x08\x02" NOT_SERVING.
std::string HealthOf(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::ByteBuffer request(nullptr, 0), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(s); });
  grpc::Status s = done.get_future().get();
  if (!s.ok()) return "error " + std::to_string(s.error_code());
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const auto& slice : slices) bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}
const std::string kNotServing("\x08\x02", 2);

nlohmann::json Channelz(char* text) {
  nlohmann::json j = nlohmann::json::parse(text == nullptr ? "{}" : text, nullptr, false);
  gpr_free(text);
  return j;
}
int64_t Count(const nlohmann::json& data, const char* key) {  // channelz int64s are JSON strings
  if (!data.contains(key)) return 0;
  return data[key].is_string() ? std::stoll(data[key].get<std::string>()) : data[key].get<int64_t>();
}

// Call attempts that reached the replica at 127.0.0.1:`port` and ended,
// through the client channels whose target is `target` (gRPC's channelz: the
// subchannel's calls succeeded + failed; the health watch each connection
// holds open does not end while the connection lives, so it is not counted).
int64_t AttemptsOn(const std::string& target, int port) {
  int64_t attempts = 0;
  const std::string suffix = absl::StrCat(":", port);
  intptr_t start = 0;
  for (bool end = false; !end;) {
    nlohmann::json top = Channelz(grpc_channelz_get_top_channels(start));
    end = !top.contains("end") || top["end"].get<bool>() || !top.contains("channel");
    if (!top.contains("channel")) break;
    for (const auto& channel : top["channel"]) {
      start = std::max<intptr_t>(start, std::stoll(channel["ref"]["channelId"].get<std::string>()) + 1);
      if (!channel.contains("data") || channel["data"].value("target", "") != target ||
          !channel.contains("subchannelRef")) {
        continue;
      }
      for (const auto& ref : channel["subchannelRef"]) {
        nlohmann::json sub =
            Channelz(grpc_channelz_get_subchannel(std::stoll(ref["subchannelId"].get<std::string>())));
        if (!sub.contains("subchannel") || !sub["subchannel"].contains("data")) continue;  // Gone meanwhile.
        const nlohmann::json& data = sub["subchannel"]["data"];
        const std::string sub_target = data.value("target", "");
        if (sub_target.size() < suffix.size() ||
            sub_target.compare(sub_target.size() - suffix.size(), suffix.size(), suffix) != 0) {
          continue;
        }
        attempts += Count(data, "callsSucceeded") + Count(data, "callsFailed");
      }
    }
  }
  return attempts;
}

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

TEST_F(ReplicaClientsTest, ABadAddressInTheListIsNamedAndOneThatDoesNotResolveIsSkipped) {
  const adapters::PartyTls tls = adapters::PartyTlsFromPki(PkiDir(), kSender);
  auto bad = adapters::DialGateway(absl::StrCat(replicas_[0]->address(), ",gw2"), tls);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("\"gw2\""), absl::string_view::npos) << bad.status();
  // A replica whose DNS entry was removed: the client starts, on the others.
  ::testing::internal::CaptureStderr();
  auto skipped = adapters::DialGateway(absl::StrCat("no-such-replica.invalid:8443,", replicas_[0]->address()), tls);
  const std::string warnings = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_NE(warnings.find("\"no-such-replica.invalid:8443\""), std::string::npos) << warnings;
  EXPECT_TRUE(SubmitOne(*v1::Exchange::NewStub(*skipped), "UNRESOLVED-SKIPPED").ok());
  EXPECT_EQ(AcceptedBy()["UNRESOLVED-SKIPPED"], "replica-1");
  // None resolves: the client cannot start, and says which.
  ::testing::internal::CaptureStderr();
  auto none = adapters::DialGateway("no-such-replica.invalid:8443,gone.invalid:8444", tls);
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(none.status().message().find("no-such-replica.invalid:8443"), absl::string_view::npos) << none.status();
  EXPECT_NE(none.status().message().find("gone.invalid:8444"), absl::string_view::npos) << none.status();
}

// Finding 3 of the review: a replica that runs but cannot serve (its database
// is gone: the gateway's gRPC health says NOT_SERVING) gets no call, not even
// one that a retry would then rescue; it gets calls again once it is back.
TEST_F(ReplicaClientsTest, AReplicaThatIsNotServingGetsNoCallUntilItIsServingAgain) {
  // The sick replica has a database of its own, so that it alone can lose it.
  auto sick_dsn = cluster_->CreateDatabase("sick");
  ASSERT_TRUE(sick_dsn.ok()) << sick_dsn.status();
  HarnessOptions o;
  o.store_dsn = *sick_dsn;
  o.replica_id = "replica-sick";
  GatewayHarness sick("replica-clients-sick", o);
  const std::string addresses = absl::StrCat(replicas_[0]->address(), ",", replicas_[1]->address(), ",", sick.address());
  auto channel = adapters::DialGateway(addresses, adapters::PartyTlsFromPki(PkiDir(), kSender));
  ASSERT_TRUE(channel.ok()) << channel.status();
  auto stub = v1::Exchange::NewStub(*channel);
  const std::string target = *adapters::ResolvedTarget(*adapters::ParseGatewayList(addresses));
  auto accepted_by_sick = [&sick](const std::string& prefix) {
    for (const AuditRecord& r : sick.AuditRecords("submit")) {
      if (r.outcome == "accepted" && r.message_id.rfind(prefix, 0) == 0) return true;
    }
    return false;
  };

  // While healthy it takes its turn.
  int n = 0;
  ASSERT_TRUE(WaitUntil([&] {
    EXPECT_TRUE(SubmitOne(*stub, absl::StrCat("WARM-", n++)).ok());
    return accepted_by_sick("WARM-");
  })) << "no call reached the third replica while it was healthy";
  ASSERT_GT(AttemptsOn(target, sick.port()), 0) << "channelz does not see the calls";

  // Its database goes away: its health turns NOT_SERVING within seconds.
  const std::string admin = cluster_->dsn("postgres");
  ExecIn(admin, "ALTER DATABASE sick ALLOW_CONNECTIONS false");
  ExecIn(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'sick'");
  ASSERT_TRUE(WaitUntil([&] { return HealthOf(sick.Channel("parties/uk-nca")) == kNotServing; }))
      << "the replica without its database did not turn NOT_SERVING";
  // The channel hears of it on its health watch: three calls in a row that
  // do not reach it (round robin over three would reach it within three).
  int streak = 0;
  ASSERT_TRUE(WaitUntil([&] {
    const int64_t before = AttemptsOn(target, sick.port());
    const bool ok = SubmitOne(*stub, absl::StrCat("SETTLE-", n++)).ok();
    streak = ok && AttemptsOn(target, sick.port()) == before ? streak + 1 : 0;
    return streak >= 3;
  })) << "calls still reach the replica that is NOT_SERVING";

  // Every call succeeds at the first attempt, on the two healthy replicas.
  const int64_t before = AttemptsOn(target, sick.port());
  for (int i = 0; i < 30; ++i) {
    grpc::Status s = SubmitOne(*stub, absl::StrCat("SICK-", i));
    EXPECT_TRUE(s.ok()) << "call " << i << " while one replica is NOT_SERVING: " << s.error_message();
  }
  EXPECT_EQ(AttemptsOn(target, sick.port()), before) << "attempts reached the replica that is NOT_SERVING";
  std::map<std::string, int> per_replica;
  for (const auto& [message, replica] : AcceptedBy()) {
    if (message.rfind("SICK-", 0) == 0) ++per_replica[replica];
  }
  EXPECT_EQ(per_replica["replica-1"] + per_replica["replica-2"], 30);
  EXPECT_GE(per_replica["replica-1"], 1);
  EXPECT_GE(per_replica["replica-2"], 1);

  // A channel whose only replica is NOT_SERVING fails the call at once,
  // UNAVAILABLE from gRPC itself (the replica is never asked).
  auto only_sick = adapters::DialGateway(absl::StrCat(sick.address(), ",", sick.address()),
                                         adapters::PartyTlsFromPki(PkiDir(), kSender));
  ASSERT_TRUE(only_sick.ok()) << only_sick.status();
  grpc::Status alone = SubmitOne(*v1::Exchange::NewStub(*only_sick), "SICK-ALONE");
  EXPECT_EQ(alone.error_code(), grpc::StatusCode::UNAVAILABLE) << alone.error_message();
  EXPECT_NE(alone.error_message().find("unhealthy"), std::string::npos) << alone.error_message();

  // The database is back: the replica turns SERVING and takes calls again.
  ExecIn(admin, "ALTER DATABASE sick ALLOW_CONNECTIONS true");
  ASSERT_TRUE(WaitUntil(
      [&] {
        EXPECT_TRUE(SubmitOne(*stub, absl::StrCat("BACK-", n++)).ok());
        return accepted_by_sick("BACK-");
      },
      std::chrono::seconds(30)))
      << "no call reached the replica after its database came back";
}

// A server with the gateway's certificate whose health says SERVING but that
// answers every Submit UNAVAILABLE (STORE_UNAVAILABLE): a replica that has
// just lost its database, before its health check noticed.
class UnavailableExchange : public v1::Exchange::Service {
 public:
  grpc::Status Submit(grpc::ServerContext*, const v1::SubmitRequest*, v1::Receipt*) override {
    ++calls;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "STORE_UNAVAILABLE: injected");
  }
  std::atomic<int> calls{0};
};

TEST_F(ReplicaClientsTest, ACallAnsweredUnavailableIsTriedAgainOnAnotherReplica) {
  UnavailableExchange service;
  mtls::ServerTlsOptions so;
  so.files = adapters::ToTlsFiles(adapters::PartyTlsFromPki(PkiDir(), "gateway/server"));
  so.identity_check = [](const std::vector<std::string>&) { return absl::OkStatus(); };
  auto creds = mtls::MakeServerCredentials(so);
  ASSERT_TRUE(creds.ok()) << creds.status();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", *creds, &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> failing = builder.BuildAndStart();
  ASSERT_TRUE(failing != nullptr && port > 0);

  auto channel = adapters::DialGateway(absl::StrCat("127.0.0.1:", port, ",", replicas_[0]->address()),
                                       adapters::PartyTlsFromPki(PkiDir(), kSender));
  ASSERT_TRUE(channel.ok()) << channel.status();
  auto stub = v1::Exchange::NewStub(*channel);
  // Until both are in the rotation (the failing one has been tried once).
  int n = 0;
  ASSERT_TRUE(WaitUntil([&] {
    grpc::Status s = SubmitOne(*stub, absl::StrCat("RETRY-WARM-", n++));
    EXPECT_TRUE(s.ok()) << s.error_message();
    return service.calls > 0;
  }));
  const int tried_before = service.calls;
  for (int i = 0; i < 20; ++i) {
    grpc::Status s = SubmitOne(*stub, absl::StrCat("RETRY-", i));
    EXPECT_TRUE(s.ok()) << "call " << i << ": " << s.error_message();
  }
  // Round robin sent about every other first attempt to the failing server;
  // each was tried again on the replica, which accepted all 20.
  EXPECT_GE(service.calls - tried_before, 5);
  std::map<std::string, std::string> accepted = AcceptedBy();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(accepted[absl::StrCat("RETRY-", i)], "replica-1") << i;
  failing->Shutdown();
}

}  // namespace
}  // namespace portcullis::testing
