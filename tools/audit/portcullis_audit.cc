// portcullis-audit: the auditor's tool for the exchange log.
//
//   portcullis-audit verify  --log FILE [--public-key PEM] [--witness FILE]... [--allow-unsigned-tail]
//   portcullis-audit verify  --gateway ADDR --as PARTY --public-key PEM [--witness FILE]... [--wait SECONDS]
//   portcullis-audit search  SOURCE [filters] [--limit N]
//   portcullis-audit show    MESSAGE_ID SOURCE
//   portcullis-audit export  SOURCE --format jsonl|csv [--out FILE] [filters]
//   portcullis-audit prove   INDEX SOURCE --public-key PEM
//
// SOURCE is --log FILE (the gateway's files, read directly) or --gateway ADDR
// --as PARTY --reason TEXT (the Audit service, over mTLS as an auditor; the
// query and its reason are recorded). Tables for people by default, --json
// for scripts. Text a party supplied is shown escaped (util/display_text.h):
// no party can forge what the auditor's screen or spreadsheet shows. Records
// of format v1 and v2 (docs/audit-format.md) are read alike. Exit codes: 0
// fine, 1 the log failed verification, 2 usage error, 3 a file or the gateway
// could not be read.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/common/describe.h"
#include "adapters/common/gateway_client.h"
#include "gateway/audit/checkpoint.h"
#include "gateway/audit/log_format.h"
#include "gateway/audit/log_verifier.h"
#include "gateway/audit/merkle.h"
#include "gateway/audit/record_filter.h"
#include "portcullis/v1/audit.grpc.pb.h"
#include "tools/common/gateway_flags.h"
#include "util/display_text.h"

