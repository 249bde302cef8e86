#include "tools/liaison/session.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
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
#include "util/command_line.h"
#include "tools/common/table.h"
#include "util/display_text.h"

namespace portcullis::liaison {

std::string Args::Value(const std::string& flag, const std::string& fallback) const {
  auto it = values.find(flag);
  return it == values.end() || it->second.empty() ? fallback : it->second.back();
}

int Usage(const std::string& problem) { return cli::UsageError("liaison", problem, kUsage); }

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
  // The officer assertion: --assertion-file, else $PORTCULLIS_ASSERTION, else the config's
  // assertion_file or assertion_command (run for this officer).
  mtls::AssertionSourceOptions assertion = adapters::AssertionOptions(out->config_);
  assertion.command_env["PORTCULLIS_OFFICER"] = out->officer_;
  const char* env_token = std::getenv(mtls::kAssertionEnvVar);
  if (args.Has("--assertion-file") || (env_token != nullptr && *env_token != '\0')) {
    assertion.command.clear();
    assertion.file = args.Value("--assertion-file");
    if (assertion.file.empty()) assertion.env_var = mtls::kAssertionEnvVar;
  }
  out->assertion_ = mtls::OfficerAssertionSource::FromOptions(assertion);
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
  // Every call of a liaison command acts for the one officer: the assertion goes on the channel.
  auto channel = adapters::DialGateway(config_.gateway, config_.tls, config_.gateway_identity,
                                       assertion_ == nullptr ? nullptr : mtls::OfficerAssertionCallCredentials(assertion_));
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
  if (s.json()) std::cout << JsonLine().Value("error", StatusJson(status)).str() << "\n";
  return kFailed;
}

int Failure(const Session& s, const std::string& message, int code) {
  std::cerr << "liaison: " << DisplayLines(message) << "\n";
  if (s.json()) std::cout << JsonLine().Value("error", JsonLine().Str("message", message).json()).str() << "\n";
  return code;
}

// Every cell is a party's text or built from it: the printer shows it escaped.
void PrintTable(const std::vector<std::vector<std::string>>& rows, const std::map<size_t, size_t>& wrap) {
  if (rows.empty()) return;
  std::vector<tools::Column> columns = tools::Columns(rows.front());
  for (const auto& [index, width] : wrap) {
    if (index < columns.size()) columns[index].wrap = width;
  }
  tools::PrintTable(std::cout, columns, std::vector<std::vector<std::string>>(rows.begin() + 1, rows.end()));
}

JsonLine& JsonLine::Value(const std::string& key, tools::Json value) {
  doc_[key] = std::move(value);
  return *this;
}

JsonLine& JsonLine::Str(const std::string& key, const std::string& value) { return Value(key, value); }
JsonLine& JsonLine::Num(const std::string& key, int64_t value) { return Value(key, value); }
JsonLine& JsonLine::Bool(const std::string& key, bool value) { return Value(key, value); }
JsonLine& JsonLine::Proto(const std::string& key, const google::protobuf::Message& message) {
  return Value(key, tools::ProtoJson(message));
}
JsonLine& JsonLine::Strings(const std::string& key, const std::vector<std::string>& values) {
  return Value(key, values);
}
std::string JsonLine::str() const { return tools::JsonText(doc_); }

tools::Json StatusJson(const grpc::Status& status) {
  JsonLine j;
  j.Str("code", adapters::StatusCodeName(status.error_code()));
  if (std::optional<v1::Refusal> r = v1::RefusalInStatus(status)) {
    j.Str("reason", r->reason()).Str("field", r->field());
    j.Str("message", r->message().empty() ? status.error_message() : r->message());
  } else {
    j.Str("reason", "").Str("field", "").Str("message", status.error_message());
  }
  return j.json();
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

std::string OfficerText(const std::string& officer, bool verified) {
  if (officer.empty()) return "-";
  return absl::StrCat(officer, verified ? " (verified)" : " (claimed)");
}

std::string KindText(const std::string& body_type) {
  if (body_type == "case_referral") return "referral";
  if (body_type == "intelligence_report") return "intelligence";
  if (body_type == "request_for_information") return "rfi";
  return body_type.empty() ? "-" : body_type;
}

std::string KindText(const v1::Envelope& e) {
  const google::protobuf::OneofDescriptor* body = e.GetDescriptor()->FindOneofByName("body");
  const google::protobuf::FieldDescriptor* set = e.GetReflection()->GetOneofFieldDescriptor(e, body);
  return KindText(set == nullptr ? "" : set->name());
}

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

}  // namespace portcullis::liaison
