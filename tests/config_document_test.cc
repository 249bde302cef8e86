// Config loader: problems of the YAML document itself (syntax, documents,
// size, unknown and duplicate keys, types), and every problem reported at once
// in file order.
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
// YAML-level problems.

TEST(ConfigLoaderTest, YamlSyntaxErrorReportsItsPosition) {
  Workspace ws;
  std::string yaml = std::string(kHeader) + kParties;
  yaml.replace(yaml.find("  server_key"), 2, "   ");  // Indented one column too far.
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre("test.yaml:5:14: (root): invalid YAML: illegal map value"));
}

TEST(ConfigLoaderTest, YamlSyntaxErrorInFlowListReportsItsPosition) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + "parties: [uk/nca\nroutes: []\n";
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre("test.yaml:13:7: (root): invalid YAML: end of sequence flow not found"));
}

TEST(ConfigLoaderTest, EmptyDocumentIsAnError) {
  Workspace ws;
  EXPECT_THAT(ErrorLines(Load(ws, "# nothing here\n")),
              ElementsAre("test.yaml:1:1: (root): the configuration is empty"));
}

TEST(ConfigLoaderTest, RootMustBeAMapping) {
  Workspace ws;
  EXPECT_THAT(ErrorLines(Load(ws, "- listener\n")),
              ElementsAre("test.yaml:1:1: (root): expected a mapping, got a list"));
}

TEST(ConfigLoaderTest, SeveralDocumentsAreAnError) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + kParties + "---\nlistener: {}\n";
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre(At(yaml, "---") +
                  ": (root): expected one YAML document, but another one starts here (remove the '---')"));
}

// yaml-cpp 0.7's LoadAll allocates without bound on these (jbeder/yaml-cpp#1040).
TEST(ConfigLoaderTest, StrayCommaIsASyntaxErrorNotAHang) {
  Workspace ws;
  EXPECT_THAT(ErrorLines(Load(ws, ",\n")),
              ElementsAre("test.yaml:1:1: (root): invalid YAML: unexpected ','"));
  EXPECT_THAT(ErrorLines(Load(ws, "\"listener\",\n")),
              ElementsAre("test.yaml:1:11: (root): invalid YAML: unexpected ','"));
}

TEST(ConfigLoaderTest, OversizedConfigIsRefused) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + kParties + "#" + std::string(4 * 1024 * 1024, 'x') + "\n";
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre(absl::StrCat("test.yaml:1:1: (root): the configuration is ", yaml.size(),
                                       " bytes; the limit is 4194304")));
}

TEST(ConfigLoaderTest, MissingRequiredSectionsAreEachReported) {
  Workspace ws;
  EXPECT_THAT(ErrorLines(Load(ws, "limits: {}\n")),
              ElementsAre("test.yaml:1:1: listener: is required", "test.yaml:1:1: tls: is required",
                          "test.yaml:1:1: audit: is required", "test.yaml:1:1: parties: is required"));
}

TEST(ConfigLoaderTest, UnknownKeysAreNamedWithTheAllowedOnes) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + R"(parties:
  - id: uk/nca
    name: National Crime Agency
    kind: uk_agency
    identity: spiffe://exchange.gov.uk/uk/nca
    clearence: SECRET
    delivery: {mode: pull}
rutes: []
)";
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:17:5: parties[0].clearence: unknown key 'clearence' (allowed: id, name, "
                  "kind, identity, clearance, delivery, officer_assertions, officer_keys_dir)",
                  "test.yaml:19:1: rutes: unknown key 'rutes' (allowed: listener, limits, tls, audit, "
                  "store, cluster, delivery, parties, routes)"));
}

TEST(ConfigLoaderTest, DuplicateKeyIsAnError) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + R"(parties:
  - id: uk/nca
    name: National Crime Agency
    name: NCA
    kind: uk_agency
    identity: spiffe://exchange.gov.uk/uk/nca
    delivery: {mode: pull}
)";
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre(At(yaml, "name: NCA") +
                          ": parties[0].name: duplicate key 'name' (first given at line 14)"));
}

TEST(ConfigLoaderTest, WrongTypesAreErrors) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + R"(limits:
  max_threads: many
  max_concurrent_streams: [1]
parties:
  - id: uk/nca
    name: {first: National}
    kind: uk_agency
    identity: spiffe://exchange.gov.uk/uk/nca
    delivery: pull
routes:
  name: everything
)";
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre(At(yaml, "many") + ": limits.max_threads: expected an integer, got 'many'",
                  At(yaml, "[1]") + ": limits.max_concurrent_streams: expected an integer, got a list",
                  At(yaml, "{first") + ": parties[0].name: expected a string, got a mapping",
                  At(yaml, "pull") + ": parties[0].delivery: expected a mapping, got a scalar",
                  At(yaml, "name: everything") + ": routes: expected a list, got a mapping"));
}

TEST(ConfigLoaderTest, EmptyValueIsReportedAtItsKey) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + R"(parties:
  - id: uk/nca
    name:
    kind: uk_agency
    identity: ""
    delivery: {mode: pull}
)";
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre("test.yaml:14:5: parties[0].name: expected a string, got null",
                          "test.yaml:16:15: parties[0].identity: must not be empty"));
}

// ---------------------------------------------------------------------------
// All problems at once.

TEST(ConfigLoaderTest, SeveralErrorsAreReportedTogetherInFileOrder) {
  Workspace ws;
  fs::remove(ws.dir / "pki/gateway/server.pem");
  unsetenv("PORTCULLIS_TEST_NO_SUCH_VAR");
  const std::string yaml = R"(listener:
  address: "127.0.0.1"
tls:
  server_cert: pki/gateway/server.pem
  server_key: pki/gateway/server.key
  client_cert: pki/gateway/client.pem
  client_key: pki/gateway/client.key
  ca_bundle: pki/ca/bundle.pem
  crl_dir: pki/crl
audit:
  path: ${PORTCULLIS_TEST_NO_SUCH_VAR}/audit.log
  signing_key: pki/audit/signing.key
parties:
  - id: uk/nca
    name: National Crime Agency
    kind: uk_agency
    identity: spiffe://exchange.gov.uk/uk/nca
    clearance: TOP_SECRET
    delivery: {mode: push}
  - id: uk/nca
    name: Border Force
    kind: uk_agency
    identity: spiffe://exchange.gov.uk/uk/border-force
    delivery: {mode: pull}
routes:
  - name: r
    from: [uk/nca]
    to: [eu/europol]
    body_types: [case_referral]
    max_classification: SECRET
)";
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre(
          "test.yaml:2:12: listener.address: invalid address '127.0.0.1': expected 'host:port'",
          "test.yaml:4:16: tls.server_cert: file not found: " + ws.Path("pki/gateway/server.pem"),
          "test.yaml:11:9: audit.path: environment variable PORTCULLIS_TEST_NO_SUCH_VAR is not set (write "
          "${PORTCULLIS_TEST_NO_SUCH_VAR:-default} to give a default)",
          "test.yaml:18:16: parties[0].clearance: TOP_SECRET is not allowed: TOP SECRET material never "
          "crosses "
          "the gateway (allowed: OFFICIAL, OFFICIAL_SENSITIVE, SECRET)",
          "test.yaml:19:15: parties[0].delivery.address: is required",
          "test.yaml:19:15: parties[0].delivery.server_identity: is required",
          "test.yaml:20:9: parties[1].id: duplicate party id 'uk/nca' (first defined at line 14)",
          "test.yaml:28:10: routes[0].to[0]: unknown party 'eu/europol': no party with this id is "
          "configured"));
}

}  // namespace
}  // namespace portcullis::config_test