namespace portcullis::audit_tool {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kOk = 0, kTampered = 1, kUsage = 2, kUnreadable = 3;

const char kUsageText[] = R"(usage: portcullis-audit COMMAND [options]

commands:
  verify                  recompute the hash chain and Merkle roots, check every checkpoint signature and
                          witness copy; report the first bad record and the kind of tampering. Records
                          after the last signed checkpoint fail as `unsigned_tail` (unless
                          --allow-unsigned-tail); every range the gateway adopted unsigned at start-up is
                          listed. Through --gateway it downloads every record, waits (up to --wait) for a
                          checkpoint covering them and recomputes the same (the download is recorded as an
                          audit query)
  search                  records matching the filters, as a table (or --json)
  show MESSAGE_ID         one exchange's story (submitted, delivered, acknowledged, consulted) as a timeline
  export                  matching records as JSON Lines or CSV (--format jsonl|csv, --out FILE)
  prove INDEX             prove that record INDEX (a receipt's audit index) is in the log: an RFC 6962
                          inclusion proof checked against a signed checkpoint (needs --public-key).
                          Through --gateway any party may prove the records of its own messages

where the records come from (one of):
  --log FILE              the gateway's audit log file (its .checkpoints file is read next to it)
  --gateway HOST:PORT     the gateway's Audit service, over mTLS as an auditor; needs --as and, for
                          search/show/export, --reason (recorded with your identity)
  --as PARTY              your certificate: a stem in the PKI (e.g. audit-ico), or set --cert/--key/--ca/--crl-dir
  --pki DIR               the PKI directory (default $PORTCULLIS_PKI or build/pki)
  --reason TEXT           why you look (required through the gateway)

verify:
  --public-key PEM        the gateway's checkpoint public key (Ed25519); without it signatures are not checked
  --witness FILE          a witness's checkpoints.log (repeatable). Without one, truncating the log and
                          its checkpoints file together cannot be detected
  --allow-unsigned-tail   report records after the last checkpoint as a note instead of failing
  --wait SECONDS          through --gateway: how long to wait for a checkpoint covering every record read
                          (default 10, the shipped audit.checkpoint_interval_seconds; set it to the
                          gateway's value if larger)

filters (search, export):
  --message-id ID  --case REF  --party PARTY  --officer ID  --action ACTION  --outcome OUTCOME
  --from TIME  --to TIME  (RFC 3339, e.g. 2026-11-28T00:00:00Z; from inclusive, to exclusive)   --limit N (search: default 200)

output:
  --json                  machine-readable output (one JSON document)

exit codes: 0 fine, 1 verification found a problem, 2 usage error, 3 input could not be read
)";

struct Args {
  std::string command, positional;
  std::string log, reason;
  tools::GatewayFlags gw = tools::DefaultGatewayFlags();
  std::string public_key, format = "jsonl", out;
  std::vector<std::string> witnesses;
  RecordFilter filter;
  uint64_t limit = 200;
  uint64_t index = 0;  // prove
  uint64_t wait_seconds = 10;  // verify --gateway
  bool json = false;
  bool allow_unsigned_tail = false;
};

int Usage(const std::string& problem) {
  std::cerr << "portcullis-audit: " << problem << "\n(run `portcullis-audit --help` for usage)\n";
  return kUsage;
}

std::optional<int64_t> ParseTime(const std::string& text) {
  google::protobuf::Timestamp ts;
  if (!TimeUtil::FromString(text, &ts)) return std::nullopt;
  return TimeUtil::TimestampToMicroseconds(ts);
}

// Parses argv; returns an exit code on error.
std::optional<int> Parse(int argc, char** argv, Args* a) {
  std::vector<std::string> rest(argv + 1, argv + argc);
  if (rest.empty()) return Usage("no command given");
  if (rest[0] == "--help" || rest[0] == "-h" || rest[0] == "help") {
    std::cout << kUsageText;
    return kOk;
  }
  a->command = rest[0];
  if (a->command != "verify" && a->command != "search" && a->command != "show" && a->command != "export" &&
      a->command != "prove") {
    return Usage(absl::StrCat("unknown command '", a->command, "'"));
  }
  std::map<std::string, std::string*> strings = {
      {"--log", &a->log},         {"--reason", &a->reason},
      {"--public-key", &a->public_key}, {"--format", &a->format},   {"--out", &a->out},
      {"--message-id", &a->filter.message_id}, {"--case", &a->filter.case_reference},
      {"--party", &a->filter.party}, {"--officer", &a->filter.officer}, {"--action", &a->filter.action},
      {"--outcome", &a->filter.outcome}};
  tools::AddGatewayFlags(&a->gw, &strings);
  for (size_t i = 1; i < rest.size(); ++i) {
    const std::string& flag = rest[i];
    if (flag == "--json") {
      a->json = true;
      continue;
    }
    if (flag == "--allow-unsigned-tail") {
      a->allow_unsigned_tail = true;
      continue;
    }
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsageText;
      return kOk;
    }
    if (flag.rfind("--", 0) != 0) {
      if ((a->command == "show" || a->command == "prove") && a->positional.empty()) {
        a->positional = flag;
        continue;
      }
      return Usage(absl::StrCat("unexpected argument '", DisplayText(flag), "'"));
    }
    const bool known = strings.count(flag) > 0 || flag == "--witness" || flag == "--limit" || flag == "--from" ||
                       flag == "--to" || flag == "--wait";
    if (!known) return Usage(absl::StrCat("unknown option '", DisplayText(flag), "'"));
    if (i + 1 >= rest.size() || rest[i + 1].rfind("--", 0) == 0) {
      return Usage(absl::StrCat(flag, " needs a value"));
    }
    const std::string& value = rest[++i];
    if (auto it = strings.find(flag); it != strings.end()) {
      *it->second = value;
    } else if (flag == "--witness") {
      a->witnesses.push_back(value);
    } else if (flag == "--limit") {
      if (!absl::SimpleAtoi(value, &a->limit) || a->limit == 0) return Usage("--limit must be a positive number");
    } else if (flag == "--wait") {
      if (!absl::SimpleAtoi(value, &a->wait_seconds) || a->wait_seconds > 3600) {
        return Usage("--wait must be a number of seconds (0 to 3600)");
      }
    } else if (flag == "--from" || flag == "--to") {
      std::optional<int64_t> t = ParseTime(value);
      if (!t) return Usage(absl::StrCat(flag, " '", value, "' is not an RFC 3339 time such as 2026-11-28T00:00:00Z"));
      (flag == "--from" ? a->filter.from_micros : a->filter.to_micros) = *t;
    } else {
      return Usage(absl::StrCat("unknown option '", flag, "'"));
    }
  }
  if (a->log.empty() == a->gw.gateway.empty()) return Usage("give exactly one of --log FILE or --gateway HOST:PORT");
  if (!a->gw.gateway.empty() && a->gw.as.empty() && a->gw.cert.empty()) {
    return Usage("--gateway needs your auditor certificate: --as PARTY (or --cert/--key)");
  }
  if (!a->gw.gateway.empty() && a->command != "verify" && a->command != "prove" && a->reason.empty()) {
    return Usage("--reason is required through the gateway: it is recorded with your identity");
  }
  if (a->command == "show") {
    if (a->positional.empty()) return Usage("show needs a MESSAGE_ID");
    a->filter.message_id = a->positional;
  }
  if (a->command == "prove") {
    if (a->positional.empty() || !absl::SimpleAtoi(a->positional, &a->index)) {
      return Usage("prove needs the record's INDEX (a number: the audit index on a receipt)");
    }
    if (a->public_key.empty()) return Usage("prove needs --public-key: a proof is only worth the checkpoint's signature");
  }
  if (a->command == "export" && a->format != "jsonl" && a->format != "csv") {
    return Usage(absl::StrCat("--format must be jsonl or csv, not '", a->format, "'"));
  }
  if (a->command == "verify" && !a->gw.gateway.empty() && a->public_key.empty()) {
    return Usage("verify --gateway needs --public-key: a checkpoint is only worth its signature");
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Where records come from.

struct Entry {
  AuditRecord record;
  std::string line;
  int version = 0;  // The record's format version (1 or 2).
};

using Sink = std::function<bool(const Entry&)>;  // false = stop.

absl::StatusOr<std::shared_ptr<grpc::Channel>> Dial(const Args& a) { return tools::Dial(a.gw); }

absl::Status FromFile(const Args& a, const Sink& sink) {
  std::ifstream in(a.log, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", a.log));
  const std::string needle = a.filter.Prefilter();
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (in.eof()) break;  // Torn last line: not a record.
    if (!needle.empty() && line.find(needle) == std::string::npos) continue;
    int version = 0;
    auto r = ParseLine(line, &version);
    if (!r.ok()) {
      return absl::DataLossError(absl::StrCat(a.log, ":", n, ": ", r.status().message(),
                                              " (run `portcullis-audit verify`)"));
    }
    if (!a.filter.Matches(*r)) continue;
    if (!sink(Entry{*std::move(r), line, version})) break;
  }
  return absl::OkStatus();
}

absl::Status FromGateway(const Args& a, const Sink& sink, uint64_t from_index = 0) {
  auto channel = Dial(a);
  if (!channel.ok()) return channel.status();
  auto stub = v1::Audit::NewStub(*channel);
  v1::AuditQueryRequest req;
  v1::AuditFilter* f = req.mutable_filter();
  f->set_message_id(a.filter.message_id);
  f->set_case_reference(a.filter.case_reference);
  f->set_party(a.filter.party);
  f->set_officer(a.filter.officer);
  f->set_action(a.filter.action);
  f->set_outcome(a.filter.outcome);
  if (a.filter.from_micros != std::numeric_limits<int64_t>::min())
    *f->mutable_from() = TimeUtil::MicrosecondsToTimestamp(a.filter.from_micros);
  if (a.filter.to_micros != std::numeric_limits<int64_t>::max())
    *f->mutable_to() = TimeUtil::MicrosecondsToTimestamp(a.filter.to_micros);
  req.set_reason(a.reason);
  req.set_page_size(1000);
  if (from_index > 0) req.set_page_token(absl::StrCat(from_index));
  for (;;) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::AuditQueryResponse resp;
    grpc::Status s = stub->Query(&ctx, req, &resp);
    if (!s.ok()) return absl::UnavailableError(absl::StrCat("the gateway refused the query: ", adapters::DescribeStatus(s)));
    for (const v1::AuditEntry& e : resp.entries()) {
      int version = 0;
      auto r = ParseLine(e.line(), &version);
      if (!r.ok()) return absl::DataLossError(absl::StrCat("record ", e.index(), ": ", r.status().message()));
      if (!sink(Entry{*std::move(r), e.line(), version})) return absl::OkStatus();
    }
    if (resp.next_page_token().empty()) return absl::OkStatus();
    req.set_page_token(resp.next_page_token());
  }
}

absl::Status Records(const Args& a, const Sink& sink) { return a.log.empty() ? FromGateway(a, sink) : FromFile(a, sink); }

// ---------------------------------------------------------------------------
// Output helpers.

std::string JsonString(absl::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

// A party's text for a table cell: escaped, then cut to `width`.
std::string Clip(const std::string& s, size_t width) { return DisplayClip(s, width); }

// The v2 fields that are set, for people: "answers M; officer verified; ...".
std::string V2Notes(const AuditRecord& r) {
  std::vector<std::string> notes;
  if (!r.correlation_id.empty()) notes.push_back(absl::StrCat("answers ", DisplayText(r.correlation_id)));
  if (r.officer_verified) notes.push_back("officer verified");
  if (r.range_first != 0 || r.range_last != 0 || r.action == "adopt_unsigned") {
    notes.push_back(absl::StrCat("records ", r.range_first, "-", r.range_last));
  }
  if (r.count != 0) notes.push_back(absl::StrCat("count ", r.count));
  if (!r.request_id.empty()) notes.push_back(absl::StrCat("request ", DisplayText(r.request_id)));
  if (!r.replica_id.empty()) notes.push_back(absl::StrCat("replica ", DisplayText(r.replica_id)));
  return absl::StrJoin(notes, "; ");
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
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
    while (!line.empty() && line.back() == ' ') line.pop_back();  // An empty last column leaves no trailing blanks.
    std::cout << line << "\n";
  }
}

std::string Outcome(const AuditRecord& r) {
  return r.reason.empty() ? r.outcome : absl::StrCat(r.outcome, " (", r.reason, ")");
}

int Fail(const absl::Status& s) {
  std::cerr << "portcullis-audit: " << DisplayText(s.message()) << "\n";
  return kUnreadable;
}

// ---------------------------------------------------------------------------
// Commands.

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
    std::cout << "{\"records\":[";
    for (size_t i = 0; i < found.size(); ++i) std::cout << (i ? "," : "") << found[i].line;
    std::cout << "],\"count\":" << found.size() << ",\"truncated\":" << (more ? "true" : "false") << "}\n";
    return kOk;
  }
  if (found.empty()) {
    std::cout << "no record matches (" << DisplayText(a.filter.Summary()) << ")\n";
    return kOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"INDEX", "TIME (UTC)", "ACTION", "ACTOR", "OFFICER", "MESSAGE", "CASE", "RECIPIENTS", "OUTCOME", "NOTES"}};
  for (const Entry& e : found) {
    const AuditRecord& r = e.record;
    rows.push_back({absl::StrCat(r.index), FormatRecordTime(r.time_micros).substr(0, 19), Clip(r.action, 20),
                    Clip(r.actor_party, 24), Clip(r.actor_officer, 16), Clip(r.message_id, 28),
                    Clip(r.case_reference, 18), Clip(absl::StrJoin(r.recipients, ","), 28), Clip(Outcome(r), 40),
                    V2Notes(r)});
  }
  PrintTable(rows);
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
    std::cout << "{\"message_id\":" << JsonString(a.positional) << ",\"events\":[";
    for (size_t i = 0; i < story.size(); ++i) std::cout << (i ? "," : "") << story[i].line;
    std::cout << "]}\n";
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
  std::vector<std::vector<std::string>> rows = {{"TIME (UTC)", "INDEX", "WHAT", "WHO", "OUTCOME", "DETAIL", "NOTES"}};
  for (const Entry& e : story) {
    const AuditRecord& r = e.record;
    std::string who = r.actor_officer.empty() ? r.actor_party : absl::StrCat(r.actor_party, " / ", r.actor_officer);
    std::string what = r.action;
    if (r.action == "deliver" || r.action == "acknowledge") what += " -> " + absl::StrJoin(r.recipients, ",");
    rows.push_back({FormatRecordTime(r.time_micros), absl::StrCat(r.index), DisplayText(what), DisplayText(who),
                    DisplayText(Outcome(r)), Clip(r.detail, 60), V2Notes(r)});
  }
  PrintTable(rows);
  return kOk;
}

