// portcullis-audit export: matching records as JSON Lines (each record's line
// exactly as stored) or CSV (util/display_text.h CsvCell: escaped, safe
// against formula injection).
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/audit/audit_tool.h"
#include "util/display_text.h"

namespace portcullis::audit_tool {
namespace {

std::string CsvField(const std::string& s) { return CsvCell(s); }

}  // namespace

int Export(const Args& a) {
  // The whole log through the gateway, as JSON Lines to a file: a signed copy
  // (FILE and FILE.checkpoints) that `verify --log FILE` checks offline, the
  // way an auditor takes the trail out of a database-backed gateway.
  if (a.format == "jsonl" && !a.out.empty() && !a.gw.gateway.empty() && a.filter.empty()) {
    const std::string checkpoints = a.out + ".checkpoints";
    absl::Status s = DownloadSignedLog(a, a.out, checkpoints);
    if (!s.ok()) return Fail(s);
    std::cerr << "exported the whole log to " << a.out << " with its signed checkpoint in " << checkpoints
              << " (check it offline: portcullis-audit verify --log " << a.out << " --public-key PEM)\n";
    return kOk;
  }
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!a.out.empty()) {
    file.open(a.out, std::ios::binary | std::ios::trunc);
    if (!file) return Fail(absl::UnavailableError(absl::StrCat("cannot write ", a.out)));
    out = &file;
  }
  if (a.format == "csv") {
    *out << "index,time,action,actor_party,actor_officer,message_id,case_reference,sender,recipients,"
            "classification,handling,justification,outcome,reason,detail,payload_sha256,peer,"
            "format,correlation_id,officer_verified,request_id,replica_id,count,range_first,range_last\n";
  }
  uint64_t n = 0;
  absl::Status s = Records(a, [&](const Entry& e) {
    ++n;
    if (a.format == "jsonl") {
      *out << e.line << "\n";
      return true;
    }
    const AuditRecord& r = e.record;
    *out << r.index << "," << CsvField(FormatRecordTime(r.time_micros)) << "," << CsvField(r.action) << ","
         << CsvField(r.actor_party) << "," << CsvField(r.actor_officer) << "," << CsvField(r.message_id) << ","
         << CsvField(r.case_reference) << "," << CsvField(r.sender) << "," << CsvField(absl::StrJoin(r.recipients, ";"))
         << "," << CsvField(r.classification) << "," << CsvField(r.handling) << "," << CsvField(r.justification) << ","
         << CsvField(r.outcome) << "," << CsvField(r.reason) << "," << CsvField(r.detail) << ","
         << CsvField(r.payload_sha256) << "," << CsvField(r.peer) << "," << e.version << ","
         << CsvField(r.correlation_id) << "," << (r.officer_verified ? "true" : "false") << ","
         << CsvField(r.request_id) << "," << CsvField(r.replica_id) << "," << r.count << "," << r.range_first << ","
         << r.range_last << "\n";
    return true;
  });
  if (!s.ok()) return Fail(s);
  out->flush();
  if (!*out) return Fail(absl::UnavailableError(absl::StrCat("write failed: ", a.out.empty() ? "stdout" : a.out)));
  if (!a.out.empty()) std::cerr << "exported " << n << " record(s) to " << a.out << "\n";
  return kOk;
}

}  // namespace portcullis::audit_tool
