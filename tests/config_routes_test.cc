// Config loader: the routes section.
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
// Routes.

std::string WithRoute(absl::string_view route) { return absl::StrCat(kHeader, kParties, "routes:\n", route); }

TEST(ConfigLoaderTest, RouteToUnknownPartyIsAnError) {
  Workspace ws;
  const std::string yaml = WithRoute(R"(  - name: to-interpol
    from: [uk/nca]
    to: [eu/europol, eu/interpol]
    body_types: [case_referral]
    max_classification: OFFICIAL
)");
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:33:22: routes[0].to[1]: unknown party 'eu/interpol': no party with this id "
                  "is configured"));
}

TEST(ConfigLoaderTest, AuditorsMayNotAppearInRoutes) {
  Workspace ws;
  const std::string yaml = WithRoute(R"(  - name: leak
    from: [audit/ico]
    to: [uk/nca, audit/ico]
    body_types: [response]
    max_classification: OFFICIAL
)");
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:32:12: routes[0].from[0]: party 'audit/ico' is an auditor: auditors neither "
                  "send nor receive messages",
                  "test.yaml:33:18: routes[0].to[1]: party 'audit/ico' is an auditor: auditors neither "
                  "send nor receive messages"));
}

TEST(ConfigLoaderTest, RouteListsAreCheckedForWildcardsEmptinessAndRepeats) {
  Workspace ws;
  const std::string yaml = WithRoute(R"(  - name: muddled
    from: ["*", uk/nca]
    to: []
    body_types: [response, response, gossip]
    max_classification: OFFICIAL
)");
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre("test.yaml:32:12: routes[0].from[0]: '*' (any party) must be the only entry",
                          "test.yaml:33:9: routes[0].to: must list at least one party id, or '*'",
                          "test.yaml:34:28: routes[0].body_types[1]: 'response' is listed twice",
                          "test.yaml:34:38: routes[0].body_types[2]: unknown body type 'gossip' (allowed: "
                          "case_referral, intelligence_report, request_for_information, response)"));
}

TEST(ConfigLoaderTest, RouteFieldsAreRequired) {
  Workspace ws;
  const std::string yaml = WithRoute(R"(  - name: bare
    body_types: []
)");
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:31:5: routes[0].from: is required", "test.yaml:31:5: routes[0].to: is required",
                  "test.yaml:31:5: routes[0].max_classification: is required",
                  "test.yaml:32:17: routes[0].body_types: must list at least one body type"));
}

TEST(ConfigLoaderTest, TopSecretRouteIsRefused) {
  Workspace ws;
  const std::string yaml = WithRoute(R"(  - name: nca-to-europol
    from: [uk/nca]
    to: [eu/europol]
    body_types: [intelligence_report]
    max_classification: TOP_SECRET
)");
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:35:25: routes[0].max_classification: TOP_SECRET is not allowed: TOP SECRET "
                  "material never crosses the gateway (allowed: OFFICIAL, OFFICIAL_SENSITIVE, SECRET)"));
}

TEST(ConfigLoaderTest, DuplicateRouteNameIsAnError) {
  Workspace ws;
  const std::string yaml = WithRoute(R"(  - name: uk-to-europol
    from: [uk/nca]
    to: [eu/europol]
    body_types: [case_referral]
    max_classification: OFFICIAL
  - name: uk-to-europol
    from: [uk/nca]
    to: [eu/europol]
    body_types: [response]
    max_classification: OFFICIAL
)");
  EXPECT_THAT(
      ErrorLines(Load(ws, yaml)),
      ElementsAre("test.yaml:36:11: routes[1].name: duplicate route name 'uk-to-europol' (first defined "
                  "at line 31)"));
}

}  // namespace
}  // namespace portcullis::config_test
