// Config loader: the parties section.
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
// Parties.

TEST(ConfigLoaderTest, PartiesMustNotBeEmpty) {
  Workspace ws;
  EXPECT_THAT(ErrorLines(Load(ws, std::string(kHeader) + "parties: []\n")),
              ElementsAre("test.yaml:12:10: parties: must list at least one party"));
}

TEST(ConfigLoaderTest, DuplicatePartyIdIsAnError) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + kParties + R"(  - id: uk/nca
    name: National Crime Agency (again)
    kind: uk_agency
    identity: spiffe://exchange.gov.uk/uk/nca2
    delivery: {mode: pull}
)";
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:30:9: parties[3].id: duplicate party id 'uk/nca' (first defined at line 13)"));
}

TEST(ConfigLoaderTest, DuplicateIdentityIsAnError) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + kParties + R"(  - id: uk/nca2
    name: National Crime Agency (again)
    kind: uk_agency
    identity: spiffe://exchange.gov.uk/uk/nca
    delivery: {mode: pull}
)";
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre("test.yaml:33:15: parties[3].identity: duplicate identity "
                          "'spiffe://exchange.gov.uk/uk/nca' (already used by the party at line 16); each "
                          "party needs its own certificate identity"));
}

TEST(ConfigLoaderTest, PartyIdCharactersAreRestricted) {
  Workspace ws;
  std::string yaml = std::string(kHeader) + kParties;
  yaml.replace(yaml.find("id: uk/nca"), 10, "id: UK/NCA");
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre("test.yaml:13:9: parties[0].id: invalid party id 'UK/NCA': use only a-z, 0-9, '/', "
                          "'_' and '-'"));
}

TEST(ConfigLoaderTest, IdentityMustBeASpiffeId) {
  Workspace ws;
  std::string yaml = std::string(kHeader) + kParties;
  yaml.replace(yaml.find("spiffe://exchange.gov.uk/uk/nca"), 31, "https://exchange.gov.uk/uk/nca");
  yaml.replace(yaml.find("spiffe://exchange.gov.uk/audit/ico"), 34, "spiffe:///audit/ico");
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre("test.yaml:16:15: parties[0].identity: invalid SPIFFE ID "
                          "'https://exchange.gov.uk/uk/nca': must start with 'spiffe://'",
                          "test.yaml:29:15: parties[2].identity: invalid SPIFFE ID 'spiffe:///audit/ico': "
                          "missing trust domain after 'spiffe://'"));
}

TEST(ConfigLoaderTest, PartyKindIsRequiredAndChecked) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + R"(parties:
  - id: uk/nca
    name: National Crime Agency
    kind: police
    identity: spiffe://exchange.gov.uk/uk/nca
  - id: uk/bsc
    name: Border Security Command
    identity: spiffe://exchange.gov.uk/uk/bsc
    delivery: {mode: pull}
)";
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:15:11: parties[0].kind: unknown party kind 'police' (allowed: uk_agency, "
                  "eu_partner, auditor, operator)",
                  "test.yaml:17:5: parties[1].kind: is required"));
}

TEST(ConfigLoaderTest, TopSecretClearanceIsRefused) {
  Workspace ws;
  std::string yaml = std::string(kHeader) + kParties + "    clearance: TOP_SECRET\n";
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:30:16: parties[2].clearance: TOP_SECRET is not allowed: TOP SECRET material "
                  "never crosses the gateway (allowed: OFFICIAL, OFFICIAL_SENSITIVE, SECRET)"));

  // Also when the marking comes from the environment.
  ScopedEnv marking("PORTCULLIS_TEST_MARKING", "TOP_SECRET");
  yaml = std::string(kHeader) + kParties + "    clearance: ${PORTCULLIS_TEST_MARKING}\n";
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:30:16: parties[2].clearance: TOP_SECRET is not allowed: TOP SECRET material "
                  "never crosses the gateway (allowed: OFFICIAL, OFFICIAL_SENSITIVE, SECRET)"));
}

