// portcullis-audit's parts, one file per command (as tools/liaison):
// audit_main.cc (command line), records.cc (where records come from: the
// log file or the Audit service), search.cc (search, show), export.cc,
// verify.cc, prove.cc. Each command takes the parsed command line, prints
// its result and returns the exit code. Not thread-safe (one command per
// process).
#ifndef PORTCULLIS_TOOLS_AUDIT_AUDIT_TOOL_H_
#define PORTCULLIS_TOOLS_AUDIT_AUDIT_TOOL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/audit/log_format.h"
#include "gateway/audit/record_filter.h"
#include "tools/common/cli_common.h"

namespace portcullis::audit_tool {

// Exit codes (documented in --help and docs/audit-format.md).
inline constexpr int kOk = 0, kTampered = 1, kUsage = 2, kUnreadable = 3;

// The command line, checked (audit_main.cc).
struct Args {
  std::string command, positional;
  std::string log, reason;
  tools::GatewayFlags gw;
  std::string public_key, format = "jsonl", out;
  std::vector<std::string> witnesses;
  RecordFilter filter;
  uint64_t limit = 200;
  uint64_t index = 0;          // prove
  uint64_t wait_seconds = 10;  // verify --gateway
  bool json = false;
  bool allow_unsigned_tail = false;
};

// One record as read: parsed, its line exactly as stored, its format version (1 or 2).
struct Entry {
  AuditRecord record;
  std::string line;
  int version = 0;
};

using Sink = std::function<bool(const Entry&)>;  // false = stop.

// The records matching a.filter, from --log (read directly) or --gateway
// (the Audit service, from record `from_index` on), in index order.
absl::Status FromFile(const Args& a, const Sink& sink);
absl::Status FromGateway(const Args& a, const Sink& sink, uint64_t from_index = 0);
absl::Status Records(const Args& a, const Sink& sink);

// The whole log from --gateway with a signed checkpoint covering it, written
// as `log_path` and `checkpoints_path` (verify.cc): files the offline
// verifier (verify --log) checks like the gateway's own.
absl::Status DownloadSignedLog(const Args& a, const std::string& log_path, const std::string& checkpoints_path);

// A channel to the gateway (--gateway and the TLS flags).
absl::StatusOr<std::shared_ptr<grpc::Channel>> Dial(const Args& a);

// Prints "portcullis-audit: <message>" on stderr; returns kUnreadable.
int Fail(const absl::Status& s);

// The outcome with its reason, for people: "refused (REASON)".
std::string Outcome(const AuditRecord& r);
// The v2 fields that are set, for people: "answers M; officer verified; ...".
std::string V2Notes(const AuditRecord& r);

int Search(const Args& a);
int Show(const Args& a);
int Export(const Args& a);
int VerifyFiles(const Args& a);
int VerifyGateway(const Args& a);
int Prove(const Args& a);

}  // namespace portcullis::audit_tool

#endif  // PORTCULLIS_TOOLS_AUDIT_AUDIT_TOOL_H_
