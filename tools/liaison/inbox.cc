// liaison inbox (list, show, --follow), ack / reject and reply: everything
// that starts from the party's inbox (adapters/common/native_inbox.h).
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "adapters/common/describe.h"
#include "adapters/common/envelope_json.h"
#include "adapters/common/native_inbox.h"
#include "adapters/common/native_util.h"
#include "tools/liaison/commands.h"
#include "util/display_text.h"

namespace portcullis::liaison {
namespace {

namespace fs = std::filesystem;

// The officer's decision on a delivery, from decisions/<delivery_id>.json.
struct Decision {
  std::string decision;  // "ACCEPT" or "REJECT"
  std::string officer, reason, time;
};

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<Decision> LoadDecision(const std::string& inbox, const std::string& delivery_id) {
  std::optional<std::string> text = ReadFile(adapters::DecisionsDir(inbox) + "/" + delivery_id + ".json");
  if (!text) return std::nullopt;
  google::protobuf::Struct doc;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(*text, &doc, o).ok()) return std::nullopt;
  auto get = [&](const char* key) {
    auto it = doc.fields().find(key);
    return it == doc.fields().end() ? std::string() : it->second.string_value();
  };
  return Decision{get("decision"), get("officer"), get("reason"), get("time")};
}

std::string DecisionText(const std::optional<Decision>& d) {
  if (!d) return "-";
  return absl::StrCat(d->decision == "REJECT" ? "rejected" : "accepted", " by ", d->officer);
}

// The inbox's deliveries; false (after printing why) if the inbox is not there.
bool LoadInbox(const Session& s, std::vector<v1::Delivery>* out) {
  const std::string& inbox = s.config().inbox;
  std::error_code ec;
  if (!fs::is_directory(inbox, ec)) {
    Failure(s, absl::StrCat("the inbox ", inbox, " (inbox: in ", s.config().source,
                            ") does not exist; is the party's adapter running?"));
    return false;
  }
  std::vector<std::string> problems;
  *out = adapters::ListInbox(inbox, &problems);
  for (const std::string& p : problems) std::cerr << "liaison: skipped: " << DisplayText(p) << "\n";
  return true;
}

// Records the officer's reading of `shown` before it is shown (DPA 2018 s.62:
// consultation logs). False (printed) if it could not be recorded.
bool Consulted(const Session& s, const std::string& action, const std::vector<const v1::Delivery*>& shown) {
  adapters::Consultation c;
  c.party = s.config().party;
  c.officer = s.officer();
  c.justification = s.justification();
  c.action = action;
  for (const v1::Delivery* d : shown) c.message_ids.push_back(d->envelope().sender() + "/" + d->envelope().message_id());
  absl::Status recorded = adapters::RecordConsultation(s.config().inbox, c);
  if (!recorded.ok()) Failure(s, absl::StrCat(recorded.message(), "; nothing is shown unrecorded"));
  return recorded.ok();
}

// The delivery named by `id`: a delivery id, or a message id held once.
// Returns the exit code on failure (printed).
std::optional<int> Resolve(const Session& s, const std::string& id, v1::Delivery* out) {
  std::vector<v1::Delivery> all;
  if (!LoadInbox(s, &all)) return kFailed;
  std::vector<const v1::Delivery*> by_message;
  for (const v1::Delivery& d : all) {
    if (d.delivery_id() == id) {
      *out = d;
      return std::nullopt;
    }
    if (d.envelope().message_id() == id) by_message.push_back(&d);
  }
  if (by_message.size() == 1) {
    *out = *by_message[0];
    return std::nullopt;
  }
  if (by_message.empty()) {
    return Failure(s, absl::StrCat("no delivery or message '", id, "' in the inbox ", s.config().inbox));
  }
  std::string message = absl::StrCat("message id '", id, "' is ambiguous: ", by_message.size(),
                                     " deliveries carry it; give the delivery id:");
  for (const v1::Delivery* d : by_message) {
    absl::StrAppend(&message, "\n  ", d->delivery_id(), "  from ", d->envelope().sender(), ", case ",
                    d->envelope().case_reference(), ", received ", TimeText(d->accepted_at()));
  }
  return Failure(s, message, kUsage);
}

const std::vector<std::string> kListHeader = {"RECEIVED", "FROM",     "KIND",     "CASE",
                                              "MESSAGE_ID", "MARKING", "PRIORITY", "DECISION"};

std::vector<std::string> ListRow(const std::string& inbox, const v1::Delivery& d) {
  const v1::Envelope& e = d.envelope();
  return {TimeText(d.accepted_at()), e.sender(),           KindText(e),
          e.case_reference(),        e.message_id(),       MarkingText(e.classification()),
          PriorityText(e.priority()), DecisionText(LoadDecision(inbox, d.delivery_id()))};
}

std::string ListJson(const std::string& inbox, const v1::Delivery& d) {
  const v1::Envelope& e = d.envelope();
  JsonLine j;
  j.Str("delivery_id", d.delivery_id())
      .Str("accepted_at", Rfc3339(d.accepted_at()))
      .Str("from", e.sender())
      .Str("kind", KindText(e))
      .Str("case", e.case_reference())
      .Str("message_id", e.message_id())
      .Str("correlation_id", e.correlation_id())
      .Str("marking", MarkingText(e.classification()))
      .Str("priority", PriorityText(e.priority()));
  if (std::optional<Decision> dec = LoadDecision(inbox, d.delivery_id())) {
    j.Value("decision", JsonLine()
                            .Str("decision", dec->decision)
                            .Str("officer", dec->officer)
                            .Str("reason", dec->reason)
                            .Str("time", dec->time)
                            .json());
  }
  return j.str();
}

bool Matches(const Args& args, const v1::Delivery& d) {
  if (args.Has("--case") && d.envelope().case_reference() != args.Value("--case")) return false;
  if (args.Has("--from") && d.envelope().sender() != args.Value("--from")) return false;
  return true;
}

std::atomic<bool> g_stop{false};
extern "C" void OnSignal(int) { g_stop = true; }

int List(Session& s, const Args& args) {
  std::vector<v1::Delivery> all;
  if (!LoadInbox(s, &all)) return kFailed;
  const std::string& inbox = s.config().inbox;
  std::set<std::string> seen;
  std::vector<const v1::Delivery*> shown;
  for (const v1::Delivery& d : all) {
    if (Matches(args, d)) shown.push_back(&d);
  }
  if (!Consulted(s, "inbox_list", shown)) return kFailed;
  std::vector<std::vector<std::string>> rows = {kListHeader};
  for (const v1::Delivery& d : all) {
    seen.insert(d.delivery_id());
    if (!Matches(args, d)) continue;
    if (s.json()) {
      std::cout << ListJson(inbox, d) << "\n";
    } else {
      rows.push_back(ListRow(inbox, d));
    }
  }
  if (!s.json()) {
    if (rows.size() == 1) {
      std::cout << "no messages in " << DisplayText(inbox)
                << (args.Has("--case") || args.Has("--from") ? " matching --case/--from" : "") << "\n";
    } else {
      PrintTable(rows);
      std::cout << rows.size() - 1 << " message(s)\n";
    }
  }
  if (!args.Has("--follow")) return kOk;

  double timeout = 0;
  if (args.Has("--timeout")) absl::SimpleAtod(args.Value("--timeout"), &timeout);
  const absl::Time deadline = timeout > 0 ? absl::Now() + absl::Seconds(timeout) : absl::InfiniteFuture();
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  if (!s.json()) std::cout << "following " << DisplayText(inbox) << " (Ctrl-C to stop)" << std::endl;
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  while (!g_stop && absl::Now() < deadline) {
    for (int i = 0; i < 6 && !g_stop && absl::Now() < deadline; ++i) absl::SleepFor(absl::Milliseconds(50));
    if (g_stop || absl::Now() >= deadline) break;
    std::vector<v1::Delivery> now = adapters::ListInbox(inbox, nullptr);
    for (const v1::Delivery& d : now) {
      if (seen.count(d.delivery_id()) > 0 || !Matches(args, d)) continue;
      if (!Consulted(s, "inbox_follow", {&d})) return kFailed;
      seen.insert(d.delivery_id());
      if (s.json()) {
        std::cout << ListJson(inbox, d) << std::endl;
        continue;
      }
      // Aligned with the table above where the values fit.
      std::vector<std::string> row = ListRow(inbox, d);
      for (auto& cell : row) cell = DisplayText(cell);
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) {
        line += row[i];
        const size_t w = i < width.size() ? width[i] : 0;
        if (i + 1 < row.size()) line += std::string(w > row[i].size() ? w - row[i].size() + 2 : 2, ' ');
      }
      std::cout << line << std::endl;
    }
  }
  return kOk;
}

