// portcullis-audit: where the records come from (the gateway's log file read
// directly, or the Audit service over mTLS), and the helpers every command
// shares.
#include <fstream>
#include <iostream>
#include <limits>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/common/describe.h"
#include "portcullis/v1/audit.grpc.pb.h"
#include "tools/audit/audit_tool.h"
#include "util/display_text.h"

namespace portcullis::audit_tool {

using google::protobuf::util::TimeUtil;

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

absl::Status FromGateway(const Args& a, const Sink& sink, uint64_t from_index) {
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

int Fail(const absl::Status& s) {
  std::cerr << "portcullis-audit: " << DisplayText(s.message()) << "\n";
  return kUnreadable;
}

std::string Outcome(const AuditRecord& r) {
  return r.reason.empty() ? r.outcome : absl::StrCat(r.outcome, " (", r.reason, ")");
}

std::string V2Notes(const AuditRecord& r) {
  std::vector<std::string> notes;
  if (!r.correlation_id.empty()) notes.push_back(absl::StrCat("answers ", r.correlation_id));
  if (r.officer_verified) notes.push_back("officer verified");
  if (r.range_first != 0 || r.range_last != 0 || r.action == "adopt_unsigned") {
    notes.push_back(absl::StrCat("records ", r.range_first, "-", r.range_last));
  }
  if (r.count != 0) notes.push_back(absl::StrCat("count ", r.count));
  if (!r.request_id.empty()) notes.push_back(absl::StrCat("request ", r.request_id));
  if (!r.replica_id.empty()) notes.push_back(absl::StrCat("replica ", r.replica_id));
  return absl::StrJoin(notes, "; ");
}

}  // namespace portcullis::audit_tool
