#include "tools/liaison/session.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "adapters/common/describe.h"
#include "adapters/common/gateway_client.h"
#include "adapters/common/native_util.h"
#include "portcullis/v1/refusal_status.h"
#include "util/display_text.h"
#include "util/hex.h"

namespace portcullis::liaison {
namespace {

// Flags that take a value, for every command (CheckFlags decides which
// command may use which).
const std::set<std::string>& ValueFlags() {
  static const std::set<std::string> kFlags = {
      "--config",       "--officer",     "--justification",    "--type",        "--to",
      "--case",         "--marking",     "--priority",         "--legal-basis", "--purpose",
      "--summary",      "--requested-action", "--question",    "--answer",      "--in-reply-to",
      "--message-id",   "--answer-by",   "--from",             "--timeout",     "--reason",
      "--uk-grading",   "--conditions",  "--europol-grading",  "--handling",    "--restrictions"};
  return kFlags;
}

const std::set<std::string>& Switches() {
  static const std::set<std::string> kSwitches = {"--json", "--help", "--partial", "--directly-accessible",
                                                  "--follow"};
  return kSwitches;
}

// Flags every command accepts.
const std::set<std::string>& GlobalFlags() {
  static const std::set<std::string> kGlobal = {"--config", "--officer", "--justification", "--json", "--help"};
  return kGlobal;
}

}  // namespace

std::string Args::Value(const std::string& flag, const std::string& fallback) const {
  auto it = values.find(flag);
  return it == values.end() || it->second.empty() ? fallback : it->second.back();
}

std::optional<std::string> ParseArgs(int argc, char** argv, Args* out) {
  std::vector<std::string> rest(argv + 1, argv + argc);
  bool only_words = false;
  for (size_t i = 0; i < rest.size(); ++i) {
    std::string arg = rest[i];
    if (only_words || arg.rfind("--", 0) != 0) {
      if (arg == "-h") {
        out->switches.insert("--help");
        continue;
      }
      out->words.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_words = true;
      continue;
    }
    std::optional<std::string> inline_value;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    if (Switches().count(arg) > 0) {
      if (inline_value) return absl::StrCat(arg, " takes no value");
      out->switches.insert(arg);
      continue;
    }
    if (ValueFlags().count(arg) == 0) return absl::StrCat("unknown option '", arg, "'");
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else {
      if (i + 1 >= rest.size() || rest[i + 1].rfind("--", 0) == 0) return absl::StrCat(arg, " needs a value");
      value = rest[++i];
    }
    std::vector<std::string>& slot = out->values[arg];
    if (!slot.empty() && arg != "--to") return absl::StrCat(arg, " is given twice");
    slot.push_back(std::move(value));
  }
  return std::nullopt;
}

std::optional<std::string> CheckFlags(const Args& args, const std::string& command,
                                      const std::set<std::string>& allowed) {
  auto ok = [&](const std::string& f) { return GlobalFlags().count(f) > 0 || allowed.count(f) > 0; };
  for (const std::string& s : args.switches) {
    if (!ok(s)) return absl::StrCat(command, " does not take ", s);
  }
  for (const auto& [flag, _] : args.values) {
    if (!ok(flag)) return absl::StrCat(command, " does not take ", flag);
  }
  return std::nullopt;
}

int Usage(const std::string& problem) {
  std::cerr << "liaison: " << DisplayText(problem) << "\n(run `liaison --help` for usage)\n";
  return kUsage;
}

std::optional<int> Session::Open(const Args& args, Session* out) {
  out->json_ = args.Has("--json");
  const std::string path = adapters::ResolvePartyConfigPath(args.Value("--config"));
  absl::StatusOr<adapters::PartyConfig> config = adapters::LoadPartyConfig(path);
  if (!config.ok()) {
    std::string message(config.status().message());
    if (config.status().code() == absl::StatusCode::kNotFound) {
      absl::StrAppend(&message, " (give --config FILE, or set PORTCULLIS_CONFIG)");
    }
    return Failure(*out, absl::StrCat("config: ", message));
  }
  out->config_ = *std::move(config);
  // The flag wins; the config loader has already let PORTCULLIS_OFFICER and
  // PORTCULLIS_JUSTIFICATION override the file.
  out->officer_ = args.Value("--officer", out->config_.officer);
  out->justification_ = args.Value("--justification", out->config_.justification);
  if (out->officer_.empty()) {
    return Usage(absl::StrCat("no officer: every action is recorded under an officer id; give --officer ID, set "
                              "PORTCULLIS_OFFICER, or add `officer: ID` to ",
                              out->config_.source));
  }
  if (!adapters::IsMessageId(out->officer_)) {
    return Usage(absl::StrCat("officer '", out->officer_, "' ", adapters::kMessageIdRule));
  }
  if (out->justification_.empty()) {
    return Usage(absl::StrCat("no justification: the law on logging (DPA 2018 s.62) needs the reason for every "
                              "consultation and disclosure; give --justification TEXT, set "
                              "PORTCULLIS_JUSTIFICATION, or add `justification: TEXT` to ",
                              out->config_.source));
  }
  return std::nullopt;
}

v1::Exchange::StubInterface* Session::Stub() {
  if (stub_) return stub_.get();
  auto channel = adapters::DialGateway(config_.gateway, config_.tls, config_.gateway_identity);
  if (!channel.ok()) {
    Failure(*this, absl::StrCat("cannot reach the gateway ", config_.gateway, " (", config_.source,
                                "): ", channel.status().message()));
    return nullptr;
  }
  channel_ = *channel;
  stub_ = v1::Exchange::NewStub(channel_);
  return stub_.get();
}

std::unique_ptr<grpc::ClientContext> CallContext() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

int Refused(const Session& s, const std::string& what, const grpc::Status& status) {
  const bool refusal = v1::RefusalInStatus(status).has_value();
  std::cerr << "liaison: " << DisplayText(what) << ": " << (refusal ? "refused: " : "")
            << DisplayText(adapters::DescribeStatus(status)) << "\n";
  if (s.json()) std::cout << JsonLine().Raw("error", StatusJson(status)).str() << "\n";
  return kFailed;
}

int Failure(const Session& s, const std::string& message, int code) {
  std::cerr << "liaison: " << DisplayLines(message) << "\n";
  if (s.json()) std::cout << JsonLine().Raw("error", JsonLine().Str("message", message).str()).str() << "\n";
  return code;
}

// Every cell is a party's text or built from it: shown escaped (util/display_text.h).
void PrintTable(const std::vector<std::vector<std::string>>& raw_rows) {
  std::vector<std::vector<std::string>> rows = raw_rows;
  for (auto& row : rows) {
    for (auto& cell : row) cell = DisplayText(cell);
  }
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

void JsonLine::Key(const std::string& key) {
  if (!body_.empty()) body_ += ",";
  body_ += JsonString(key) + ":";
}

JsonLine& JsonLine::Str(const std::string& key, const std::string& value) {
  Key(key);
  body_ += JsonString(value);
  return *this;
}

JsonLine& JsonLine::Num(const std::string& key, int64_t value) {
  Key(key);
  body_ += absl::StrCat(value);
  return *this;
}

JsonLine& JsonLine::Bool(const std::string& key, bool value) {
  Key(key);
  body_ += value ? "true" : "false";
  return *this;
}

JsonLine& JsonLine::Raw(const std::string& key, const std::string& json) {
  Key(key);
  body_ += json;
  return *this;
}

JsonLine& JsonLine::Proto(const std::string& key, const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(message, &json, o).ok()) json = "{}";
  return Raw(key, json);
}

JsonLine& JsonLine::Strings(const std::string& key, const std::vector<std::string>& values) {
  std::vector<std::string> quoted;
  for (const std::string& v : values) quoted.push_back(JsonString(v));
  return Raw(key, absl::StrCat("[", absl::StrJoin(quoted, ","), "]"));
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppend(&out, "\\u00", HexByte(c));
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string StatusJson(const grpc::Status& status) {
  JsonLine j;
  j.Str("code", adapters::StatusCodeName(status.error_code()));
  if (std::optional<v1::Refusal> r = v1::RefusalInStatus(status)) {
    j.Str("reason", r->reason()).Str("field", r->field());
    j.Str("message", r->message().empty() ? status.error_message() : r->message());
  } else {
    j.Str("reason", "").Str("field", "").Str("message", status.error_message());
  }
  return j.str();
}

std::string TimeText(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return TimeText(adapters::FromProtoTime(t));
}

std::string Rfc3339(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", adapters::FromProtoTime(t), absl::UTCTimeZone());
}

std::string TimeText(absl::Time t) { return absl::FormatTime("%Y-%m-%d %H:%M:%SZ", t, absl::UTCTimeZone()); }

std::string MarkingText(v1::Classification c) {
  return absl::StrReplaceAll(v1::Classification_Name(c), {{"_", "-"}});
}

std::optional<v1::Classification> ParseMarking(const std::string& text) {
  std::string name = absl::AsciiStrToUpper(absl::StrReplaceAll(text, {{"-", "_"}, {" ", "_"}}));
  v1::Classification c;
  if (!v1::Classification_Parse(name, &c) || c == v1::CLASSIFICATION_UNSPECIFIED) return std::nullopt;
  return c;
}

std::string PriorityText(v1::Priority p) {
  return p == v1::PRIORITY_UNSPECIFIED ? "ROUTINE" : v1::Priority_Name(p);
}

std::optional<v1::Priority> ParsePriority(const std::string& text) {
  v1::Priority p;
  if (!v1::Priority_Parse(absl::AsciiStrToUpper(text), &p) || p == v1::PRIORITY_UNSPECIFIED) return std::nullopt;
  return p;
}

std::string StateText(v1::DeliveryState s) { return v1::DeliveryState_Name(s); }

std::string UkGradingText(const v1::UkGrading& g) {
  if (g.source() == v1::UK_SOURCE_UNSPECIFIED && g.intelligence() == v1::UK_INTEL_UNSPECIFIED &&
      g.handling() == v1::UK_HANDLING_UNSPECIFIED) {
    return "";
  }
  auto pick = [](int v, const char* letters) {
    return v >= 1 && v <= static_cast<int>(std::char_traits<char>::length(letters)) ? std::string(1, letters[v - 1])
                                                                                   : std::string("?");
  };
  std::string text = absl::StrCat(pick(g.source(), "123"), "/", pick(g.intelligence(), "ABCDE"), "/",
                                  pick(g.handling(), "PC"));
  if (!g.handling_conditions().empty()) absl::StrAppend(&text, " (conditions: ", g.handling_conditions(), ")");
  return text;
}

std::string EuropolText(const v1::EuropolEvaluation& e) {
  if (e.source() == v1::EUROPOL_SOURCE_UNSPECIFIED && e.accuracy() == v1::EUROPOL_ACCURACY_UNSPECIFIED &&
      e.handling_size() == 0) {
    return "";
  }
  auto pick = [](int v, const char* letters) {
    return v >= 1 && v <= static_cast<int>(std::char_traits<char>::length(letters)) ? std::string(1, letters[v - 1])
                                                                                   : std::string("?");
  };
  std::string text = absl::StrCat(pick(e.source(), "ABCX"), "/", pick(e.accuracy(), "1234"));
  std::vector<std::string> codes;
  for (int h : e.handling()) codes.push_back(h >= 1 && h <= 4 ? absl::StrCat("H", h - 1) : "H?");
  if (!codes.empty()) absl::StrAppend(&text, " ", absl::StrJoin(codes, ","));
  if (!e.restrictions().empty()) absl::StrAppend(&text, " (restrictions: ", e.restrictions(), ")");
  return text;
}

std::string NewMessageId(const std::string& party, absl::Time now) {
  std::string prefix;
  for (char c : party) prefix += absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-' ? c : '-';
  if (prefix.empty()) prefix = "msg";
  std::random_device rd;
  const uint32_t r = rd();
  char hex[9];
  snprintf(hex, sizeof hex, "%08x", r);
  return absl::StrCat(prefix.substr(0, 80), "-", absl::FormatTime("%Y%m%dT%H%M%SZ", now, absl::UTCTimeZone()), "-",
                      hex);
}

std::string Clip(const std::string& text, size_t n) {
  return text.size() <= n ? text : text.substr(0, n - 3) + "...";
}

}  // namespace portcullis::liaison
