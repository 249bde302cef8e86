// liaison track and case: consultations of the gateway's records, each
// naming the officer and the justification (audited by the gateway).
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "adapters/common/envelope_json.h"
#include "adapters/common/native_util.h"
#include "tools/liaison/commands.h"
#include "util/display_text.h"

namespace portcullis::liaison {
namespace {

std::string Dash(const std::string& s) { return s.empty() ? "-" : s; }


}  // namespace

const std::set<std::string>& TrackFlags(const std::string& command) {
  static const std::set<std::string> kTrack = {"--from"};
  static const std::set<std::string> kCase = {};
  return command == "track" ? kTrack : kCase;
}

std::optional<std::string> CheckTrackArgs(const Args& args) {
  const std::string& command = args.words[0];
  if (args.words.size() < 2) {
    return command == "track" ? "track needs a MESSAGE_ID" : "case needs a case reference (REF)";
  }
  if (args.words.size() > 2) return absl::StrCat("unexpected argument '", args.words[2], "'");
  if (command == "track" && !adapters::IsMessageId(args.words[1])) {
    return absl::StrCat("message id '", args.words[1], "' ", adapters::kMessageIdRule);
  }
  return std::nullopt;
}

int Track(Session& s, const Args& args) {
  v1::Exchange::StubInterface* stub = s.Stub();
  if (stub == nullptr) return kFailed;
  v1::TrackRequest req;
  req.set_sender(args.Value("--from"));
  req.set_message_id(args.words[1]);
  req.set_officer(s.officer());
  req.set_justification(s.justification());
  v1::TrackResponse resp;
  grpc::Status status = stub->Track(CallContext().get(), req, &resp);
  if (!status.ok()) {
    return Refused(s, absl::StrCat("track ", req.message_id(), req.sender().empty() ? "" : " from " + req.sender()),
                   status);
  }
  if (s.json()) {
    std::cout << tools::JsonText(tools::ProtoJson(resp)) << "\n";
    return kOk;
  }
  std::cout << DisplayText(resp.message_id()) << "  case " << DisplayText(resp.case_reference()) << "  from "
            << DisplayText(resp.sender()) << "  accepted "
            << TimeText(resp.accepted_at()) << "  by "
            << DisplayText(OfficerText(resp.originating_officer(), resp.originating_officer_verified()));
  if (resp.has_answer_by()) std::cout << "  answer due " << TimeText(resp.answer_by());
  std::cout << "\n";
  std::vector<std::vector<std::string>> rows = {
      {"RECIPIENT", "STATE", "UPDATED", "ATTEMPTS", "OFFICER", "NEXT_ATTEMPT", "REASON"}};
  for (const v1::RecipientStatus& r : resp.recipients()) {
    rows.push_back({r.party(), StateText(r.state()), TimeText(r.updated_at()), absl::StrCat(r.attempts()),
                    OfficerText(r.officer(), r.officer_verified()), r.has_next_attempt_at() ? TimeText(r.next_attempt_at()) : "-",
                    Dash(r.reason())});
  }
  PrintTable(rows, {{6, 60}});  // REASON wraps; ids and times never.
  return kOk;
}

int Case(Session& s, const Args& args) {
  v1::Exchange::StubInterface* stub = s.Stub();
  if (stub == nullptr) return kFailed;
  v1::ListCaseRequest req;
  req.set_case_reference(args.words[1]);
  req.set_officer(s.officer());
  req.set_justification(s.justification());
  req.set_page_size(500);
  v1::ListCaseResponse all;
  all.set_case_reference(req.case_reference());
  // A page may end before a message whose acceptance is being recorded (an
  // empty page with the same token): wait a little, but never loop for ever,
  // and never hold more than kMaxCaseMessages.
  constexpr int kMaxCaseMessages = 100000;
  int stalled = 0;
  for (;;) {
    v1::ListCaseResponse page;
    grpc::Status status = stub->ListCase(CallContext().get(), req, &page);
    if (!status.ok()) return Refused(s, absl::StrCat("case ", req.case_reference()), status);
    for (const v1::CaseMessage& m : page.messages()) *all.add_messages() = m;
    if (page.next_page_token().empty()) break;
    if (all.messages_size() >= kMaxCaseMessages) {
      std::cerr << "liaison: case " << DisplayText(req.case_reference()) << ": showing the first " << all.messages_size()
                << " messages only\n";
      break;
    }
    const bool progress = page.messages_size() > 0 || page.next_page_token() != req.page_token();
    stalled = progress ? 0 : stalled + 1;
    if (stalled > 20) return Failure(s, absl::StrCat("case ", req.case_reference(),
                                                     ": the gateway's listing does not advance; try again later"));
    if (!progress) absl::SleepFor(absl::Milliseconds(100 * stalled));
    req.set_page_token(page.next_page_token());
  }
  if (s.json()) {
    std::cout << tools::JsonText(tools::ProtoJson(all)) << "\n";
    return kOk;
  }
  if (all.messages_size() == 0) {
    std::cout << "no messages of case " << DisplayText(all.case_reference()) << " sent or received by "
              << DisplayText(s.config().party)
              << "\n";
    return kOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ACCEPTED", "FROM", "OFFICER", "KIND", "MESSAGE_ID", "CORRELATION", "MARKING", "ANSWER_DUE", "RECIPIENTS"}};
  for (const v1::CaseMessage& m : all.messages()) {
    std::vector<std::string> states;
    for (const v1::RecipientStatus& r : m.recipients()) {
      states.push_back(absl::StrCat(r.party(), " ", StateText(r.state())));
    }
    rows.push_back({TimeText(m.accepted_at()), m.sender(),
                    OfficerText(m.originating_officer(), m.originating_officer_verified()), KindText(m.body_type()),
                    m.message_id(),
                    Dash(m.correlation_id()), MarkingText(m.classification()),
                    m.has_answer_by() ? TimeText(m.answer_by()) : "-", absl::StrJoin(states, ", ")});
  }
  std::cout << "case " << DisplayText(all.case_reference()) << "\n";
  PrintTable(rows, {{8, 60}});  // RECIPIENTS wraps; ids and times never.
  std::cout << all.messages_size() << " message(s)\n";
  return kOk;
}

}  // namespace portcullis::liaison
