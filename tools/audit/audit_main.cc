// portcullis-audit: the auditor's tool for the exchange log.
//
//   portcullis-audit verify  --log FILE [--public-key PEM] [--witness FILE]... [--allow-unsigned-tail]
//   portcullis-audit verify  --gateway ADDR --as PARTY --public-key PEM [--witness FILE]... [--wait SECONDS]
//   portcullis-audit search  SOURCE [filters] [--limit N]
//   portcullis-audit show    MESSAGE_ID SOURCE
//   portcullis-audit export  SOURCE --format jsonl|csv [--out FILE] [filters]
//   portcullis-audit prove   INDEX SOURCE --public-key PEM
//   portcullis-audit COMMAND --help   (each command's own flags)
//
// SOURCE is --log FILE (the gateway's files, read directly) or --gateway ADDR
// --as PARTY --reason TEXT (the Audit service, over mTLS as an auditor; the
// query and its reason are recorded). Tables for people by default, --json
// for scripts. Text a party supplied is shown escaped (util/display_text.h):
// no party can forge what the auditor's screen or spreadsheet shows. Records
// of format v1 and v2 (docs/audit-format.md) are read alike. Exit codes: 0
// fine, 1 the log failed verification, 2 usage error, 3 a file or the gateway
// could not be read. One file per command: audit_tool.h.
#include <iostream>
#include <optional>
#include <string>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tools/audit/audit_tool.h"
#include "tools/common/cli_common.h"
#include "util/display_text.h"