TEST(ConfigLoaderTest, UnknownClearanceIsAnError) {
  Workspace ws;
  std::string yaml = std::string(kHeader) + kParties + "    clearance: RESTRICTED\n";
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:30:16: parties[2].clearance: unknown classification 'RESTRICTED' (allowed: "
                  "OFFICIAL, OFFICIAL_SENSITIVE, SECRET)"));
}

TEST(ConfigLoaderTest, PushDeliveryNeedsAddressAndServerIdentity) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + R"(parties:
  - id: eu/europol
    name: Europol
    kind: eu_partner
    identity: spiffe://exchange.gov.uk/eu/europol
    delivery: {mode: push}
  - id: eu/fr-dnpaf
    name: French border police
    kind: eu_partner
    identity: spiffe://exchange.gov.uk/eu/fr-dnpaf
    delivery:
      mode: push
      address: "127.0.0.1:0"
      server_identity: exchange.gov.uk/eu/fr-dnpaf
)";
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre("test.yaml:17:15: parties[0].delivery.address: is required",
                          "test.yaml:17:15: parties[0].delivery.server_identity: is required",
                          "test.yaml:24:16: parties[1].delivery.address: invalid address '127.0.0.1:0': port "
                          "must be between 1 and 65535, got 0",
                          "test.yaml:25:24: parties[1].delivery.server_identity: invalid SPIFFE ID "
                          "'exchange.gov.uk/eu/fr-dnpaf': must start with 'spiffe://'"));
}

TEST(ConfigLoaderTest, PullDeliveryForbidsAddressAndServerIdentity) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + R"(parties:
  - id: eu/de-bpol
    name: German Federal Police
    kind: eu_partner
    identity: spiffe://exchange.gov.uk/eu/de-bpol
    delivery:
      mode: pull
      address: "127.0.0.1:9445"
      server_identity: spiffe://exchange.gov.uk/eu/de-bpol
)";
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:19:16: parties[0].delivery.address: not allowed when mode is pull (push only)",
                  "test.yaml:20:24: parties[0].delivery.server_identity: not allowed when mode is pull "
                  "(push only)"));
}

TEST(ConfigLoaderTest, DeliveryModeIsRequiredAndChecked) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + R"(parties:
  - id: uk/nca
    name: National Crime Agency
    kind: uk_agency
    identity: spiffe://exchange.gov.uk/uk/nca
    delivery: {mode: carrier-pigeon}
  - id: uk/bsc
    name: Border Security Command
    kind: uk_agency
    identity: spiffe://exchange.gov.uk/uk/bsc
    delivery: {}
)";
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre("test.yaml:17:22: parties[0].delivery.mode: unknown delivery mode 'carrier-pigeon' "
                          "(allowed: push, pull)",
                          "test.yaml:22:15: parties[1].delivery.mode: is required"));
}

TEST(ConfigLoaderTest, AgenciesAndPartnersNeedDelivery) {
  Workspace ws;
  const std::string yaml = std::string(kHeader) + R"(parties:
  - id: uk/nca
    name: National Crime Agency
    kind: uk_agency
    identity: spiffe://exchange.gov.uk/uk/nca
  - id: eu/nl-kmar
    name: Royal Netherlands Marechaussee
    kind: eu_partner
    identity: spiffe://exchange.gov.uk/eu/nl-kmar
)";
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre("test.yaml:13:5: parties[0].delivery: is required for kind uk_agency (mode: push "
                          "or pull)",
                          "test.yaml:17:5: parties[1].delivery: is required for kind eu_partner (mode: push "
                          "or pull)"));
}

TEST(ConfigLoaderTest, AuditorsMustNotHaveDelivery) {
  Workspace ws;
  std::string yaml = std::string(kHeader) + kParties + "    delivery: {mode: pull}\n";
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:30:15: parties[2].delivery: not allowed for an auditor: auditors read the "
                  "audit log and receive no deliveries"));
}

constexpr char kOperatorParty[] = R"(  - id: ops/desk
    name: Operations desk
    kind: operator
    identity: spiffe://exchange.gov.uk/ops/operator
)";

