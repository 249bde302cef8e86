// portcullis-admin: the operator's tool for dead letters and delivery
// statistics, through the gateway's Admin service over mTLS as a party of
// kind `operator` (protos/portcullis/v1/admin.proto).
//
//   portcullis-admin dead-letters [--destination PARTY] --reason TEXT [--officer ID] [--limit N]
//   portcullis-admin retry  DELIVERY_ID --reason TEXT --officer ID
//   portcullis-admin cancel DELIVERY_ID --reason TEXT --officer ID
//   portcullis-admin stats
//
// Every call is recorded in the gateway's audit log with the operator's
// identity (and the officer and reason). Tables for people by default, --json
// for scripts. Exit codes: 0 done, 1 the gateway refused the request (not an
// operator, not a dead letter, not found), 2 usage error, 3 the gateway could
// not be reached or failed.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "adapters/common/describe.h"
#include "portcullis/v1/admin.grpc.pb.h"
#include "tools/common/gateway_flags.h"
#include "util/display_text.h"

namespace portcullis::admin_tool {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kOk = 0, kRefused = 1, kUsage = 2, kUnreachable = 3;

std::string UsageText() {
  return absl::StrCat(R"(usage: portcullis-admin COMMAND --gateway HOST:PORT --as PARTY [options]

commands:
  dead-letters            deliveries that gave up (FAILED after max_attempts, EXPIRED after max_age), oldest
                          first; needs --reason; --destination PARTY for one destination, --limit N (default 200)
  retry DELIVERY_ID       send a dead letter again (it becomes ACCEPTED, due now); needs --reason and --officer
  cancel DELIVERY_ID      give a dead letter up for good (CANCELLED, never delivered); needs --reason and --officer
  stats                   per destination: backlog, pushes in flight, breaker, attempts, failures, retries,
                          deliveries and dead letters

options:
  --gateway HOST:PORT     the gateway's address
)",
                      tools::GatewayFlagsUsage("operator", "ops-operator"),
                      R"(  --reason TEXT           why (recorded with your identity in the audit log)
  --officer ID            the officer who decided it (recorded)
  --json                  machine-readable output (the service's answer as JSON)

Every call is recorded in the gateway's audit log.
exit codes: 0 done, 1 the gateway refused the request, 2 usage error, 3 the gateway could not be reached
)");
}

struct Args {
  std::string command, delivery_id, destination, reason, officer, limit_text;
  tools::GatewayFlags gw = tools::DefaultGatewayFlags();
  uint64_t limit = 200;
  bool json = false;
};

int Usage(const std::string& problem) {
  std::cerr << "portcullis-admin: " << DisplayText(problem) << "\n(run `portcullis-admin --help` for usage)\n";
  return kUsage;
}

std::optional<int> Parse(int argc, char** argv, Args* a) {
  std::vector<std::string> rest(argv + 1, argv + argc);
  if (rest.empty()) return Usage("no command given");
  if (rest[0] == "--help" || rest[0] == "-h" || rest[0] == "help") {
    std::cout << UsageText();
    return kOk;
  }
  a->command = rest[0];
  const bool acts = a->command == "retry" || a->command == "cancel";
  if (!acts && a->command != "dead-letters" && a->command != "stats") {
    return Usage(absl::StrCat("unknown command '", a->command, "'"));
  }
  std::map<std::string, std::string*> strings = {{"--destination", &a->destination},
                                                 {"--reason", &a->reason},
                                                 {"--officer", &a->officer},
                                                 {"--limit", &a->limit_text}};
  tools::AddGatewayFlags(&a->gw, &strings);
  for (size_t i = 1; i < rest.size(); ++i) {
    const std::string& flag = rest[i];
    if (flag == "--json") {
      a->json = true;
      continue;
    }
    if (flag == "--help" || flag == "-h") {
      std::cout << UsageText();
      return kOk;
    }
    if (flag.rfind("--", 0) != 0) {
      if (acts && a->delivery_id.empty()) {
        a->delivery_id = flag;
        continue;
      }
      return Usage(absl::StrCat("unexpected argument '", flag, "'"));
    }
    auto it = strings.find(flag);
    if (it == strings.end()) return Usage(absl::StrCat("unknown option '", flag, "'"));
    if (i + 1 >= rest.size() || rest[i + 1].rfind("--", 0) == 0) return Usage(absl::StrCat(flag, " needs a value"));
    *it->second = rest[++i];
  }
  if (!a->limit_text.empty() && (!absl::SimpleAtoi(a->limit_text, &a->limit) || a->limit == 0)) {
    return Usage("--limit must be a positive number");
  }
  if (a->gw.gateway.empty()) return Usage("--gateway HOST:PORT is required");
  if (a->gw.as.empty() && a->gw.cert.empty()) {
    return Usage("--gateway needs your operator certificate: --as PARTY (or --cert/--key)");
  }
  if (acts && a->delivery_id.empty()) return Usage(absl::StrCat(a->command, " needs a DELIVERY_ID"));
  if ((acts || a->command == "dead-letters") && a->reason.empty()) {
    return Usage("--reason is required: it is recorded with your identity");
  }
  if (acts && a->officer.empty()) return Usage("--officer is required: the officer who decided it is recorded");
  if (!a->destination.empty() && a->command != "dead-letters") return Usage("--destination is for dead-letters");
  return std::nullopt;
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

// Exit code and message for a failed call.
int Failed(const grpc::Status& s) {
  std::cerr << "portcullis-admin: the gateway refused: " << DisplayText(adapters::DescribeStatus(s)) << "\n";
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
      return kUnreachable;
    default:
      return kRefused;
  }
}

std::string Json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(m, &out, o).ok()) return "{}";
  return out;
}

