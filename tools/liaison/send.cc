// liaison send: native records from files (the batch rule of native_submit.h)
// or one envelope from flags.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "adapters/common/describe.h"
#include "adapters/common/native_submit.h"
#include "adapters/common/native_util.h"
#include "portcullis/v1/refusal_status.h"
#include "tools/liaison/commands.h"
#include "util/display_text.h"

namespace portcullis::liaison {
namespace {

// The flags of `send --type`, and which types each body flag belongs to.
struct TypeSpec {
  const char* type;
  std::vector<std::string> required;  // Body flags this type needs.
  std::vector<std::string> optional;  // Body flags it may take.
};

const std::vector<TypeSpec>& Types() {
  static const std::vector<TypeSpec> kTypes = {
      {"referral", {"--summary", "--requested-action"}, {"--in-reply-to"}},
      {"intelligence", {"--summary"}, {"--in-reply-to"}},
      {"rfi", {"--question"}, {"--in-reply-to", "--answer-by", "--directly-accessible"}},
      {"response", {"--answer", "--in-reply-to"}, {}},
  };
  return kTypes;
}

const std::vector<std::string> kBodyFlags = {"--summary",     "--requested-action", "--question",
                                             "--answer",      "--answer-by",        "--directly-accessible"};
const std::vector<std::string> kEnvelopeFlags = {"--to", "--case", "--marking", "--priority", "--legal-basis"};
const std::vector<std::string> kGradingFlags = {"--uk-grading", "--conditions", "--europol-grading", "--handling",
                                                "--restrictions"};

const TypeSpec* FindType(const std::string& name) {
  for (const TypeSpec& t : Types()) {
    if (name == t.type) return &t;
  }
  return nullptr;
}

bool Contains(const std::vector<std::string>& list, const std::string& s) {
  for (const std::string& x : list) {
    if (x == s) return true;
  }
  return false;
}

std::vector<std::string> Recipients(const Args& args) {
  std::vector<std::string> out;
  auto it = args.values.find("--to");
  if (it == args.values.end()) return out;
  for (const std::string& v : it->second) {
    for (absl::string_view part : absl::StrSplit(v, ',', absl::SkipWhitespace())) {
      out.emplace_back(absl::StripAsciiWhitespace(part));
    }
  }
  return out;
}

// A grading written as one letter per scale, '/' optional ("2/B/C", "b2"):
// each letter's position in its scale, counted from 1 (the proto enums'
// values); nullopt if malformed.
std::optional<std::vector<int>> ParseGrading(std::string text, const std::vector<std::string>& scales) {
  text.erase(std::remove(text.begin(), text.end(), '/'), text.end());
  text = absl::AsciiStrToUpper(text);
  if (text.size() != scales.size()) return std::nullopt;
  std::vector<int> values;
  for (size_t i = 0; i < scales.size(); ++i) {
    const size_t at = scales[i].find(text[i]);
    if (at == std::string::npos) return std::nullopt;
    values.push_back(static_cast<int>(at) + 1);
  }
  return values;
}

// "2/B/C" or "2BC" -> the grading; nullopt if malformed.
std::optional<v1::UkGrading> ParseUkGrading(const std::string& text) {
  std::optional<std::vector<int>> v = ParseGrading(text, {"123", "ABCDE", "PC"});
  if (!v) return std::nullopt;
  v1::UkGrading g;
  g.set_source(static_cast<v1::UkSourceEvaluation>((*v)[0]));
  g.set_intelligence(static_cast<v1::UkIntelligenceAssessment>((*v)[1]));
  g.set_handling(static_cast<v1::UkHandlingCode>((*v)[2]));
  return g;
}

// "B/2" or "B2" -> source and accuracy.
std::optional<v1::EuropolEvaluation> ParseEuropol(const std::string& text) {
  std::optional<std::vector<int>> v = ParseGrading(text, {"ABCX", "1234"});
  if (!v) return std::nullopt;
  v1::EuropolEvaluation e;
  e.set_source(static_cast<v1::EuropolSourceReliability>((*v)[0]));
  e.set_accuracy(static_cast<v1::EuropolInformationAccuracy>((*v)[1]));
  return e;
}

// Checks of `send --type ...` that need no session. Every missing flag is named.
std::optional<std::string> CheckFlagSend(const Args& args) {
  const std::string type = args.Value("--type");
  const TypeSpec* spec = FindType(type);
  if (spec == nullptr) return absl::StrCat("--type must be referral, intelligence, rfi or response, not '", type, "'");
  std::vector<std::string> missing;
  for (const std::string& f : kEnvelopeFlags) {
    if (!args.Has(f) || (f != "--to" && args.Value(f).empty())) missing.push_back(f);
  }
  if (args.Has("--to") && Recipients(args).empty()) missing.push_back("--to");
  for (const std::string& f : spec->required) {
    if (args.Value(f).empty()) missing.push_back(f);
  }
  if (type == "intelligence" && !args.Has("--uk-grading") && !args.Has("--europol-grading")) {
    missing.push_back("--uk-grading or --europol-grading");
  }
  if (!missing.empty()) {
    return absl::StrCat("send --type ", type, " is missing ", absl::StrJoin(missing, ", "));
  }
  for (const std::string& f : kBodyFlags) {
    if (args.Has(f) && !Contains(spec->required, f) && !Contains(spec->optional, f)) {
      return absl::StrCat(f, " does not belong to --type ", type);
    }
  }
  if (!ParseMarking(args.Value("--marking"))) {
    return absl::StrCat("--marking must be OFFICIAL, OFFICIAL-SENSITIVE or SECRET, not '", args.Value("--marking"),
                        "'");
  }
  if (!ParsePriority(args.Value("--priority"))) {
    return absl::StrCat("--priority must be ROUTINE, URGENT or IMMEDIATE, not '", args.Value("--priority"), "'");
  }
  if (args.Has("--message-id") && !adapters::IsMessageId(args.Value("--message-id"))) {
    return absl::StrCat("--message-id '", args.Value("--message-id"), "' ", adapters::kMessageIdRule);
  }
  if (args.Has("--in-reply-to") && !adapters::IsMessageId(args.Value("--in-reply-to"))) {
    return absl::StrCat("--in-reply-to '", args.Value("--in-reply-to"), "' ", adapters::kMessageIdRule);
  }
  if (args.Has("--answer-by")) {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, args.Value("--answer-by"), &t, &err)) {
      return absl::StrCat("--answer-by must be an RFC 3339 time such as 2026-03-17T08:00:00Z, not '",
                          args.Value("--answer-by"), "'");
    }
  }
  if (args.Has("--uk-grading") && !ParseUkGrading(args.Value("--uk-grading"))) {
    return "--uk-grading must be source/intelligence/handling, e.g. 2/B/P (source 1-3, intelligence A-E, handling P "
           "or C)";
  }
  if (args.Has("--conditions") && !args.Has("--uk-grading")) return "--conditions goes with --uk-grading .../C";
  if (args.Has("--uk-grading")) {
    const bool c = ParseUkGrading(args.Value("--uk-grading"))->handling() == v1::UK_HANDLING_C_CONDITIONS;
    if (c && args.Value("--conditions").empty()) return "--uk-grading with handling C needs --conditions TEXT";
    if (!c && args.Has("--conditions")) return "--conditions is only for handling code C";
  }
  if (args.Has("--europol-grading") && !ParseEuropol(args.Value("--europol-grading"))) {
    return "--europol-grading must be source/accuracy, e.g. B/2 (source A, B, C or X; accuracy 1-4)";
  }
  if ((args.Has("--handling") || args.Has("--restrictions")) && !args.Has("--europol-grading")) {
    return "--handling and --restrictions go with --europol-grading";
  }
  if (args.Has("--handling")) {
    bool h3 = false;
    for (absl::string_view code : absl::StrSplit(args.Value("--handling"), ',', absl::SkipWhitespace())) {
      code = absl::StripAsciiWhitespace(code);
      if (code != "H0" && code != "H1" && code != "H2" && code != "H3") {
        return absl::StrCat("--handling takes Europol handling codes H0, H1, H2, H3 (comma separated), not '", code,
                            "'");
      }
      h3 = h3 || code == "H3";
    }
    if (h3 && args.Value("--restrictions").empty()) return "--handling H3 needs --restrictions TEXT";
    if (!h3 && args.Has("--restrictions")) return "--restrictions is only for handling code H3";
  } else if (args.Has("--restrictions")) {
    return "--restrictions is only for handling code H3 (--handling H3)";
  }
  return std::nullopt;
}

