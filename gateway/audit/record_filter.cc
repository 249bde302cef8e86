#include "gateway/audit/record_filter.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gateway/audit/log_format.h"

namespace portcullis {

bool RecordFilter::Matches(const AuditRecord& r) const {
  if (!message_id.empty() && r.message_id != message_id) return false;
  if (!case_reference.empty() && r.case_reference != case_reference) return false;
  if (!officer.empty() && r.actor_officer != officer) return false;
  if (!action.empty() && r.action != action) return false;
  if (!outcome.empty() && r.outcome != outcome) return false;
  if (r.time_micros < from_micros || r.time_micros >= to_micros) return false;
  if (!party.empty() && r.actor_party != party && r.sender != party) {
    for (const auto& p : r.recipients) {
      if (p == party) return true;
    }
    return false;
  }
  return true;
}

std::string RecordFilter::Prefilter() const {
  for (const std::string* s : {&message_id, &case_reference, &officer, &party}) {
    bool plain = !s->empty();
    for (char c : *s) plain = plain && c >= 0x20 && c != '"' && c != '\\' && static_cast<unsigned char>(c) < 0x7f;
    if (plain) return *s;
  }
  return "";
}

std::string RecordFilter::Summary() const {
  std::vector<std::string> parts;
  auto add = [&](const char* k, const std::string& v) {
    if (!v.empty()) parts.push_back(absl::StrCat(k, "=", v));
  };
  add("message_id", message_id);
  add("case_reference", case_reference);
  add("party", party);
  add("officer", officer);
  add("action", action);
  add("outcome", outcome);
  if (from_micros != std::numeric_limits<int64_t>::min()) add("from", FormatRecordTime(from_micros));
  if (to_micros != std::numeric_limits<int64_t>::max()) add("to", FormatRecordTime(to_micros));
  return parts.empty() ? "all records" : absl::StrJoin(parts, " ");
}

}  // namespace portcullis
