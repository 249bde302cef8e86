// portcullis-admin stats as a table (tools/admin/stats_output.h, docs/tools.md):
// the lease holder per destination, the answering replica, the replicas with
// their heartbeat age; on one gateway without a replica id, no replica lines.
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tools/admin/stats_output.h"

namespace portcullis::admin_tool {
namespace {

v1::DeliveryStats Sample() {
  v1::DeliveryStats s;
  s.mutable_taken_at()->set_seconds(1767225600);  // 2026-01-01T00:00:00Z
  v1::DestinationStats* e = s.add_destinations();
  e->set_destination("eu/europol");
  e->set_mode("push");
  e->set_backlog_messages(7);
  e->set_breaker("closed");
  e->set_lease_holder("replica-b");
  v1::DestinationStats* b = s.add_destinations();
  b->set_destination("uk/bsc");
  b->set_mode("pull");
  return s;
}

TEST(AdminStatsOutput, NamesTheReplicaTheLeaseHoldersAndTheReplicas) {
  v1::DeliveryStats s = Sample();
  s.set_replica_id("replica-a");
  v1::ReplicaStatus* a = s.add_replicas();
  a->set_replica_id("replica-a");
  a->set_seconds_since_heartbeat(0.3);
  a->set_info("portcullis 0.15 127.0.0.1:7443");
  v1::ReplicaStatus* b = s.add_replicas();
  b->set_replica_id("replica-b");
  b->set_seconds_since_heartbeat(42);
  b->set_info("bad\x1b[2Jinfo");
  std::ostringstream out;
  PrintStats(out, s);
  const std::string text = out.str();
  EXPECT_NE(text.find("LEASE_HOLDER"), std::string::npos) << text;
  const size_t europol = text.find("eu/europol");
  ASSERT_NE(europol, std::string::npos) << text;
  EXPECT_EQ(text.substr(text.find('\n', europol) - 10, 10), " replica-b") << "its row ends with its holder:\n" << text;
  const size_t bsc = text.find("uk/bsc");
  ASSERT_NE(bsc, std::string::npos) << text;
  EXPECT_EQ(text.substr(text.find('\n', bsc) - 2, 2), " -") << "no holder: -\n" << text;
  EXPECT_NE(text.find("counters since the gateway started; backlog, in flight and DL_* (dead letters in the store) "
                      "now, at 2026-01-01T00:00:00Z\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("answered by replica replica-a: IN_FLIGHT, BREAKER and the counters are this replica's"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("REPLICA    HEARTBEAT  INFO\n"), std::string::npos) << text;
  EXPECT_NE(text.find("replica-a  0.3s ago   portcullis 0.15 127.0.0.1:7443\n"), std::string::npos) << text;
  EXPECT_NE(text.find("replica-b  42.0s ago"), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << "a replica's info is shown escaped";
}

TEST(AdminStatsOutput, OneGatewayWithoutAReplicaIdHasNoReplicaLines) {
  std::ostringstream out;
  PrintStats(out, Sample());
  const std::string text = out.str();
  EXPECT_EQ(text.find("answered by replica"), std::string::npos) << text;
  EXPECT_EQ(text.find("REPLICA "), std::string::npos) << text;
  EXPECT_NE(text.find("eu/europol"), std::string::npos) << text;
}

}  // namespace
}  // namespace portcullis::admin_tool