std::string Time(const google::protobuf::Timestamp& t) {
  return t.seconds() == 0 && t.nanos() == 0 ? "-" : TimeUtil::ToString(t).substr(0, 19);
}

// Cells hold parties' and endpoints' text (message ids, error text from a
// partner's endpoint): rows are built with every such cell escaped
// (util/display_text.h); Clip escapes, then cuts.
std::string Clip(const std::string& s, size_t n) { return DisplayClip(s, n); }
std::string Safe(const std::string& s) { return DisplayText(s); }

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
    std::cout << line << "\n";
  }
}

std::vector<std::string> DeadLetterRow(const v1::DeadLetter& d) {
  return {Safe(d.delivery_id()), v1::DeliveryState_Name(d.state()), Safe(d.recipient()), Safe(d.sender()),
          Safe(d.message_id()), Safe(d.case_reference()), absl::StrCat(d.attempts()), Time(d.updated_at()),
          Clip(d.last_error(), 50)};
}

const std::vector<std::string> kDeadLetterHeader = {"DELIVERY_ID", "STATE", "DESTINATION", "SENDER", "MESSAGE_ID",
                                                    "CASE", "ATTEMPTS", "UPDATED", "LAST_ERROR"};

int DeadLetters(v1::Admin::Stub& stub, const Args& a) {
  v1::ListDeadLettersRequest req;
  req.set_destination(a.destination);
  req.set_reason(a.reason);
  req.set_officer(a.officer);
  v1::ListDeadLettersResponse all;
  while (static_cast<uint64_t>(all.dead_letters_size()) < a.limit) {
    req.set_page_size(static_cast<uint32_t>(std::min<uint64_t>(1000, a.limit - all.dead_letters_size())));
    v1::ListDeadLettersResponse page;
    grpc::Status s = stub.ListDeadLetters(Context().get(), req, &page);
    if (!s.ok()) return Failed(s);
    for (const auto& d : page.dead_letters()) *all.add_dead_letters() = d;
    if (page.next_page_token().empty()) break;
    req.set_page_token(page.next_page_token());
    all.set_next_page_token(page.next_page_token());
  }
  if (static_cast<uint64_t>(all.dead_letters_size()) < a.limit) all.clear_next_page_token();
  if (a.json) {
    std::cout << Json(all) << "\n";
    return kOk;
  }
  if (all.dead_letters_size() == 0) {
    std::cout << "no dead letters" << (a.destination.empty() ? "" : " to " + DisplayText(a.destination)) << "\n";
    return kOk;
  }
  std::vector<std::vector<std::string>> rows = {kDeadLetterHeader};
  for (const auto& d : all.dead_letters()) rows.push_back(DeadLetterRow(d));
  PrintTable(rows);
  std::cout << all.dead_letters_size() << " dead letter(s)"
            << (all.next_page_token().empty() ? "" : " (more: raise --limit)") << "\n";
  return kOk;
}