TEST(ConfigLoaderTest, OperatorsLoadWithoutDelivery) {
  Workspace ws;
  LoadResult result = Load(ws, std::string(kHeader) + kParties + kOperatorParty);
  ASSERT_TRUE(result.ok()) << result.status();
  const Party* ops = (*result)->FindParty("ops/desk");
  ASSERT_NE(ops, nullptr);
  EXPECT_EQ(ops->kind, PartyKind::kOperator);
  EXPECT_EQ(ops->delivery.mode, DeliveryMode::kNone);
}

TEST(ConfigLoaderTest, OperatorsMustNotHaveDelivery) {
  Workspace ws;
  std::string yaml = std::string(kHeader) + kParties + kOperatorParty + "    delivery: {mode: pull}\n";
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre("test.yaml:34:15: parties[3].delivery: not allowed for an operator: operators manage "
                          "dead letters and receive no deliveries"));
}

TEST(ConfigLoaderTest, OperatorsMayNotAppearInRoutes) {
  Workspace ws;
  const std::string yaml = absl::StrCat(kHeader, kParties, kOperatorParty, R"(routes:
  - name: ops
    from: [ops/desk]
    to: [uk/nca, ops/desk]
    body_types: [response]
    max_classification: OFFICIAL
)");
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre("test.yaml:36:12: routes[0].from[0]: party 'ops/desk' is an operator: operators "
                          "neither send nor receive messages",
                          "test.yaml:37:18: routes[0].to[1]: party 'ops/desk' is an operator: operators "
                          "neither send nor receive messages"));
}

}  // namespace
}  // namespace portcullis::config_test

namespace portcullis::config_test {
namespace {

// A party whose identity provider vouches for its officers (docs/officer-identity.md).
std::string WithOfficerKeys(absl::string_view extra) {
  return std::string(kHeader) + kParties + R"(  - id: uk/border-force
    name: Border Force
    kind: uk_agency
    identity: spiffe://exchange.gov.uk/uk/border-force
    delivery: {mode: pull}
)" + std::string(extra);
}

TEST(ConfigLoaderTest, OfficerAssertionsNameTheirKeyDirectory) {
  Workspace ws;
  std::filesystem::create_directories(ws.dir / "pki/officer-keys/uk-border-force");
  LoadResult loaded = Load(ws, WithOfficerKeys("    officer_assertions: required\n"
                                               "    officer_keys_dir: pki/officer-keys/uk-border-force\n"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Party* bf = (*loaded)->FindParty("uk/border-force");
  ASSERT_NE(bf, nullptr);
  EXPECT_EQ(bf->officer_assertions, OfficerAssertions::kRequired);
  EXPECT_EQ(bf->officer_keys_dir, ws.Path("pki/officer-keys/uk-border-force"));
  EXPECT_EQ((*loaded)->FindParty("uk/nca")->officer_assertions, OfficerAssertions::kNotConfigured);
}

TEST(ConfigLoaderTest, OfficerAssertionsRulesAreLocated) {
  Workspace ws;
  EXPECT_THAT(ErrorLines(Load(ws, WithOfficerKeys("    officer_assertions: required\n"))),
              ElementsAre("test.yaml:30:5: parties[3].officer_keys_dir: is required with officer_assertions (the "
                          "directory of the party's identity-provider keys)"));
  EXPECT_THAT(ErrorLines(Load(ws, WithOfficerKeys("    officer_keys_dir: pki\n"))),
              ElementsAre("test.yaml:35:23: parties[3].officer_keys_dir: needs officer_assertions: required or "
                          "optional"));
  EXPECT_THAT(ErrorLines(Load(ws, WithOfficerKeys("    officer_assertions: sometimes\n    officer_keys_dir: pki\n"))),
              ElementsAre(HasSubstr("test.yaml:35:25: parties[3].officer_assertions: unknown officer_assertions "
                                    "'sometimes'")));
  EXPECT_THAT(ErrorLines(Load(ws, WithOfficerKeys("    officer_assertions: optional\n"
                                                  "    officer_keys_dir: pki/missing\n"))),
              ElementsAre(HasSubstr("test.yaml:36:23: parties[3].officer_keys_dir:")));
}

}  // namespace
}  // namespace portcullis::config_test
