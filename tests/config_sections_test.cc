// Config loader: the listener, limits, delivery, tls and audit sections.
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gateway/config/config.h"
#include "gateway/config/config_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/config_test_support.h"

namespace portcullis::config_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// ---------------------------------------------------------------------------
// Listener, limits, delivery tuning.

TEST(ConfigLoaderTest, ListenerAddressMustBeHostPort) {
  Workspace ws;
  for (const auto& [address, problem] : std::vector<std::pair<std::string, std::string>>{
           {"127.0.0.1", "expected 'host:port'"},
           {":8443", "missing host before ':port'"},
           {"127.0.0.1:https", "port must be a number"},
           {"127.0.0.1:70000", "port must be between 0 and 65535, got 70000"},
           {"::1:8443", "IPv6 hosts must be bracketed, e.g. '[::1]:8443'"},
       }) {
    std::string yaml = std::string(kHeader) + kParties;
    yaml.replace(yaml.find("127.0.0.1:8443"), 14, address);
    EXPECT_THAT(
        ErrorLines(Load(ws, yaml)),
        ElementsAre("test.yaml:2:12: listener.address: invalid address '" + address + "': " + problem));
  }
  std::string ipv6 = std::string(kHeader) + kParties;
  ipv6.replace(ipv6.find("127.0.0.1:8443"), 14, "[::1]:0");
  EXPECT_TRUE(Load(ws, ipv6).ok());
}

TEST(ConfigLoaderTest, LimitsAreBounded) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + R"(limits:
  max_receive_message_bytes: 100000000
  max_metadata_bytes: 2000000
  max_threads: 0
  keepalive_max_ping_strikes: -1
  handshake_timeout_ms: 99999999999999999999
)" + kParties;
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:13:30: limits.max_receive_message_bytes: must be between 1 and 67108864, "
                  "got 100000000",
                  "test.yaml:14:23: limits.max_metadata_bytes: must be between 1 and 1048576, got 2000000",
                  "test.yaml:15:16: limits.max_threads: must be between 1 and 4096, got 0",
                  "test.yaml:16:31: limits.keepalive_max_ping_strikes: must be between 0 and 1000, got -1",
                  "test.yaml:17:25: limits.handshake_timeout_ms: expected an integer, got "
                  "'99999999999999999999'"));
}

TEST(ConfigLoaderTest, ResourceQuotaMustHoldTheLargestMessage) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + R"(limits:
  max_receive_message_bytes: 4096
  resource_quota_bytes: 1024
)" + kParties;
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre("test.yaml:14:25: limits.resource_quota_bytes: must be at least "
                          "max_receive_message_bytes (4096), got 1024"));
}

TEST(ConfigLoaderTest, PartyMaxMessageBytesIsAtMostWhatSubmitCarries) {
  Workspace ws;
  std::string yaml = std::string(kHeader) + R"(limits:
  max_receive_message_bytes: 4096
)" + kParties;
  std::string ok = yaml;
  // 4096 bytes of SubmitRequest carry at most 4093 bytes of envelope.
  ok.replace(ok.find("delivery: {mode: pull}"), 22, "delivery: {mode: pull, max_message_bytes: 4093}");
  EXPECT_TRUE(Load(ws, ok).ok());
  yaml.replace(yaml.find("delivery: {mode: pull}"), 22, "delivery: {mode: pull, max_message_bytes: 4094}");
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre(HasSubstr("parties[0].delivery.max_message_bytes: must be between 1 and 4093, got 4094")));
}

TEST(ConfigLoaderTest, MaxSendMessageBytesIsNoLongerAKey) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + R"(limits:
  max_send_message_bytes: 8388608
)" + kParties;
  EXPECT_THAT(ErrorLines(Load(ws, yaml)), ElementsAre(HasSubstr("unknown key 'max_send_message_bytes'")));
}

TEST(ConfigLoaderTest, DeliveryTuningIsPositiveAndBackoffOrdered) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + R"(delivery:
  workers: 0
  initial_backoff_ms: 5000
  max_backoff_ms: 1000
  retries: 3
)" + kParties;
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:13:12: delivery.workers: must be between 1 and 256, got 0",
                  "test.yaml:15:19: delivery.max_backoff_ms: must be at least initial_backoff_ms (5000), "
                  "got 1000",
                  "test.yaml:16:3: delivery.retries: unknown key 'retries' (allowed: workers, "
                  "max_attempts, attempt_timeout_ms, initial_backoff_ms, max_backoff_ms, max_backlog_messages, "
                  "max_backlog_mib, breaker_failures, breaker_cooldown_ms, max_age_ms)"));
}