int Act(v1::Admin::Stub& stub, const Args& a) {
  v1::DeadLetter out;
  grpc::Status s;
  if (a.command == "retry") {
    v1::RetryDeadLetterRequest req;
    req.set_delivery_id(a.delivery_id);
    req.set_reason(a.reason);
    req.set_officer(a.officer);
    s = stub.RetryDeadLetter(Context().get(), req, &out);
  } else {
    v1::CancelDeadLetterRequest req;
    req.set_delivery_id(a.delivery_id);
    req.set_reason(a.reason);
    req.set_officer(a.officer);
    s = stub.CancelDeadLetter(Context().get(), req, &out);
  }
  if (!s.ok()) return Failed(s);
  if (a.json) {
    std::cout << Json(out) << "\n";
    return kOk;
  }
  std::cout << (a.command == "retry" ? "retried: " : "cancelled: ") << DisplayText(out.delivery_id()) << " ("
            << DisplayText(out.message_id()) << " from " << DisplayText(out.sender()) << " to "
            << DisplayText(out.recipient()) << ") is now "
            << v1::DeliveryState_Name(out.state()) << " after " << out.attempts() << " attempt(s)\n";
  return kOk;
}

int Stats(v1::Admin::Stub& stub, const Args& a) {
  v1::DeliveryStats stats;
  grpc::Status s = stub.GetDeliveryStats(Context().get(), v1::GetDeliveryStatsRequest(), &stats);
  if (!s.ok()) return Failed(s);
  if (a.json) {
    std::cout << Json(stats) << "\n";
    return kOk;
  }
  std::vector<std::vector<std::string>> rows = {{"DESTINATION", "MODE", "BACKLOG", "BYTES", "IN_FLIGHT", "BREAKER",
                                                 "ATTEMPTS", "FAILURES", "RETRIES", "DELIVERED", "DEAD",
                                                 "EXPIRED", "DL_FAILED", "DL_EXPIRED", "CANCELLED"}};
  for (const auto& d : stats.destinations()) {
    rows.push_back({Safe(d.destination()), Safe(d.mode()), absl::StrCat(d.backlog_messages()), absl::StrCat(d.backlog_bytes()),
                    absl::StrCat(d.in_flight()), d.breaker().empty() ? "-" : Safe(d.breaker()), absl::StrCat(d.attempts()),
                    absl::StrCat(d.failures()), absl::StrCat(d.retries_scheduled()), absl::StrCat(d.delivered()),
                    absl::StrCat(d.dead_lettered()), absl::StrCat(d.expired()),
                    absl::StrCat(d.dead_letters_failed()), absl::StrCat(d.dead_letters_expired()),
                    absl::StrCat(d.cancelled())});
  }
  PrintTable(rows);
  std::cout << "counters since the gateway started; backlog, in flight and DL_* (dead letters in the store) now, at "
            << Time(stats.taken_at()) << "Z\n";
  return kOk;
}

int Main(int argc, char** argv) {
  Args a;
  if (std::optional<int> code = Parse(argc, argv, &a)) return *code;
  auto channel = tools::Dial(a.gw);
  if (!channel.ok()) {
    std::cerr << "portcullis-admin: " << DisplayText(channel.status().message()) << "\n";
    return kUnreachable;
  }
  auto stub = v1::Admin::NewStub(*channel);
  if (a.command == "dead-letters") return DeadLetters(*stub, a);
  if (a.command == "stats") return Stats(*stub, a);
  return Act(*stub, a);
}

}  // namespace
}  // namespace portcullis::admin_tool

int main(int argc, char** argv) { return portcullis::admin_tool::Main(argc, argv); }