void Field(std::vector<std::vector<std::string>>* rows, const std::string& name, const std::string& value) {
  if (!value.empty()) rows->push_back({name, value});
}

std::string PersonText(const v1::Person& p) {
  std::vector<std::string> parts;
  std::string name = absl::StrJoin({p.given_names(), p.family_name()}, " ");
  if (name == " ") name = "(name unknown)";
  parts.push_back(absl::StrCat(name, p.role() == v1::PERSON_ROLE_UNSPECIFIED ? "" : absl::StrCat(", ", v1::PersonRole_Name(p.role()))));
  if (!p.date_of_birth().empty()) parts.push_back("born " + p.date_of_birth());
  if (!p.nationality().empty()) parts.push_back(p.nationality());
  if (p.aliases_size() > 0) parts.push_back("aka " + absl::StrJoin(p.aliases(), ", "));
  if (p.documents_size() > 0) parts.push_back("documents: " + absl::StrJoin(p.documents(), "; "));
  return absl::StrJoin(parts, ", ");
}

// The body in words, for an inbox without a native rendering.
void BodyRows(const v1::Envelope& e, std::vector<std::vector<std::string>>* rows) {
  auto persons = [&](const std::string& label, const google::protobuf::RepeatedPtrField<v1::Person>& list) {
    for (const v1::Person& p : list) Field(rows, label, PersonText(p));
  };
  switch (e.body_case()) {
    case v1::Envelope::kCaseReferral: {
      const auto& b = e.case_referral();
      Field(rows, "summary", b.summary());
      Field(rows, "requested action", b.requested_action());
      if (b.has_crossing()) {
        const auto& c = b.crossing();
        if (c.has_departure_time()) {
          Field(rows, "departure", absl::StrCat(TimeText(c.departure_time()), " ", c.departure_place().description()));
        }
        if (c.has_interception_time()) {
          Field(rows, "interception",
                absl::StrCat(TimeText(c.interception_time()), " ", c.interception_place().description()));
        }
        if (c.has_vessel()) {
          Field(rows, "vessel", absl::StrCat(c.vessel().type(), ", ", c.vessel().persons_on_board(), " on board"));
        }
      }
      persons("person", b.persons());
      persons("facilitator", b.suspected_facilitators());
      break;
    }
    case v1::Envelope::kIntelligenceReport: {
      const auto& b = e.intelligence_report();
      Field(rows, "summary", b.summary());
      persons("subject", b.subjects());
      for (const auto& v : b.vessels()) Field(rows, "vessel", v.type());
      for (const auto& r : b.routes()) Field(rows, "route", r);
      Field(rows, "financial", b.financial());
      break;
    }
    case v1::Envelope::kRequestForInformation: {
      const auto& b = e.request_for_information();
      Field(rows, "question", b.question());
      persons("subject", b.subjects());
      Field(rows, "directly accessible", b.directly_accessible() ? "yes" : "no");
      if (b.has_answer_by()) Field(rows, "answer by", TimeText(b.answer_by()));
      break;
    }
    case v1::Envelope::kResponse:
      Field(rows, "answer", e.response().answer());
      persons("subject", e.response().subjects());
      break;
    case v1::Envelope::BODY_NOT_SET:
      Field(rows, "body", "(none)");
      break;
  }
  for (const auto& a : e.attachments()) {
    Field(rows, "attachment", absl::StrCat(a.file_name(), " (", a.media_type(), ", ", a.content().size(),
                                           " bytes, sha256 ", a.sha256(), ")"));
  }
}