namespace portcullis::audit_tool {
namespace {

using google::protobuf::util::TimeUtil;

const char kFooter[] = R"(
where the records come from (one of):
  --log FILE              the gateway's audit log file (its .checkpoints file is read next to it)
  --gateway HOST:PORT     the gateway's Audit service, over mTLS as an auditor; needs --as and, for
                          search/show/export, --reason (recorded with your identity)

`portcullis-audit COMMAND --help` lists each command's flags.

exit codes: 0 fine, 1 verification found a problem, 2 usage error, 3 input could not be read
)";

int Usage(const std::string& problem) { return cli::UsageError("portcullis-audit", problem, kUsage); }

std::optional<int64_t> ParseTime(const std::string& text) {
  google::protobuf::Timestamp ts;
  if (!TimeUtil::FromString(text, &ts)) return std::nullopt;
  return TimeUtil::TimestampToMicroseconds(ts);
}

// The command line as given, before its checks.
struct Raw {
  std::string limit, wait, from, to;
};

void AddSource(CLI::App* c, Args* a) {
  c->add_option("--log", a->log, "the gateway's audit log file (its .checkpoints file is read next to it)")
      ->type_name("FILE");
  tools::AddGatewayFlags(c, &a->gw, "audit-ico", /*party_alias=*/false);  // --party filters.
  c->add_option("--reason", a->reason, "why you look (required through the gateway; recorded)")->type_name("TEXT");
}

void AddJson(CLI::App* c, Args* a) { c->add_flag("--json", a->json, "machine-readable output (one JSON document)"); }

void AddFilters(CLI::App* c, Args* a, Raw* raw) {
  const char* g = "Filters";
  c->add_option("--message-id", a->filter.message_id, "records of this message")->type_name("ID")->group(g);
  c->add_option("--case", a->filter.case_reference, "records of this case")->type_name("REF")->group(g);
  c->add_option("--party", a->filter.party, "records naming this party")->type_name("PARTY")->group(g);
  c->add_option("--officer", a->filter.officer, "records of this officer")->type_name("ID")->group(g);
  c->add_option("--action", a->filter.action, "records of this action")->type_name("ACTION")->group(g);
  c->add_option("--outcome", a->filter.outcome, "records with this outcome")->type_name("OUTCOME")->group(g);
  c->add_option("--from", raw->from, "from this time, inclusive (RFC 3339, e.g. 2026-11-28T00:00:00Z)")
      ->type_name("TIME")->group(g);
  c->add_option("--to", raw->to, "to this time, exclusive (RFC 3339)")->type_name("TIME")->group(g);
}

void AddPublicKey(CLI::App* c, Args* a) {
  c->add_option("--public-key", a->public_key,
                "the gateway's checkpoint public key (Ed25519); without it signatures are not checked")
      ->type_name("PEM");
}

std::optional<int> Parse(int argc, char** argv, Args* a) {
  auto app = cli::NewApp("portcullis-audit", "portcullis-audit: the auditor's tool for the exchange log.");
  app->footer(kFooter);
  app->require_subcommand(0, 1);
  Raw raw;
  CLI::App* verify = cli::AddCommand(app.get(), "verify",
                                       "recompute the hash chain and Merkle roots, check every checkpoint signature "
                                       "and witness copy; report the first bad record and the kind of tampering. "
                                       "Records after the last signed checkpoint fail as `unsigned_tail` (unless "
                                       "--allow-unsigned-tail); every range the gateway adopted unsigned at start-up "
                                       "is listed. Through --gateway it downloads every record, waits (up to --wait) "
                                       "for a checkpoint covering them and recomputes the same (the download is "
                                       "recorded as an audit query)");
  AddSource(verify, a);
  AddPublicKey(verify, a);
  verify->add_option("--witness", a->witnesses,
                     "a witness's checkpoints.log (repeatable). Without one, truncating the log and its checkpoints "
                     "file together cannot be detected")
      ->type_name("FILE")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  verify->add_flag("--allow-unsigned-tail", a->allow_unsigned_tail,
                   "report records after the last checkpoint as a note instead of failing");
  verify->add_option("--wait", raw.wait,
                     "through --gateway: how long to wait for a checkpoint covering every record read (default 10, "
                     "the shipped audit.checkpoint_interval_seconds)")
      ->type_name("SECONDS");
  AddJson(verify, a);

  CLI::App* search = cli::AddCommand(app.get(), "search", "records matching the filters, as a table (or --json)");
  AddSource(search, a);
  AddFilters(search, a, &raw);
  search->add_option("--limit", raw.limit, "at most N records (default 200)")->type_name("N");
  AddJson(search, a);

  CLI::App* show = cli::AddCommand(app.get(), "show",  // show MESSAGE_ID
                                     "one exchange's story (submitted, delivered, acknowledged, consulted) as a "
                                     "timeline");
  show->add_option("MESSAGE_ID", a->positional, "the message");
  AddSource(show, a);
  AddJson(show, a);

  CLI::App* exp = cli::AddCommand(app.get(), "export", "matching records as JSON Lines or CSV");
  AddSource(exp, a);
  AddFilters(exp, a, &raw);
  exp->add_option("--format", a->format, "jsonl (each record's line as stored, default) or csv")
      ->type_name("jsonl|csv");
  exp->add_option("--out", a->out, "write to FILE instead of standard output")->type_name("FILE");

  CLI::App* prove = cli::AddCommand(app.get(), "prove",
                                      "prove that record INDEX (a receipt's audit index) is in the log: an RFC 6962 "
                                      "inclusion proof checked against a signed checkpoint (needs --public-key). Through "
                                      "--gateway any party may prove the records of its own messages");
  prove->add_option("INDEX", a->positional, "the record's index");
  AddSource(prove, a);
  AddPublicKey(prove, a);
  AddJson(prove, a);

  if (std::optional<int> code = cli::ParseCommand(*app, argc, argv, kUsage, &a->command)) return code;

  if (!raw.limit.empty() && (!absl::SimpleAtoi(raw.limit, &a->limit) || a->limit == 0)) {
    return Usage("--limit must be a positive number");
  }
  if (!raw.wait.empty() && (!absl::SimpleAtoi(raw.wait, &a->wait_seconds) || a->wait_seconds > 3600)) {
    return Usage("--wait must be a number of seconds (0 to 3600)");
  }
  for (const auto& [flag, text, slot] : {std::tuple{"--from", &raw.from, &a->filter.from_micros},
                                         std::tuple{"--to", &raw.to, &a->filter.to_micros}}) {
    if (text->empty()) continue;
    std::optional<int64_t> t = ParseTime(*text);
    if (!t) return Usage(absl::StrCat(flag, " '", *text, "' is not an RFC 3339 time such as 2026-11-28T00:00:00Z"));
    *slot = *t;
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