// ---------------------------------------------------------------------------
// TLS and audit paths.

TEST(ConfigLoaderTest, MissingTlsFileNamesTheResolvedPath) {
  Workspace ws;
  fs::remove(ws.dir / "pki/gateway/server.key");
  EXPECT_THAT(
      ErrorLines(Load(ws, std::string(kHeader) + kParties)),
      ElementsAre("test.yaml:5:15: tls.server_key: file not found: " + ws.Path("pki/gateway/server.key")));
}

TEST(ConfigLoaderTest, TlsFileAndDirectoryKindsAreChecked) {
  Workspace ws;
  fs::remove(ws.dir / "pki/ca/bundle.pem");
  fs::create_directories(ws.dir / "pki/ca/bundle.pem");
  fs::remove(ws.dir / "pki/crl");
  WriteFile(ws.dir / "pki/crl", "not a directory\n");
  EXPECT_THAT(ErrorLines(Load(ws, std::string(kHeader) + kParties)),
              ElementsAre("test.yaml:8:14: tls.ca_bundle: expected a file, found a directory: " +
                              ws.Path("pki/ca/bundle.pem"),
                          "test.yaml:9:12: tls.crl_dir: expected a directory: " + ws.Path("pki/crl")));
}

TEST(ConfigLoaderTest, UnreadableTlsFileIsAnError) {
  if (geteuid() == 0) GTEST_SKIP() << "root can read any file";
  Workspace ws;
  fs::permissions(ws.dir / "pki/gateway/client.key", fs::perms::none);
  EXPECT_THAT(ErrorLines(Load(ws, std::string(kHeader) + kParties)),
              ElementsAre("test.yaml:7:15: tls.client_key: file is not readable: " +
                          ws.Path("pki/gateway/client.key") + " (Permission denied)"));
}

TEST(ConfigLoaderTest, MissingTlsKeysAreEachReported) {
  Workspace ws;
  const std::string yaml = R"(listener: {address: "127.0.0.1:8443"}
tls:
  server_cert: pki/gateway/server.pem
  server_key: pki/gateway/server.key
audit: {path: state/audit.log, signing_key: pki/audit/signing.key}
)" + std::string(kParties);
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:3:3: tls.client_cert: is required", "test.yaml:3:3: tls.client_key: is required",
                  "test.yaml:3:3: tls.ca_bundle: is required", "test.yaml:3:3: tls.crl_dir: is required"));
}

TEST(ConfigLoaderTest, AuditParentDirectoryMustExist) {
  Workspace ws;
  std::string yaml = std::string(kHeader) + kParties;
  yaml.replace(yaml.find("state/audit.log"), 15, "nowhere/audit.log");
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:11:9: audit.path: parent directory does not exist: " + ws.Path("nowhere")));
}

// audit.replica_id: optional, stamped on every record; a restricted name.
TEST(ConfigLoaderTest, AuditReplicaIdIsOptionalAndChecked) {
  Workspace ws;
  std::string yaml = std::string(kHeader) + kParties;
  auto plain = Load(ws, yaml);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ((*plain)->audit.replica_id, "");
  std::string named = yaml;
  named.replace(named.find("path: state/audit.log}"), 22, "path: state/audit.log, replica_id: gw-london-1}");
  auto with_id = Load(ws, named);
  ASSERT_TRUE(with_id.ok()) << with_id.status();
  EXPECT_EQ((*with_id)->audit.replica_id, "gw-london-1");
  std::string bad = yaml;
  bad.replace(bad.find("path: state/audit.log}"), 22, "path: state/audit.log, replica_id: \"gw 1\\u001b\"}");
  EXPECT_THAT(ErrorLines(Load(ws, bad)),
              ElementsAre(::testing::HasSubstr("audit.replica_id: must be 1 to 64 characters of letters, digits")));
}

}  // namespace
}  // namespace portcullis::config_test
