// util/display_text.h: what every tool prints of a party's text.
#include "util/display_text.h"

#include <gtest/gtest.h>

namespace portcullis {
namespace {

TEST(DisplayText, PlainTextAndPrintableUnicodePass) {
  EXPECT_EQ(DisplayText("BF-LO-4471"), "BF-LO-4471");
  EXPECT_EQ(DisplayText("caf\xc3\xa9 \xe2\x82\xac 5"), "caf\xc3\xa9 \xe2\x82\xac 5");
  EXPECT_EQ(DisplayText(""), "");
}

TEST(DisplayText, ControlsAndEscapesAreShownNotActedOn) {
  EXPECT_EQ(DisplayText("a\x1b[2Jb"), "a\\x1b[2Jb");
  EXPECT_EQ(DisplayText("x\ry"), "x\\ry");
  EXPECT_EQ(DisplayText("x\ny\tz"), "x\\ny\\tz");
  EXPECT_EQ(DisplayText(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(DisplayText("\x7f\x07\x08"), "\\x7f\\x07\\x08");
  EXPECT_EQ(DisplayText("\xc2\x9b" "31m"), "\\u009b31m");  // C1 CSI.
}

TEST(DisplayText, BidiAndInvisibleCharactersAreShown) {
  EXPECT_EQ(DisplayText("abc\xe2\x80\xae" "fed"), "abc\\u202efed");  // RIGHT-TO-LEFT OVERRIDE.
  EXPECT_EQ(DisplayText("\xe2\x81\xa6x\xe2\x81\xa9"), "\\u2066x\\u2069");
  EXPECT_EQ(DisplayText("a\xe2\x80\x8b" "b"), "a\\u200bb");  // ZERO WIDTH SPACE.
  EXPECT_EQ(DisplayText("\xef\xbb\xbf" "x"), "\\ufeffx");
  EXPECT_EQ(DisplayText("\xe2\x80\xa8"), "\\u2028");
}

TEST(DisplayText, InvalidUtf8AndBackslashes) {
  EXPECT_EQ(DisplayText("a\xff" "b"), "a\\xffb");
  EXPECT_EQ(DisplayText("\xc0\xaf"), "\\xc0\\xaf");  // Overlong '/'.
  EXPECT_EQ(DisplayText("\xe2\x80"), "\\xe2\\x80");  // Truncated sequence.
  // Text that spells an escape cannot pass for one.
  EXPECT_EQ(DisplayText("\\x1b"), "\\\\x1b");
}

TEST(DisplayText, NoRawControlByteEverComesOut) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  for (unsigned char c : DisplayText(all)) {
    EXPECT_TRUE(c >= 0x20 && c != 0x7f) << static_cast<int>(c);
  }
}

TEST(DisplayLines, KeepsLineFeedsOnly) {
  EXPECT_EQ(DisplayLines("{\n  \"a\": \"x\x1by\r\"\n}\n"), "{\n  \"a\": \"x\\x1by\\r\"\n}\n");
  EXPECT_EQ(DisplayLines("a\xe2\x80\xae" "b"), "a\\u202eb");
}

TEST(DisplayJson, HiddenCharactersBecomeJsonEscapesAndEscapesStay) {
  EXPECT_EQ(DisplayJson("{\n  \"s\": \"a\\r\xe2\x80\xae" "b\xc2\x9b" "c\x1b\"\n}"),
            "{\n  \"s\": \"a\\r\\u202eb\\u009bc\\u001b\"\n}");
  EXPECT_EQ(DisplayJson("\"caf\xc3\xa9 \\\"x\\\"\""), "\"caf\xc3\xa9 \\\"x\\\"\"");
  EXPECT_EQ(DisplayJson("\"\xff\""), "\"\\ufffd\"");
}

TEST(CsvCell, QuotesAndNeutralisesFormulas) {
  EXPECT_EQ(CsvCell("plain"), "\"plain\"");
  EXPECT_EQ(CsvCell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvCell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
  EXPECT_EQ(CsvCell("+1"), "\"'+1\"");
  EXPECT_EQ(CsvCell("-2+3"), "\"'-2+3\"");
  EXPECT_EQ(CsvCell("@SUM(A1)"), "\"'@SUM(A1)\"");
  EXPECT_EQ(CsvCell("\t=1"), "\"'\\t=1\"");
  EXPECT_EQ(CsvCell("\r=1"), "\"'\\r=1\"");
  EXPECT_EQ(CsvCell("a\x1b" "b\nc"), "\"a\\x1bb\\nc\"");
  for (unsigned char c : CsvCell(std::string("\0\x1b\r\n", 4))) EXPECT_TRUE(c >= 0x20) << static_cast<int>(c);
}

}  // namespace
}  // namespace portcullis