std::string CsvField(const std::string& s) { return CsvCell(s); }

int Export(const Args& a) {
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

int PrintReport(const Args& a, const VerifyReport& r, const std::string& source) {
  if (a.json) {
    std::cout << "{\"ok\":" << (r.problem ? "false" : "true") << ",\"source\":" << JsonString(source)
              << ",\"records\":" << r.records << ",\"checkpoints\":" << r.checkpoints
              << ",\"witness_checkpoints\":" << r.witness_checkpoints << ",\"signed_size\":" << r.signed_size
              << ",\"signed_root\":" << JsonString(r.signed_root)
              << ",\"signatures_checked\":" << (r.signatures_checked ? "true" : "false")
              << ",\"format_versions\":{\"v1\":" << r.v1_records << ",\"v2\":" << r.v2_records << "}";
    std::cout << ",\"adopted\":[";
    for (size_t i = 0; i < r.adopted.size(); ++i) {
      const AdoptedRange& ad = r.adopted[i];
      std::cout << (i ? "," : "") << "{\"record\":" << ad.record_index << ",\"first\":" << ad.first
                << ",\"last\":" << ad.last << ",\"time\":" << JsonString(FormatRecordTime(ad.time_micros))
                << ",\"detail\":" << JsonString(ad.detail) << "}";
    }
    std::cout << "]";
    if (r.problem) {
      std::cout << ",\"problem\":{\"kind\":\"" << TamperKindName(r.problem->kind) << "\",\"index\":" << r.problem->index
                << ",\"message\":" << JsonString(r.problem->message) << "}";
    }
    std::cout << ",\"warnings\":[";
    for (size_t i = 0; i < r.warnings.size(); ++i) std::cout << (i ? "," : "") << JsonString(r.warnings[i]);
    std::cout << "]}\n";
  } else if (r.problem) {
    std::cout << "FAILED: " << TamperKindName(r.problem->kind) << " at record " << r.problem->index << "\n  "
              << DisplayText(r.problem->message) << "\n";
    const TamperKind k = r.problem->kind;
    if (k == TamperKind::kModified || k == TamperKind::kDeleted || k == TamperKind::kInserted ||
        k == TamperKind::kReordered) {
      std::cout << "  (the " << r.records << " records before it verified)\n";
    }
  } else {
    std::cout << "OK: " << r.records << " records from " << DisplayText(source) << ", hash chain intact\n"
              << "    " << r.checkpoints << " checkpoint(s)"
              << (r.signatures_checked ? " with valid signatures" : " (signatures NOT checked)") << ", "
              << r.witness_checkpoints << " witness checkpoint(s) agree\n"
              << "    signed through record " << (r.signed_size ? r.signed_size - 1 : 0) << ": root " << r.signed_root
              << "\n";
  }
  if (!a.json) {
    for (const AdoptedRange& ad : r.adopted) {
      std::cout << "adopted unsigned: records " << ad.first << " to " << ad.last << " (record " << ad.record_index
                << ", " << FormatRecordTime(ad.time_micros) << "): " << DisplayText(ad.detail) << "\n";
    }
    if (r.v1_records > 0 && r.v2_records > 0) {
      std::cout << "note: " << r.v1_records << " record(s) in format v1, then " << r.v2_records
                << " in format v2 (the gateway was upgraded)\n";
    }
    for (const auto& w : r.warnings) std::cout << "note: " << DisplayText(w) << "\n";
  }
  return r.problem ? kTampered : kOk;
}

int RunVerify(const Args& a, VerifyOptions o, const std::string& source) {
  o.public_key_path = a.public_key;
  o.witness_paths = a.witnesses;
  o.allow_unsigned_tail = a.allow_unsigned_tail;
  const bool tty = ::isatty(STDERR_FILENO) && !a.json;
  if (tty) {
    o.progress = [](uint64_t records, uint64_t bytes, uint64_t total) {
      std::fprintf(stderr, "\rverifying: %llu records, %3.0f%%", static_cast<unsigned long long>(records),
                   total ? 100.0 * static_cast<double>(bytes) / static_cast<double>(total) : 100.0);
    };
  }
  auto report = VerifyLog(o);
  if (tty) std::fprintf(stderr, "\n");
  if (!report.ok()) return Fail(report.status());
  return PrintReport(a, *report, source);
}

int VerifyFiles(const Args& a) {
  VerifyOptions o;
  o.log_path = a.log;
  return RunVerify(a, std::move(o), a.log);
}

// Through the service: download every record, wait (up to --wait) for a
// signed checkpoint covering all of them, download what the log grew to by
// then, and recompute everything (chain, Merkle roots, signature, witness
// copies) exactly as from files. Records still not covered when the wait ends
// are an unsigned tail (a failure unless --allow-unsigned-tail).
int VerifyGateway(const Args& a) {
  auto channel = Dial(a);
  if (!channel.ok()) return Fail(channel.status());
  auto stub = v1::Audit::NewStub(*channel);

  char dir_template[] = "/tmp/portcullis-audit-verify.XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return Fail(absl::UnavailableError("cannot create a temporary folder"));
  const std::string dir = dir_template;
  VerifyOptions o;
  o.log_path = dir + "/audit.log";
  o.checkpoints_path = dir + "/audit.log.checkpoints";
  auto get_checkpoint = [&](v1::SignedCheckpoint* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub->GetCheckpoint(&ctx, v1::GetCheckpointRequest(), out);
  };
  auto run = [&]() -> int {
    // First the latest checkpoint: a caller who is not an auditor is refused
    // here, before anything is downloaded.
    v1::SignedCheckpoint latest;
    grpc::Status s = get_checkpoint(&latest);
    if (!s.ok() && s.error_code() != grpc::StatusCode::UNAVAILABLE) {
      return Fail(absl::UnavailableError(absl::StrCat("GetCheckpoint: ", adapters::DescribeStatus(s))));
    }
    std::ofstream log(o.log_path, std::ios::binary);
    Args all = a;
    all.filter = RecordFilter();
    if (all.reason.empty()) all.reason = "portcullis-audit verify: integrity check of the whole log";
    uint64_t n = 0;
    absl::Status downloaded = Records(all, [&](const Entry& e) {
      log << e.line << "\n";
      ++n;
      return true;
    });
    if (!downloaded.ok()) return Fail(downloaded);
    // A checkpoint covering the n records read: signed on demand by the
    // gateway (at most once a second), or periodically.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(a.wait_seconds);
    while (!s.ok() || latest.tree_size() < n) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      s = get_checkpoint(&latest);
      if (!s.ok() && s.error_code() != grpc::StatusCode::UNAVAILABLE) {
        return Fail(absl::UnavailableError(absl::StrCat("GetCheckpoint: ", adapters::DescribeStatus(s))));
      }
      if (s.ok() && latest.tree_size() >= n) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        if (!s.ok()) return Fail(absl::UnavailableError(absl::StrCat("GetCheckpoint: ", adapters::DescribeStatus(s))));
        break;  // Not covered in time: the verifier names the unsigned tail.
      }
    }
    const uint64_t m = latest.tree_size();
    if (m > n) {  // The log grew meanwhile (not least by this download's own records): read up to m.
      downloaded = FromGateway(all, [&](const Entry& e) {
        if (e.record.index >= m) return false;
        log << e.line << "\n";
        return e.record.index + 1 < m;
      }, n);
      if (!downloaded.ok()) return Fail(downloaded);
    }
    log.flush();
    if (!log) return Fail(absl::UnavailableError(absl::StrCat("cannot write ", o.log_path)));
    const Checkpoint c{latest.tree_size(), latest.root_hash(), TimeUtil::TimestampToMicroseconds(latest.time()),
                       latest.key_id(), latest.signature()};
    std::ofstream(o.checkpoints_path) << CheckpointToLine(c) << "\n";
    return RunVerify(a, o, "gateway " + a.gw.gateway);
  };
  const int code = run();
  std::filesystem::remove_all(dir);
  return code;
}