v1::Envelope EnvelopeFromFlags(const Session& s, const Args& args) {
  v1::Envelope e;
  const std::string type = args.Value("--type");
  e.set_message_id(args.Value("--message-id", NewMessageId(s.config().party, s.Now())));
  e.set_correlation_id(args.Value("--in-reply-to"));
  e.set_case_reference(args.Value("--case"));
  e.set_originating_officer(s.officer());
  for (const std::string& r : Recipients(args)) e.add_recipients(r);
  *e.mutable_created_at() = adapters::ToProtoTime(s.Now());
  e.set_classification(*ParseMarking(args.Value("--marking")));
  e.set_priority(*ParsePriority(args.Value("--priority")));
  e.mutable_justification()->set_legal_basis(args.Value("--legal-basis"));
  e.mutable_justification()->set_purpose(args.Value("--purpose", s.justification()));
  if (args.Has("--uk-grading")) {
    *e.mutable_uk_grading() = *ParseUkGrading(args.Value("--uk-grading"));
    e.mutable_uk_grading()->set_handling_conditions(args.Value("--conditions"));
  }
  if (args.Has("--europol-grading")) {
    v1::EuropolEvaluation* ev = e.mutable_europol_evaluation();
    *ev = *ParseEuropol(args.Value("--europol-grading"));
    for (absl::string_view code : absl::StrSplit(args.Value("--handling"), ',', absl::SkipWhitespace())) {
      code = absl::StripAsciiWhitespace(code);
      ev->add_handling(static_cast<v1::EuropolHandlingCode>(code[1] - '0' + 1));
    }
    ev->set_restrictions(args.Value("--restrictions"));
  }
  if (type == "referral") {
    e.mutable_case_referral()->set_summary(args.Value("--summary"));
    e.mutable_case_referral()->set_requested_action(args.Value("--requested-action"));
  } else if (type == "intelligence") {
    e.mutable_intelligence_report()->set_summary(args.Value("--summary"));
  } else if (type == "rfi") {
    v1::RequestForInformation* rfi = e.mutable_request_for_information();
    rfi->set_question(args.Value("--question"));
    rfi->set_directly_accessible(args.Has("--directly-accessible"));
    if (args.Has("--answer-by")) {
      absl::Time t;
      std::string err;
      absl::ParseTime(absl::RFC3339_full, args.Value("--answer-by"), &t, &err);
      *rfi->mutable_answer_by() = adapters::ToProtoTime(t);
    }
  } else {
    e.mutable_response()->set_answer(args.Value("--answer"));
  }
  return e;
}