int Show(Session& s, const std::string& id) {
  v1::Delivery d;
  if (std::optional<int> code = Resolve(s, id, &d)) return *code;
  if (!Consulted(s, "inbox_show", {&d})) return kFailed;
  if (s.json()) {
    std::cout << adapters::ToJson(d) << "\n";
    return kOk;
  }
  const v1::Envelope& e = d.envelope();
  std::vector<std::vector<std::string>> rows;
  Field(&rows, "message", e.message_id());
  Field(&rows, "delivery", d.delivery_id());
  Field(&rows, "from", absl::StrCat(e.sender(), ", officer ",
                                    OfficerText(e.originating_officer(), d.originating_officer_verified())));
  Field(&rows, "to", absl::StrJoin(e.recipients(), ", "));
  Field(&rows, "case", e.case_reference());
  Field(&rows, "kind", adapters::BodyTypeName(e));
  Field(&rows, "marking", MarkingText(e.classification()));
  Field(&rows, "UK grading", UkGradingText(e.uk_grading()));
  Field(&rows, "Europol", EuropolText(e.europol_evaluation()));
  Field(&rows, "priority", PriorityText(e.priority()));
  Field(&rows, "in reply to", e.correlation_id());
  Field(&rows, "legal basis", e.justification().legal_basis());
  Field(&rows, "purpose", e.justification().purpose());
  Field(&rows, "created", e.has_created_at() ? TimeText(e.created_at()) : "");
  Field(&rows, "received", absl::StrCat(TimeText(d.accepted_at()), " (attempt ", d.attempt(), ")"));
  const std::optional<Decision> dec = LoadDecision(s.config().inbox, d.delivery_id());
  if (dec) {
    Field(&rows, "decision", absl::StrCat(DecisionText(dec), " at ", dec->time,
                                          dec->reason.empty() ? "" : absl::StrCat(": ", dec->reason)));
  }
  for (auto& row : rows) row[0] += ":";
  PrintTable(rows, {{1, 100}});

  const std::string native = adapters::NativeDir(s.config().inbox) + "/" + d.delivery_id();
  if (std::optional<std::string> text = ReadFile(native + ".json")) {
    std::cout << "\n" << s.config().format->name() << " record (" << DisplayText(native) << ".json):\n"
              << DisplayJson(*text);
    if (!text->empty() && text->back() != '\n') std::cout << "\n";
    return kOk;
  }
  std::cout << "\n";
  if (std::optional<std::string> why = ReadFile(native + ".error.txt")) {
    std::string text(absl::StripTrailingAsciiWhitespace(*why));
    std::cout << "(" << DisplayLines(text) << ")\n";
  } else {
    std::cout << "(no " << s.config().format->name() << " rendering in "
              << DisplayText(adapters::NativeDir(s.config().inbox))
              << ")\n";
  }
  std::vector<std::vector<std::string>> body;
  BodyRows(e, &body);
  for (auto& row : body) row[0] += ":";
  PrintTable(body, {{1, 100}});
  return kOk;
}

}  // namespace