// An inclusion proof for record a.index, checked against a signed checkpoint.
struct Proof {
  std::string line;
  Checkpoint checkpoint;
  std::vector<merkle::Hash> path;
};

absl::StatusOr<Proof> ProofFromFiles(const Args& a) {
  auto checkpoints = ReadCheckpointFile(a.log + ".checkpoints");
  if (!checkpoints.ok()) return checkpoints.status();
  if (checkpoints->empty() || checkpoints->back().size <= a.index) {
    return absl::FailedPreconditionError(absl::StrCat("record ", a.index, " is not covered by a signed checkpoint in ",
                                                      a.log, ".checkpoints yet"));
  }
  Proof p;
  p.checkpoint = checkpoints->back();
  std::ifstream in(a.log, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", a.log));
  merkle::MemoryLeafSource leaves;
  merkle::MerkleTree tree(&leaves);
  std::string line;
  while (leaves.size() < p.checkpoint.size && std::getline(in, line) && !in.eof()) {
    if (leaves.size() == a.index) p.line = line;
    leaves.Add(merkle::LeafHash(line));
    tree.Append(merkle::LeafHash(line));
  }
  if (leaves.size() < p.checkpoint.size) {
    return absl::DataLossError(absl::StrCat(a.log, " holds fewer records than its checkpoint (",
                                            p.checkpoint.size, "): run `portcullis-audit verify`"));
  }
  auto path = tree.InclusionProof(a.index, p.checkpoint.size);
  if (!path.ok()) return path.status();
  p.path = *std::move(path);
  return p;
}

absl::StatusOr<Proof> ProofFromGateway(const Args& a) {
  auto channel = Dial(a);
  if (!channel.ok()) return channel.status();
  auto stub = v1::Audit::NewStub(*channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::InclusionProofRequest req;
  req.set_index(a.index);
  v1::InclusionProof resp;
  grpc::Status s = stub->GetInclusionProof(&ctx, req, &resp);
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("GetInclusionProof: ", adapters::DescribeStatus(s)));
  if (!resp.has_checkpoint()) return absl::DataLossError("the gateway sent a proof without its signed checkpoint");
  const v1::SignedCheckpoint& c = resp.checkpoint();
  Proof p;
  p.line = resp.leaf_line();
  p.checkpoint = Checkpoint{c.tree_size(), c.root_hash(), TimeUtil::TimestampToMicroseconds(c.time()), c.key_id(),
                            c.signature()};
  for (const auto& h : resp.path()) {
    p.path.emplace_back();
    if (!merkle::FromHex(h, &p.path.back())) return absl::DataLossError("the proof holds a malformed hash");
  }
  if (resp.tree_size() != c.tree_size() || resp.index() != a.index) {
    return absl::DataLossError("the proof does not match its checkpoint");
  }
  return p;
}

int Prove(const Args& a) {
  auto verifier = CheckpointVerifier::Load(a.public_key);
  if (!verifier.ok()) return Fail(verifier.status());
  auto proof = a.log.empty() ? ProofFromGateway(a) : ProofFromFiles(a);
  if (!proof.ok()) return Fail(proof.status());
  const Checkpoint& c = proof->checkpoint;
  std::string problem;
  merkle::Hash root;
  auto record = ParseLine(proof->line);
  if (absl::Status v = (*verifier)->Verify(c); !v.ok()) {
    problem = absl::StrCat("the checkpoint's signature is not valid: ", v.message());
  } else if (!merkle::FromHex(c.root, &root) ||
             !merkle::VerifyInclusion(a.index, c.size, merkle::LeafHash(proof->line), proof->path, root)) {
    problem = absl::StrCat("the audit path does not lead from record ", a.index, " to the signed root");
  } else if (!record.ok() || record->index != a.index) {
    problem = absl::StrCat("the record is not a valid audit line for index ", a.index);
  }
  if (a.json) {
    std::cout << "{\"proved\":" << (problem.empty() ? "true" : "false") << ",\"index\":" << a.index
              << ",\"tree_size\":" << c.size << ",\"root\":" << JsonString(c.root)
              << ",\"path_length\":" << proof->path.size() << ",\"record\":" << proof->line;
    if (!problem.empty()) std::cout << ",\"problem\":" << JsonString(problem);
    std::cout << "}\n";
  } else if (!problem.empty()) {
    std::cout << "NOT PROVED: " << DisplayText(problem) << "\n";
  } else {
    std::cout << "PROVED: record " << a.index << " (" << DisplayText(record->action) << " "
              << DisplayText(record->message_id) << ", " << DisplayText(record->outcome) << ", "
              << FormatRecordTime(record->time_micros) << ")\n"
              << "    is in the log signed at size " << c.size << ", root " << c.root << "\n"
              << "    (" << proof->path.size() << "-hash audit path; checkpoint signed by key " << c.key_id << " at "
              << FormatRecordTime(c.time_micros) << ")\n";
  }
  return problem.empty() ? kOk : kTampered;
}

int Main(int argc, char** argv) {
  Args a;
  if (std::optional<int> code = Parse(argc, argv, &a)) return *code;
  if (a.command == "verify") return a.log.empty() ? VerifyGateway(a) : VerifyFiles(a);
  if (a.command == "search") return Search(a);
  if (a.command == "show") return Show(a);
  if (a.command == "prove") return Prove(a);
  return Export(a);
}

}  // namespace
}  // namespace portcullis::audit_tool

int main(int argc, char** argv) { return portcullis::audit_tool::Main(argc, argv); }
