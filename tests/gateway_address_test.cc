// Gateway address lists (adapters/common/gateway_address.h): what is a
// HOST:PORT, errors that name the bad entry, the one round-robin target a
// list becomes (literals as given, names resolved, one address family), and
// the party config's `gateway` taking a list.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "adapters/common/gateway_address.h"
#include "adapters/common/party_config.h"
#include "tests/support/files.h"

namespace portcullis::adapters {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::string MessageOf(const absl::Status& s) { return std::string(s.message()); }

TEST(GatewayAddressTest, AcceptsNamesIpv4AndBracketedIpv6) {
  for (const char* ok : {"127.0.0.1:8443", "gw-1.exchange.gov.uk:443", "localhost:1", "[::1]:8443", "[fe80::1]:65535"}) {
    EXPECT_TRUE(CheckGatewayAddress(ok).ok()) << ok << ": " << CheckGatewayAddress(ok);
  }
}

TEST(GatewayAddressTest, RefusesWhatIsNotHostPortNamingIt) {
  EXPECT_THAT(MessageOf(CheckGatewayAddress("gw1")), HasSubstr("\"gw1\" is not HOST:PORT (no port)"));
  EXPECT_THAT(MessageOf(CheckGatewayAddress("gw1:")), HasSubstr("\"gw1:\" is not HOST:PORT (no port)"));
  EXPECT_THAT(MessageOf(CheckGatewayAddress(":8443")), HasSubstr("\":8443\" is not HOST:PORT (no host)"));
  EXPECT_THAT(MessageOf(CheckGatewayAddress("gw1:0")), HasSubstr("\"gw1:0\" has a bad port"));
  EXPECT_THAT(MessageOf(CheckGatewayAddress("gw1:65536")), HasSubstr("has a bad port"));
  EXPECT_THAT(MessageOf(CheckGatewayAddress("gw1:84x")), HasSubstr("has a bad port"));
  EXPECT_THAT(MessageOf(CheckGatewayAddress("::1:8443")), HasSubstr("an IPv6 literal goes in brackets"));
  EXPECT_THAT(MessageOf(CheckGatewayAddress("[::g]:8443")), HasSubstr("has a bad IPv6 literal"));
  EXPECT_THAT(MessageOf(CheckGatewayAddress("dns:///gw:8443")), HasSubstr("is not HOST:PORT"));
  EXPECT_THAT(MessageOf(CheckGatewayAddress("gw 1:8443")), HasSubstr("is not HOST:PORT"));
  EXPECT_EQ(CheckGatewayAddress("").code(), absl::StatusCode::kInvalidArgument);
}

TEST(GatewayAddressTest, SplitsAListAndNamesTheBadEntry) {
  auto list = ParseGatewayList("127.0.0.1:7001, 127.0.0.1:7002 ,gw3:7003");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(*list, ElementsAre("127.0.0.1:7001", "127.0.0.1:7002", "gw3:7003"));
  auto bad = ParseGatewayList("127.0.0.1:7001,gw2,127.0.0.1:7003");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(MessageOf(bad.status()), HasSubstr("\"gw2\" is not HOST:PORT"));
  EXPECT_THAT(MessageOf(ParseGatewayList("127.0.0.1:7001,,127.0.0.1:7003").status()), HasSubstr("an empty entry"));
  EXPECT_THAT(MessageOf(ParseGatewayList("127.0.0.1:7001,").status()), HasSubstr("an empty entry"));
}

TEST(GatewayAddressTest, ResolvesAListIntoOneTargetOfOneFamily) {
  auto v4 = ResolvedTarget({"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7001"});
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(*v4, "ipv4:127.0.0.1:7001,127.0.0.1:7002");  // Duplicates dropped.
  auto v6 = ResolvedTarget({"[::1]:7001", "[::1]:7002"});
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(*v6, "ipv6:[::1]:7001,[::1]:7002");
  // A name with an IPv4 address (localhost) alongside IPv4 literals: IPv4.
  auto named = ResolvedTarget({"localhost:7001", "127.0.0.1:7002"});
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_THAT(*named, HasSubstr("ipv4:127.0.0.1:7001,"));
  EXPECT_THAT(*named, HasSubstr("127.0.0.1:7002"));
  auto mixed = ResolvedTarget({"127.0.0.1:7001", "[::1]:7002"});
  EXPECT_EQ(mixed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(MessageOf(mixed.status()), HasSubstr("\"127.0.0.1:7001\" (IPv4 only) and \"[::1]:7002\" (IPv6 only)"));
}

TEST(GatewayAddressTest, ANameThatDoesNotResolveIsSkippedWithAWarningNamingIt) {
  // A replica whose DNS entry was removed, in any position: the others are
  // dialled, and stderr names the one skipped.
  ::testing::internal::CaptureStderr();
  auto some = ResolvedTarget({"no-such-replica.invalid:7001", "127.0.0.1:7002", "gone.invalid:7003", "localhost:7004"});
  const std::string warnings = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_THAT(*some, HasSubstr("ipv4:127.0.0.1:7002,127.0.0.1:7004"));
  EXPECT_THAT(*some, Not(HasSubstr("7001")));
  EXPECT_THAT(*some, Not(HasSubstr("7003")));
  EXPECT_THAT(warnings, HasSubstr("warning: cannot resolve gateway address \"no-such-replica.invalid:7001\""));
  EXPECT_THAT(warnings, HasSubstr("warning: cannot resolve gateway address \"gone.invalid:7003\""));
  EXPECT_THAT(warnings, HasSubstr("skipped"));
  EXPECT_THAT(warnings, Not(HasSubstr("7002")));
  // The IPv4-only/IPv6-only check looks only at what resolved.
  ::testing::internal::CaptureStderr();
  auto v6 = ResolvedTarget({"[::1]:7001", "gone.invalid:7002"});
  ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(*v6, "ipv6:[::1]:7001");
  // None resolves: UNAVAILABLE naming each.
  ::testing::internal::CaptureStderr();
  auto none = ResolvedTarget({"no-such-replica.invalid:7001", "gone.invalid:7002"});
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(MessageOf(none.status()), HasSubstr("no gateway address resolves"));
  EXPECT_THAT(MessageOf(none.status()), HasSubstr("\"no-such-replica.invalid:7001\""));
  EXPECT_THAT(MessageOf(none.status()), HasSubstr("\"gone.invalid:7002\""));
}

std::string WriteConfig(const std::string& gateway) {
  const std::string path = testing::MakeTempDir("gateway-address-config") + "/party.yaml";
  std::ofstream(path) << "party: uk/nca\nformat: nca\ngateway: " << gateway
                      << "\ntls:\n  pki: /nonexistent\n  stem: uk-nca\ninbox: in\n";
  return path;
}

TEST(GatewayAddressTest, PartyConfigTakesSeveralReplicas) {
  auto ok = LoadPartyConfig(WriteConfig("\"127.0.0.1:7001,127.0.0.1:7002\""));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->gateway, "127.0.0.1:7001,127.0.0.1:7002");
  auto bad = LoadPartyConfig(WriteConfig("\"127.0.0.1:7001,gw2\""));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(MessageOf(bad.status()), HasSubstr("gateway: must be HOST:PORT"));
  EXPECT_THAT(MessageOf(bad.status()), HasSubstr("\"gw2\" is not HOST:PORT"));
}

}  // namespace
}  // namespace portcullis::adapters