const std::set<std::string>& InboxFlags(const std::string& command) {
  static const std::set<std::string> kInbox = {"--case", "--from", "--follow", "--timeout"};
  static const std::set<std::string> kAck = {};
  static const std::set<std::string> kReject = {"--reason"};
  static const std::set<std::string> kReply = {"--answer", "--marking", "--priority", "--legal-basis", "--purpose",
                                               "--message-id"};
  if (command == "inbox") return kInbox;
  if (command == "reject") return kReject;
  if (command == "reply") return kReply;
  return kAck;
}

std::optional<std::string> CheckInboxArgs(const Args& args) {
  const std::string& command = args.words[0];
  const size_t n = args.words.size();
  if (command == "inbox") {
    const std::string sub = n > 1 ? args.words[1] : "list";
    if (sub == "list") {
      if (n > 2) return absl::StrCat("unexpected argument '", args.words[2], "'");
    } else if (sub == "show") {
      if (n != 3) return "inbox show needs one ID (a delivery id or a message id)";
      for (const char* f : {"--case", "--from", "--follow", "--timeout"}) {
        if (args.Has(f)) return absl::StrCat("inbox show does not take ", f);
      }
    } else {
      return absl::StrCat("unknown inbox command '", sub, "' (list or show ID)");
    }
    if (args.Has("--timeout")) {
      double t = 0;
      if (!args.Has("--follow")) return "--timeout goes with --follow";
      if (!absl::SimpleAtod(args.Value("--timeout"), &t) || t <= 0) return "--timeout must be a positive number of seconds";
    }
    return std::nullopt;
  }
  if (n < 2) return absl::StrCat(command, " needs an ID (a delivery id or a message id from `liaison inbox`)");
  if (n > 2) return absl::StrCat("unexpected argument '", args.words[2], "'");
  if (command == "reject" && args.Value("--reason").empty()) {
    return "reject needs --reason TEXT: the sender is told why, and it is recorded";
  }
  if (command == "reply") {
    if (args.Value("--answer").empty()) return "reply needs --answer TEXT";
    if (args.Has("--marking") && !ParseMarking(args.Value("--marking"))) {
      return absl::StrCat("--marking must be OFFICIAL, OFFICIAL-SENSITIVE or SECRET, not '", args.Value("--marking"),
                          "'");
    }
    if (args.Has("--priority") && !ParsePriority(args.Value("--priority"))) {
      return absl::StrCat("--priority must be ROUTINE, URGENT or IMMEDIATE, not '", args.Value("--priority"), "'");
    }
    if (args.Has("--message-id") && !adapters::IsMessageId(args.Value("--message-id"))) {
      return absl::StrCat("--message-id '", args.Value("--message-id"), "' ", adapters::kMessageIdRule);
    }
  }
  return std::nullopt;
}