std::vector<std::string> Lines(absl::string_view text) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) out.emplace_back(line);
  return out;
}

std::vector<std::string> ToVector(const google::protobuf::RepeatedPtrField<std::string>& list) {
  return std::vector<std::string>(list.begin(), list.end());
}

// Prints one record's outcome (text or a JSON line).
void PrintRecord(const Session& s, const adapters::NativeRecord& r, bool held) {
  const std::string id = r.envelope.message_id().empty() ? "-" : r.envelope.message_id();
  if (s.json()) {
    JsonLine j;
    j.Str("file", r.file);
    if (!r.problem.ok()) {
      j.Str("outcome", "invalid").Strings("problems", Lines(r.problem.message()));
    } else if (!r.submitted) {
      j.Str("outcome", held ? "held" : "not_submitted").Str("message_id", id);
    } else if (r.status.ok()) {
      j.Str("outcome", "submitted").Str("message_id", id).Strings("recipients", ToVector(r.receipt.recipients()));
      j.Proto("receipt", r.receipt);
    } else {
      j.Str("outcome", v1::RefusalInStatus(r.status) ? "refused" : "failed")
          .Str("message_id", id)
          .Value("error", StatusJson(r.status));
    }
    std::cout << j.str() << "\n";
    return;
  }
  if (!r.problem.ok()) {
    std::cout << "invalid    " << DisplayText(r.file) << "\n";
    for (const std::string& line : Lines(r.problem.message())) std::cout << "    " << DisplayText(line) << "\n";
  } else if (!r.submitted) {
    std::cout << "not sent   " << DisplayText(r.file) << "  " << DisplayText(id) << (held ? "  (held back: the batch has problems)" : "")
              << "\n";
  } else if (r.status.ok()) {
    std::cout << "sent       " << DisplayText(r.file) << "  " << DisplayText(id) << "  to "
              << DisplayText(absl::StrJoin(r.receipt.recipients(), ","))
              << "  audit index " << r.receipt.audit_index() << "  accepted " << TimeText(r.receipt.accepted_at())
              << (r.receipt.duplicate() ? "  (sent before: the original receipt)" : "") << "\n";
  } else {
    std::cout << (v1::RefusalInStatus(r.status) ? "refused    " : "failed     ") << DisplayText(r.file) << "  "
              << DisplayText(id) << "\n    " << DisplayText(adapters::DescribeStatus(r.status)) << "\n";
  }
}

