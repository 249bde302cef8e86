// adapters/common/json_doc.h: a native record is read only if it is JSON
// (RFC 8259). Each habit that a YAML reader would let through — a comment,
// an unquoted key, single quotes, a trailing comma, a repeated key, NaN — is
// refused with one located line naming what is wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "adapters/common/json_doc.h"

namespace portcullis::adapters {
namespace {

using ::testing::ElementsAre;

// The error of parsing `text` as "r.json" (and a failure if it parsed).
std::string ParseError(const std::string& text) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(text, "r.json");
  if (doc.ok()) {
    ADD_FAILURE() << "parsed, but is not JSON:\n" << text;
    return "";
  }
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(doc.status().message());
}

TEST(JsonDocStrict, CommentIsRefused) {
  EXPECT_EQ(ParseError("{\n  \"a\": \"one\",\n  // the second\n  \"b\": 2\n}"),
            "r.json:3:3: (document): not valid JSON: syntax error while parsing object key - invalid literal; "
            "expected string literal (JSON has no comments)");
  EXPECT_EQ(ParseError("{\"a\": 1 /* one */}"),
            "r.json:1:9: (document): not valid JSON: syntax error while parsing object - invalid literal; "
            "expected '}' (JSON has no comments)");
}

TEST(JsonDocStrict, UnquotedKeyIsRefused) {
  EXPECT_EQ(ParseError("{\n  \"a\": \"one\",\n  b: 2\n}"),
            "r.json:3:3: (document): not valid JSON: syntax error while parsing object key - invalid literal; "
            "expected string literal (keys must be double-quoted strings)");
}

TEST(JsonDocStrict, SingleQuotesAreRefused) {
  EXPECT_EQ(ParseError("{\n  'a': \"one\"\n}"),
            "r.json:2:3: (document): not valid JSON: syntax error while parsing object key - invalid literal; "
            "expected string literal (JSON strings and keys take double quotes)");
  EXPECT_EQ(ParseError("{\n  \"a\": 'one'\n}"),
            "r.json:2:8: (document): not valid JSON: syntax error while parsing value - invalid literal "
            "(JSON strings and keys take double quotes)");
}

TEST(JsonDocStrict, TrailingCommaIsRefused) {
  EXPECT_EQ(ParseError("{\n  \"a\": \"one\",\n}"),
            "r.json:3:1: (document): not valid JSON: syntax error while parsing object key - unexpected '}'; "
            "expected string literal (no comma after the last element)");
  EXPECT_EQ(ParseError("{\"a\": [1, 2, ]}"),
            "r.json:1:14: (document): not valid JSON: syntax error while parsing value - unexpected ']'; "
            "expected '[', '{', or a literal (no comma after the last element)");
}

TEST(JsonDocStrict, NanAndInfinityAreRefused) {
  EXPECT_EQ(ParseError("{\n  \"length_m\": NaN\n}"),
            "r.json:2:15: (document): not valid JSON: syntax error while parsing value - invalid literal "
            "(NaN and Infinity are not JSON numbers)");
  EXPECT_EQ(ParseError("{\"length_m\": -Infinity}"),
            "r.json:1:15: (document): not valid JSON: syntax error while parsing value - invalid number; "
            "expected digit after '-' (NaN and Infinity are not JSON numbers)");
}

TEST(JsonDocStrict, MissingCommaIsLocatedAtTheNextMember) {
  EXPECT_EQ(ParseError("{\n  \"a\": \"one\"\n  \"b\": 2\n}"),
            "r.json:3:5: (document): not valid JSON: syntax error while parsing object - unexpected string "
            "literal; expected '}'");
}

TEST(JsonDocStrict, TextAfterTheValueIsRefused) {
  EXPECT_EQ(ParseError("{\"a\": 1}\n{\"a\": 2}\n"),
            "r.json:2:1: (document): not valid JSON: syntax error while parsing value - unexpected '{'; "
            "expected end of input");
}

TEST(JsonDocStrict, BytesOfTheInputAreNotEchoed) {
  // nlohmann's "last read: '...'" would repeat whatever was there.
  EXPECT_EQ(ParseError("{\"a\": \"\xff\"}"),
            "r.json:1:8: (document): not valid JSON: syntax error while parsing value - invalid string: "
            "ill-formed UTF-8 byte");
}

// A repeated key was read by yaml-cpp as two members (and the getters took
// the first): it is refused at the repeat, every repeat at any depth.
TEST(JsonDocDuplicateKeys, RepeatIsRefusedWhereItRepeats) {
  EXPECT_EQ(ParseError("{\n  \"a\": \"one\",\n  \"b\": 2,\n  \"a\": \"two\"\n}"),
            "r.json:4:3: a: duplicate key; first at line 2");
  EXPECT_EQ(ParseError("{\n  \"p\": [{\"x\": 1}, {\"x\": 1, \"x\": 2}],\n  \"q\": {\"r\": {\"s\": 1,\n  \"s\": 2}},\n"
                       "  \"p\": []\n}"),
            "r.json:2:28: p[1].x: duplicate key; first at line 2\n"
            "r.json:4:3: q.r.s: duplicate key; first at line 3\n"
            "r.json:5:3: p: duplicate key; first at line 2");
}

TEST(JsonDocStrict, JsonStillReadsWithItsPlaces) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse("{\n  \"a\": \"one\",\n  \"n\": [1, 2.5e3]\n}", "r.json");
  ASSERT_TRUE(doc.ok()) << doc.status();
  JsonReader r(*doc);
  EXPECT_TRUE(r.Object(r.Root(), {"a", "n"}));
  EXPECT_EQ(r.RequiredString(r.Root(), "a"), "one");
  EXPECT_EQ(r.Integer(r.Root(), "missing", true, 0, 1), std::nullopt);
  EXPECT_THAT(r.FormattedProblems(), ElementsAre("r.json:1:1: missing: required"));
}

}  // namespace
}  // namespace portcullis::adapters
