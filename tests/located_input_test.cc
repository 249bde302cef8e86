// util/located_input.h, util/located_yaml.h and util/hex.h: the one way the
// project locates and reports problems in the files people write, and the
// one hex encoder.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "util/hex.h"
#include "util/located_input.h"
#include "util/located_yaml.h"

namespace portcullis {
namespace {

using ::testing::ElementsAre;

TEST(LocatedInputTest, OffsetsBecomeOneBasedLinesAndColumns) {
  const std::string text = "ab\ncd\n\nef";
  EXPECT_EQ(LocationAtOffset(text, 0).line, 1);
  EXPECT_EQ(LocationAtOffset(text, 0).column, 1);
  EXPECT_EQ(LocationAtOffset(text, 4).line, 2);
  EXPECT_EQ(LocationAtOffset(text, 4).column, 2);
  EXPECT_EQ(LocationAtOffset(text, 7).line, 4);
  EXPECT_EQ(LocationAtOffset(text, 7).column, 1);
  EXPECT_EQ(LocationAtOffset(text, 99).line, 4);  // Past the end: the end.
  EXPECT_EQ(LocationAtOffset(text, 99).column, 3);
}

TEST(LocatedInputTest, PathsAndTheProblemLine) {
  EXPECT_EQ(ChildPath("", "tls"), "tls");
  EXPECT_EQ(ChildPath("tls", "ca_bundle"), "tls.ca_bundle");
  EXPECT_EQ(ItemPath("parties", 2), "parties[2]");
  EXPECT_EQ(FormatProblem("c.yaml", Location{3, 7}, "tls.ca_bundle", "is required"),
            "c.yaml:3:7: tls.ca_bundle: is required");
}

TEST(LocatedInputTest, ProblemsInTheOrderFoundWithTheDocumentNamed) {
  ProblemList problems("r.json");
  EXPECT_TRUE(problems.ToStatus().ok());
  problems.Add(Location{5, 1}, "b", "second");
  problems.Add(Location{2, 4}, "", "first");
  EXPECT_THAT(problems.Formatted(), ElementsAre("r.json:5:1: b: second", "r.json:2:4: (document): first"));
  EXPECT_EQ(problems.ToStatus().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(problems.ToStatus().message(), "r.json:5:1: b: second\nr.json:2:4: (document): first");
}

TEST(LocatedInputTest, ProblemsSortedByPositionAndCut) {
  ProblemList problems("c.yaml", ProblemListOptions{"(root)", /*sort_by_position=*/true, /*max_reported=*/2});
  problems.Add(Location{9, 1}, "c", "three");
  problems.Add(Location{1, 5}, "", "one");
  problems.Add(Location{1, 2}, "a", "zero");
  problems.Add(Location{4, 1}, "b", "two");
  EXPECT_THAT(problems.Formatted(),
              ElementsAre("c.yaml:1:2: a: zero", "c.yaml:1:5: (root): one", "c.yaml: ... and 2 more errors"));
}

TEST(LocatedYamlTest, MarksAreZeroBasedAndANullMarkIsTheStart) {
  YAML::Node node = YAML::Load("a:\n  b: 1\n");
  EXPECT_EQ(LocationOf(node["a"]["b"].Mark()).line, 2);
  EXPECT_EQ(LocationOf(node["a"]["b"].Mark()).column, 6);
  EXPECT_EQ(LocationOf(YAML::Mark::null_mark()).line, 1);
  EXPECT_EQ(LocationOf(YAML::Mark::null_mark()).column, 1);
}

TEST(LocatedYamlTest, SyntaxErrorIsLocatedWithThePrefix) {
  ProblemList problems("c.yaml");
  EXPECT_EQ(ParseYaml("a: [1, 2\nb: 3\n", YamlParseOptions{false, "invalid YAML: "}, problems), std::nullopt);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems.Formatted()[0], ::testing::StartsWith("c.yaml:"));
  EXPECT_THAT(problems.Formatted()[0], ::testing::HasSubstr(": (document): invalid YAML: "));
}

TEST(LocatedYamlTest, SecondDocumentIsRefusedOnlyWhenAsked) {
  const std::string text = "a: 1\n---\na: 2\n";
  ProblemList lenient("c.yaml");
  std::optional<YAML::Node> first = ParseYaml(text, YamlParseOptions{}, lenient);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ((*first)["a"].Scalar(), "1");
  EXPECT_TRUE(lenient.empty());
  ProblemList strict("c.yaml");
  EXPECT_EQ(ParseYaml(text, YamlParseOptions{true, ""}, strict), std::nullopt);
  EXPECT_THAT(strict.Formatted(),
              ElementsAre("c.yaml:2:1: (document): expected one YAML document, but another one starts here "
                          "(remove the '---')"));
}

TEST(LocatedYamlTest, StrayCommaEndsInAnErrorNotALoop) {
  ProblemList problems("c.yaml");
  EXPECT_EQ(ParseYaml("a: 1\n,\n", YamlParseOptions{true, "invalid YAML: "}, problems), std::nullopt);
  EXPECT_EQ(problems.size(), 1u);
}

TEST(LocatedYamlTest, EveryRepeatedKeyIsFoundAtAnyDepth) {
  ProblemList problems("c.yaml");
  std::optional<YAML::Node> root =
      ParseYaml("a: 1\nb:\n  - {x: 1, x: 2}\na: 3\n", YamlParseOptions{}, problems);
  ASSERT_TRUE(root.has_value());
  AddDuplicateKeys(*root, "", problems);
  EXPECT_THAT(problems.Formatted(), ElementsAre("c.yaml:4:1: a: duplicate key; first at line 1",
                                                "c.yaml:3:12: b[0].x: duplicate key; first at line 3"));
}

TEST(HexTest, LowerCaseTwoDigitsPerByte) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x10\xab", 4)), "00ff10ab");
  const unsigned char bytes[] = {0xde, 0xad, 0x01};
  EXPECT_EQ(HexEncode(bytes, sizeof bytes), "dead01");
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexByte('\n'), "0a");
}

}  // namespace
}  // namespace portcullis