// Prints every record and the summary; the exit code.
int Report(const Session& s, const std::vector<adapters::NativeRecord>& records, bool partial) {
  const size_t bad = adapters::CountBad(records);
  size_t sent = 0, refused = 0;
  for (const auto& r : records) {
    if (r.submitted && r.status.ok()) ++sent;
    if (r.submitted && !r.status.ok()) ++refused;
  }
  const bool held = bad > 0 && !partial;
  for (const auto& r : records) PrintRecord(s, r, held);
  std::string summary;
  if (held) {
    summary = absl::StrCat("nothing submitted: ", bad, " of ", records.size(), " record",
                           records.size() == 1 ? "" : "s", bad == 1 ? " has" : " have",
                           " problems (fix them, or send with --partial to submit the good ones)");
  } else {
    summary = absl::StrCat(sent, " of ", records.size(), " record", records.size() == 1 ? "" : "s", " submitted");
    if (bad > 0) absl::StrAppend(&summary, "; ", bad, " with problems not submitted");
    if (refused > 0) absl::StrAppend(&summary, "; ", refused, " refused or failed at the gateway");
  }
  if (s.json()) {
    std::cout << JsonLine()
                     .Value("summary", JsonLine()
                                           .Num("records", static_cast<int64_t>(records.size()))
                                           .Num("with_problems", static_cast<int64_t>(bad))
                                           .Num("submitted", static_cast<int64_t>(sent))
                                           .Num("refused", static_cast<int64_t>(refused))
                                           .Str("text", summary)
                                           .json())
                     .str()
              << "\n";
  } else {
    std::cout << summary << "\n";
  }
  if (held || bad > 0) {
    std::cerr << "liaison: " << summary << "\n";
    return kBadInput;
  }
  return refused > 0 ? kFailed : kOk;
}

}  // namespace

const std::set<std::string>& SendFlags() {
  static const std::set<std::string> kFlags = [] {
    std::set<std::string> f = {"--partial", "--type", "--purpose", "--in-reply-to", "--message-id"};
    f.insert(kBodyFlags.begin(), kBodyFlags.end());
    f.insert(kEnvelopeFlags.begin(), kEnvelopeFlags.end());
    f.insert(kGradingFlags.begin(), kGradingFlags.end());
    return f;
  }();
  return kFlags;
}

std::optional<std::string> CheckSendArgs(const Args& args) {
  const size_t files = args.words.size() - 1;
  if (args.Has("--type")) {
    if (files > 0) return "send takes FILE... or --type and flags, not both";
    if (args.Has("--partial")) return "--partial is for a batch of files";
    return CheckFlagSend(args);
  }
  if (files == 0) return "send needs FILE... (native records) or --type TYPE and flags";
  for (const std::string& f : SendFlags()) {
    if (f != "--partial" && args.Has(f)) return absl::StrCat(f, " is for send --type; records from files carry their own");
  }
  return std::nullopt;
}

int SubmitOne(Session& s, const v1::Envelope& envelope, const std::string& label) {
  v1::Exchange::StubInterface* stub = s.Stub();
  if (stub == nullptr) return kFailed;
  std::vector<adapters::NativeRecord> records(1);
  records[0].file = label;
  records[0].envelope = envelope;
  adapters::SubmitBatch(*stub, records, false);
  PrintRecord(s, records[0], false);
  if (!records[0].status.ok()) {
    std::cerr << "liaison: message " << DisplayText(envelope.message_id()) << " not sent: "
              << (v1::RefusalInStatus(records[0].status) ? "refused: " : "")
              << DisplayText(adapters::DescribeStatus(records[0].status)) << "\n";
    return kFailed;
  }
  return kOk;
}

int Send(Session& s, const Args& args) {
  if (args.Has("--type")) return SubmitOne(s, EnvelopeFromFlags(s, args), "(flags)");
  std::vector<std::string> files(args.words.begin() + 1, args.words.end());
  std::vector<adapters::NativeRecord> records =
      adapters::PrepareBatch(*s.config().format, files, s.config().party, s.Now());
  // The officer sending is the one the exchange records: a record written
  // by someone else is not sent under their name.
  for (adapters::NativeRecord& r : records) {
    if (r.problem.ok() && r.envelope.originating_officer() != s.officer()) {
      r.problem = absl::InvalidArgumentError(absl::StrCat(
          r.file, ": the record's originating officer is \"", r.envelope.originating_officer(),
          "\" but you are sending as \"", s.officer(),
          "\" (set --officer, PORTCULLIS_OFFICER or officer: in the config, or correct the record)"));
    }
  }
  const bool partial = args.Has("--partial");
  if (adapters::CountBad(records) == 0 || partial) {
    v1::Exchange::StubInterface* stub = s.Stub();
    if (stub == nullptr) return kFailed;
    adapters::SubmitBatch(*stub, records, partial);
  }
  return Report(s, records, partial);
}

}  // namespace portcullis::liaison
