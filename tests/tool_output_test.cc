// The tools' one table printer and one JSON writer (tools/common/table.h,
// tools/common/json_out.h), and the shared command line's words
// (util/command_line.h, tools/common/cli_common.h).
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "portcullis/v1/exchange.pb.h"
#include "tools/common/cli_common.h"
#include "tools/common/json_out.h"
#include "tools/common/table.h"

namespace portcullis::tools {
namespace {

using ::portcullis::cli::AddCommand;
using ::portcullis::cli::NewApp;
using ::portcullis::cli::ParseCommandLine;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  return lines;
}

TEST(TablePrinter, AlignsColumnsTwoSpacesApartAndTrimsTrailingBlanks) {
  const std::string out = RenderTable(Columns({"ID", "STATE", "NOTE"}), {{"a1", "FAILED", ""}, {"b", "OK", "x"}});
  EXPECT_THAT(Lines(out), ElementsAre("ID  STATE   NOTE", "a1  FAILED", "b   OK      x"));
}

TEST(TablePrinter, WrapsLongTextAtSpacesOntoMoreLines) {
  const std::string out =
      RenderTable({Column{"ID"}, Wrapped("ERROR", 12)}, {{"d-1", "connection refused by the peer"}});
  EXPECT_THAT(Lines(out), ElementsAre("ID   ERROR", "d-1  connection", "     refused by", "     the peer"));
}

TEST(TablePrinter, NeverCutsOrWrapsAnId) {
  const std::string id(70, 'f');  // A delivery id or digest, wider than any wrap.
  const std::string out = RenderTable({Column{"DELIVERY_ID"}, Wrapped("WHY", 5)}, {{id, "a b"}});
  EXPECT_THAT(Lines(out), ElementsAre("DELIVERY_ID" + std::string(61, ' ') + "WHY", id + "  a b"));
}

TEST(TablePrinter, HardBreaksAWordWiderThanTheColumn) {
  EXPECT_THAT(WrapCell("abcdefghij", 4), ElementsAre("abcd", "efgh", "ij"));
}

TEST(TablePrinter, ShowsControlAndBidiCharactersEscapedThroughDisplayText) {
  const std::string out = RenderTable(Columns({"OFFICER"}), {{"NCA-\x1b[2J\rOK \xe2\x80\xae" "exe"}});
  EXPECT_THAT(out, HasSubstr("NCA-\\x1b[2J\\rOK \\u202eexe"));
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_EQ(out.find('\r'), std::string::npos);
}

TEST(TablePrinter, NeverSplitsAnEscapeOrAUtf8CharacterWhenWrapping) {
  // DisplayText writes ESC as "\x1b" (4 characters); é is 2 bytes, one character.
  EXPECT_THAT(WrapCell("ab\\x1bcd", 3), ElementsAre("ab", "\\x1b", "cd"));
  EXPECT_THAT(WrapCell("\xc3\xa9\xc3\xa9\xc3\xa9", 2), ElementsAre("\xc3\xa9\xc3\xa9", "\xc3\xa9"));
}

TEST(TablePrinter, CountsUtf8CharactersNotBytesWhenAligning) {
  const std::string out = RenderTable(Columns({"WHO", "X"}), {{"Jos\xc3\xa9", "1"}, {"Ann", "2"}});
  EXPECT_THAT(Lines(out), ElementsAre("WHO   X", "Jos\xc3\xa9  1", "Ann   2"));
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharacters) {
  Json doc;
  doc["text"] = std::string("a\"b\\c\nd\x01") + "\xe2\x80\xae";
  EXPECT_EQ(JsonText(doc), "{\"text\":\"a\\\"b\\\\c\\nd\\u0001\xe2\x80\xae\"}");
}

TEST(JsonWriter, KeepsMembersInInsertionOrderOnOneLine) {
  Json doc;
  doc["z"] = 1;
  doc["a"] = true;
  doc["m"] = std::vector<std::string>{"x", "y"};
  EXPECT_EQ(JsonText(doc), "{\"z\":1,\"a\":true,\"m\":[\"x\",\"y\"]}");
}

TEST(JsonWriter, ReplacesBytesThatAreNotUtf8InsteadOfFailing) {
  Json doc;
  doc["bad"] = std::string("a\xff" "b");
  EXPECT_EQ(JsonText(doc), "{\"bad\":\"a\xef\xbf\xbd" "b\"}");
}

TEST(JsonWriter, WritesProtoMessagesWithProtoFieldNames) {
  v1::Receipt receipt;
  receipt.set_message_id("BF-1");
  receipt.set_audit_index(7);
  EXPECT_EQ(JsonText(ProtoJson(receipt)), "{\"message_id\":\"BF-1\",\"audit_index\":\"7\"}");
}

TEST(JsonWriter, EscapesDelLikeTheOtherControls) {
  EXPECT_EQ(JsonText(Json("a\x7f" "b")), "\"a\\u007fb\"");
}

TEST(JsonWriter, KeepsRecordLinesByteForByte) {
  Json doc;
  doc["count"] = 2;
  const std::vector<std::string> lines = {"{\"index\":0,\"x\":\"\\u00e9\\u007f\"}", "{\"index\":1}"};
  EXPECT_EQ(JsonWithLines(doc, "records", lines),
            "{\"count\":2,\"records\":[{\"index\":0,\"x\":\"\\u00e9\\u007f\"},{\"index\":1}]}");
  EXPECT_EQ(JsonWithLines(Json::object(), "records", {}), "{\"records\":[]}");
  EXPECT_EQ(JsonWithLine(Json::object(), "record", "{}"), "{\"record\":{}}");
  Json after;
  after["truncated"] = false;
  EXPECT_EQ(JsonWithLines(Json::object(), "records", {"{}"}, after), "{\"records\":[{}],\"truncated\":false}");
}

TEST(JsonWriter, EmbedsJsonTextAsAValue) {
  EXPECT_EQ(JsonText(ParsedJson("{\"index\":3,\"action\":\"submit\"}")), "{\"index\":3,\"action\":\"submit\"}");
  EXPECT_EQ(JsonText(ParsedJson("not json")), "\"not json\"");
}

TEST(GatewayFlags, PartyIsAnAliasOfAsAndTheFilesComeFromThePki) {
  auto app = NewApp("tool", "test");
  GatewayFlags flags;
  AddGatewayFlags(app.get(), &flags, "ops-operator");
  const char* argv[] = {"tool", "--party", "uk-nca", "--pki", "/pki", "--crl-dir", "/crl"};
  ASSERT_EQ(ParseCommandLine(*app, 7, argv, 2), std::nullopt);
  auto tls = TlsFiles(flags);
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_EQ(tls->cert, "/pki/parties/uk-nca.pem");
  EXPECT_EQ(tls->ca_bundle, "/pki/ca/bundle.pem");
  EXPECT_EQ(tls->crl_dir, "/crl");
}

TEST(GatewayFlags, NoCertificateIsAUsageError) {
  GatewayFlags flags;
  EXPECT_EQ(TlsFiles(flags).status().code(), absl::StatusCode::kInvalidArgument);
}

// Explicit files without --as: the trust anchors and CRLs never come from the
// default PKI ($PORTCULLIS_PKI or build/pki), only from --ca/--crl-dir or an
// explicit --pki. The app is gone before TlsFiles, as in the tools that parse
// in a function of their own (portcullis-admin, portcullis-audit).
absl::StatusOr<adapters::PartyTls> ParsedTls(std::vector<const char*> argv) {
  GatewayFlags flags;
  {
    auto app = NewApp("tool", "test");
    AddGatewayFlags(app.get(), &flags, "ops-operator");
    argv.insert(argv.begin(), "tool");
    if (ParseCommandLine(*app, static_cast<int>(argv.size()), argv.data(), 2) != std::nullopt) {
      return absl::InternalError("parse failed");
    }
  }
  return TlsFiles(flags);
}

TEST(GatewayFlags, CertAndKeyWithoutCaOrCrlDirIsAUsageErrorNamingIt) {
  auto tls = ParsedTls({"--cert", "/c.pem", "--key", "/c.key"});
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tls.status().message(), HasSubstr("--ca"));
  tls = ParsedTls({"--cert", "/c.pem", "--key", "/c.key", "--ca", "/ca.pem"});
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tls.status().message(), HasSubstr("--crl-dir"));
}

