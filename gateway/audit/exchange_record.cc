#include "gateway/audit/exchange_record.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace portcullis {

AuditRecord ExchangeAuditRecord(std::string action, const v1::Envelope& e, const std::string& sha256) {
  AuditRecord r;
  r.time_micros = NowMicros();
  r.action = std::move(action);
  r.message_id = e.message_id();
  r.case_reference = e.case_reference();
  r.correlation_id = e.correlation_id();  // v2: which message this one answers.
  r.sender = e.sender();
  r.recipients.assign(e.recipients().begin(), e.recipients().end());
  r.classification = v1::Classification_IsValid(e.classification()) ? v1::Classification_Name(e.classification())
                                                                     : absl::StrCat(e.classification());
  r.handling = HandlingSummary(e);
  r.justification = JustificationSummary(e.justification());
  r.payload_sha256 = sha256;
  return r;
}

std::string JustificationSummary(const v1::Justification& j) {
  return j.purpose().empty() ? j.legal_basis() : absl::StrCat(j.legal_basis(), " | ", j.purpose());
}

std::string HandlingSummary(const v1::Envelope& e) {
  std::string out;
  if (e.has_uk_grading()) {
    const auto& g = e.uk_grading();
    static const char* kSrc[] = {"?", "1", "2", "3"};
    static const char* kIntel[] = {"?", "A", "B", "C", "D", "E"};
    static const char* kHandling[] = {"?", "P", "C"};
    auto pick = [](const char* const* table, int n, int v) { return (v >= 0 && v < n) ? table[v] : "?"; };
    absl::StrAppend(&out, "uk=", pick(kSrc, 4, g.source()), "/", pick(kIntel, 6, g.intelligence()), "/",
                    pick(kHandling, 3, g.handling()));
  }
  if (e.has_europol_evaluation()) {
    const auto& ev = e.europol_evaluation();
    static const char* kSrc[] = {"?", "A", "B", "C", "X"};
    static const char* kAcc[] = {"?", "1", "2", "3", "4"};
    auto pick = [](const char* const* table, int v) { return (v >= 0 && v < 5) ? table[v] : "?"; };
    absl::StrAppend(&out, out.empty() ? "" : " ", "eu=", pick(kSrc, ev.source()), "/", pick(kAcc, ev.accuracy()), "/");
    for (int i = 0; i < ev.handling_size(); ++i) {
      absl::StrAppend(&out, i ? "," : "", "H", std::max(0, static_cast<int>(ev.handling(i)) - 1));
    }
  }
  return out;
}

}  // namespace portcullis
