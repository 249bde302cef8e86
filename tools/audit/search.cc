// portcullis-audit search (records matching the filters, as a table or one
// JSON document) and show (one exchange's story as a timeline).
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/audit/audit_tool.h"
#include "tools/common/json_out.h"
#include "tools/common/table.h"
#include "util/display_text.h"

namespace portcullis::audit_tool {
namespace {

// Ids, indexes and times are never wrapped (tools/common/table.h); parties' free text is.
const std::vector<tools::Column> kSearchColumns = {
    {"INDEX"},      {"TIME (UTC)"},  {"ACTION"},
    {"ACTOR"},      {"OFFICER"},     {"MESSAGE"},
    {"CASE"},       tools::Wrapped("RECIPIENTS", 28), tools::Wrapped("OUTCOME", 40),
    tools::Wrapped("NOTES", 40)};

const std::vector<tools::Column> kShowColumns = {
    {"TIME (UTC)"}, {"INDEX"}, tools::Wrapped("WHAT", 40), {"WHO"}, tools::Wrapped("OUTCOME", 40),
    tools::Wrapped("DETAIL", 60), tools::Wrapped("NOTES", 40)};

// The records' lines exactly as stored (their hashes cover those bytes).
std::vector<std::string> Lines(const std::vector<Entry>& entries) {
  std::vector<std::string> lines;
  for (const Entry& e : entries) lines.push_back(e.line);
  return lines;
}

}  // namespace

int Search(const Args& a) {
  std::vector<Entry> found;
  bool more = false;
  absl::Status s = Records(a, [&](const Entry& e) {
    if (found.size() >= a.limit) {
      more = true;
      return false;
    }
    found.push_back(e);
    return true;
  });
  if (!s.ok()) return Fail(s);
  if (a.json) {
    tools::Json doc;
    doc["count"] = found.size();
    doc["truncated"] = more;
    std::cout << tools::JsonWithLines(tools::Json::object(), "records", Lines(found), doc) << "\n";
    return kOk;
  }
  if (found.empty()) {
    std::cout << "no record matches (" << DisplayText(a.filter.Summary()) << ")\n";
    return kOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const Entry& e : found) {
    const AuditRecord& r = e.record;
    rows.push_back({absl::StrCat(r.index), FormatRecordTime(r.time_micros).substr(0, 19), r.action, r.actor_party,
                    r.actor_officer, r.message_id, r.case_reference, absl::StrJoin(r.recipients, ","), Outcome(r),
                    V2Notes(r)});
  }
  tools::PrintTable(std::cout, kSearchColumns, rows);
  std::cout << found.size() << " record(s)" << (more ? absl::StrCat(", more not shown (raise --limit)") : "") << "\n";
  return kOk;
}

int Show(const Args& a) {
  std::vector<Entry> story;
  absl::Status s = Records(a, [&](const Entry& e) {
    story.push_back(e);
    return true;
  });
  if (!s.ok()) return Fail(s);
  if (a.json) {
    tools::Json doc;
    doc["message_id"] = a.positional;
    std::cout << tools::JsonWithLines(doc, "events", Lines(story)) << "\n";
    return kOk;
  }
  if (story.empty()) {
    std::cout << "no record of message '" << DisplayText(a.positional) << "'\n";
    return kOk;
  }
  const AuditRecord& first = story.front().record;
  std::string answers;  // The message this one answers (v2 correlation_id), from any of its records.
  for (const Entry& e : story) {
    if (answers.empty()) answers = e.record.correlation_id;
  }
  std::cout << "message   " << DisplayText(first.message_id) << "\n";
  if (!answers.empty()) std::cout << "answers   " << DisplayText(answers) << "\n";
  std::cout << "case      " << DisplayText(first.case_reference) << "\n"
            << "sender    " << DisplayText(first.sender) << "\n"
            << "to        " << DisplayText(absl::StrJoin(first.recipients, ", ")) << "\n"
            << "marking   " << DisplayText(first.classification) << "  " << DisplayText(first.handling) << "\n"
            << "basis     " << DisplayText(first.justification) << "\n"
            << "payload   sha256:" << DisplayText(first.payload_sha256) << "\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const Entry& e : story) {
    const AuditRecord& r = e.record;
    std::string who = r.actor_officer.empty() ? r.actor_party : absl::StrCat(r.actor_party, " / ", r.actor_officer);
    std::string what = r.action;
    if (r.action == "deliver" || r.action == "acknowledge") what += " -> " + absl::StrJoin(r.recipients, ",");
    rows.push_back({FormatRecordTime(r.time_micros), absl::StrCat(r.index), what, who, Outcome(r), r.detail,
                    V2Notes(r)});
  }
  tools::PrintTable(std::cout, kShowColumns, rows);
  return kOk;
}

}  // namespace portcullis::audit_tool