TEST(GatewayFlags, ExplicitFilesOrAnExplicitPkiComplete) {
  auto tls = ParsedTls({"--cert", "/c.pem", "--key", "/c.key", "--ca", "/ca.pem", "--crl-dir", "/crl"});
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_EQ(tls->ca_bundle, "/ca.pem");
  EXPECT_EQ(tls->crl_dir, "/crl");
  tls = ParsedTls({"--cert", "/c.pem", "--key", "/c.key", "--pki", "/pki"});
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_EQ(tls->ca_bundle, "/pki/ca/bundle.pem");
  EXPECT_EQ(tls->crl_dir, "/pki/crl");
  tls = ParsedTls({"--as", "uk-nca"});  // --as with the default PKI.
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_THAT(tls->ca_bundle, HasSubstr("ca/bundle.pem"));
}

TEST(CommandLine, UnknownFlagIsAUsageErrorNamingIt) {
  auto app = NewApp("tool", "test");
  AddCommand(app.get(), "list", "list things");
  const char* argv[] = {"tool", "list", "--bogus"};
  testing::internal::CaptureStderr();
  EXPECT_EQ(ParseCommandLine(*app, 3, argv, 2), 2);
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("tool: unknown option '--bogus'"));
}

TEST(CommandLine, HelpOfACommandExitsZero) {
  auto app = NewApp("tool", "test");
  CLI::App* list = AddCommand(app.get(), "list", "list things");
  std::string limit;
  list->add_option("--limit", limit, "at most N");
  const char* argv[] = {"tool", "list", "--help"};
  testing::internal::CaptureStdout();
  EXPECT_EQ(ParseCommandLine(*app, 3, argv, 2), 0);
  EXPECT_THAT(testing::internal::GetCapturedStdout(), HasSubstr("--limit"));
}

TEST(CommandLine, MissingValueIsNamed) {
  auto app = NewApp("tool", "test");
  std::string log;
  app->add_option("--log", log, "the log");
  const char* argv[] = {"tool", "--log"};
  testing::internal::CaptureStderr();
  EXPECT_EQ(ParseCommandLine(*app, 2, argv, 2), 2);
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("tool: --log needs a value"));
}

TEST(CommandLine, AFlagIsNeverTakenAsAValue) {
  auto app = NewApp("tool", "test");
  std::string log;
  bool json = false;
  app->add_option("--log", log, "the log");
  app->add_flag("--json", json, "JSON");
  const char* argv[] = {"tool", "--log", "--json"};
  testing::internal::CaptureStderr();
  EXPECT_EQ(ParseCommandLine(*app, 3, argv, 2), 2);
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("tool: --log needs a value"));
}

TEST(CommandLine, AValueMayStartWithOneDash) {
  auto app = NewApp("tool", "test");
  std::string reason;
  app->add_option("--reason", reason, "why");
  const char* argv[] = {"tool", "--reason", "-see the case file"};
  EXPECT_EQ(ParseCommandLine(*app, 3, argv, 2), std::nullopt);
  EXPECT_EQ(reason, "-see the case file");
}

}  // namespace
}  // namespace portcullis::tools