int Inbox(Session& s, const Args& args) {
  if (args.words.size() > 1 && args.words[1] == "show") return Show(s, args.words[2]);
  return List(s, args);
}

int Decide(Session& s, const Args& args) {
  const bool reject = args.words[0] == "reject";
  v1::Delivery d;
  if (std::optional<int> code = Resolve(s, args.words[1], &d)) return *code;
  v1::Exchange::StubInterface* stub = s.Stub();
  if (stub == nullptr) return kFailed;
  v1::AcknowledgeRequest req;
  req.set_sender(d.envelope().sender());
  req.set_message_id(d.envelope().message_id());
  req.set_decision(reject ? v1::REJECT : v1::ACCEPT);
  req.set_reason(args.Value("--reason"));
  req.set_officer(s.officer());
  v1::AcknowledgeResponse resp;
  grpc::Status status = stub->Acknowledge(CallContext().get(), req, &resp);
  if (!status.ok()) {
    return Refused(s, absl::StrCat(reject ? "reject " : "ack ", d.envelope().message_id(), " from ",
                                   d.envelope().sender()),
                   status);
  }
  const std::string now = Rfc3339(adapters::ToProtoTime(s.Now()));
  const std::string record = JsonLine()
                                 .Str("delivery_id", d.delivery_id())
                                 .Str("message_id", d.envelope().message_id())
                                 .Str("sender", d.envelope().sender())
                                 .Str("case", d.envelope().case_reference())
                                 .Str("decision", reject ? "REJECT" : "ACCEPT")
                                 .Str("reason", req.reason())
                                 .Str("officer", s.officer())
                                 .Str("justification", s.justification())
                                 .Str("time", now)
                                 .Proto("status", resp.status())
                                 .str();
  const std::string dir = adapters::DecisionsDir(s.config().inbox);
  if (absl::Status w = adapters::WriteFileDurably(dir, d.delivery_id() + ".json", record + "\n"); !w.ok()) {
    return Failure(s, absl::StrCat("the gateway recorded the ", reject ? "rejection" : "acceptance",
                                   ", but the decision file was not written: ", w.message()));
  }
  if (s.json()) {
    std::cout << JsonLine()
                     .Str("decision", reject ? "REJECT" : "ACCEPT")
                     .Str("delivery_id", d.delivery_id())
                     .Str("message_id", d.envelope().message_id())
                     .Str("sender", d.envelope().sender())
                     .Str("decision_file", dir + "/" + d.delivery_id() + ".json")
                     .Proto("status", resp.status())
                     .str()
              << "\n";
    return kOk;
  }
  const v1::RecipientStatus& st = resp.status();
  std::cout << (reject ? "rejected " : "accepted ") << DisplayText(d.envelope().message_id()) << " from "
            << DisplayText(d.envelope().sender()) << " (case " << DisplayText(d.envelope().case_reference()) << ")\n";
  std::cout << "  " << DisplayText(st.party()) << ": " << StateText(st.state()) << " by officer "
            << DisplayText(OfficerText(st.officer(), st.officer_verified())) << " at " << TimeText(st.updated_at())
            << (st.reason().empty() ? "" : absl::StrCat(": ", DisplayText(st.reason()))) << "\n";
  std::cout << "  decision recorded in " << DisplayText(dir) << "/" << DisplayText(d.delivery_id()) << ".json\n";
  return kOk;
}

int Reply(Session& s, const Args& args) {
  v1::Delivery d;
  if (std::optional<int> code = Resolve(s, args.words[1], &d)) return *code;
  const v1::Envelope& original = d.envelope();
  v1::Envelope e;
  e.set_message_id(args.Value("--message-id", NewMessageId(s.config().party, s.Now())));
  e.set_correlation_id(original.message_id());
  e.set_case_reference(original.case_reference());
  e.set_originating_officer(s.officer());
  e.add_recipients(original.sender());
  *e.mutable_created_at() = adapters::ToProtoTime(s.Now());
  e.set_classification(args.Has("--marking") ? *ParseMarking(args.Value("--marking")) : original.classification());
  e.set_priority(args.Has("--priority") ? *ParsePriority(args.Value("--priority")) : original.priority());
  e.mutable_justification()->set_legal_basis(args.Value("--legal-basis", original.justification().legal_basis()));
  e.mutable_justification()->set_purpose(args.Value("--purpose", s.justification()));
  e.mutable_response()->set_answer(args.Value("--answer"));
  return SubmitOne(s, e, absl::StrCat("(reply to ", original.message_id(), ")"));
}

}  // namespace portcullis::liaison
