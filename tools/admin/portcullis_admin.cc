// portcullis-admin: the operator's tool for dead letters and delivery
// statistics, through the gateway's Admin service over mTLS as a party of
// kind `operator` (protos/portcullis/v1/admin.proto).
//
//   portcullis-admin dead-letters [--destination PARTY] --reason TEXT [--officer ID] [--limit N]
//   portcullis-admin retry  DELIVERY_ID --reason TEXT --officer ID
//   portcullis-admin cancel DELIVERY_ID --reason TEXT --officer ID
//   portcullis-admin stats
//   portcullis-admin COMMAND --help   (each command's own flags)
//
// Every call is recorded in the gateway's audit log with the operator's
// identity (and the officer and reason). Tables for people by default, --json
// for scripts. Exit codes: 0 done, 1 the gateway refused the request (not an
// operator, not a dead letter, not found), 2 usage error, 3 the gateway could
// not be reached or failed.
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
#include "mtls/officer_assertion_source.h"
#include "tools/admin/stats_output.h"
#include "tools/common/cli_common.h"
#include "tools/common/json_out.h"
#include "tools/common/table.h"
#include "util/display_text.h"

namespace portcullis::admin_tool {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kOk = 0, kRefused = 1, kUsage = 2, kUnreachable = 3;

constexpr char kFooter[] = R"(
Every call is recorded in the gateway's audit log with your identity (and the officer and reason).
Tables for people by default, --json for scripts (the service's answer as JSON).
`portcullis-admin COMMAND --help` lists each command's flags.
exit codes: 0 done, 1 the gateway refused the request, 2 usage error, 3 the gateway could not be reached
)";

struct Args {
  std::string command, delivery_id, destination, reason, officer, limit_text;
  tools::GatewayFlags gw;
  uint64_t limit = 200;
  bool json = false;
};

int Usage(const std::string& problem) { return cli::UsageError("portcullis-admin", problem, kUsage); }

// The flags every command takes: the gateway's, and --json.
void AddCommon(CLI::App* c, Args* a) {
  tools::AddGatewayFlags(c, &a->gw, "ops-operator");
  c->add_flag("--json", a->json, "machine-readable output (the service's answer as JSON)");
}

void AddDecision(CLI::App* c, Args* a) {
  c->add_option("--reason", a->reason, "why (recorded with your identity in the audit log)")->type_name("TEXT");
  c->add_option("--officer", a->officer,
                "the officer who decided it (recorded); with an officer assertion, default: its verified officer")
      ->type_name("ID");
}

std::optional<int> Parse(int argc, char** argv, Args* a) {
  auto app = cli::NewApp("portcullis-admin",
                           "portcullis-admin: the operator's tool for dead letters and delivery statistics, through "
                           "the gateway's Admin service over mTLS as a party of kind `operator`.");
  app->footer(kFooter);
  app->require_subcommand(0, 1);
  CLI::App* dl = cli::AddCommand(app.get(), "dead-letters",
                                   "deliveries that gave up (FAILED after max_attempts, EXPIRED after max_age), "
                                   "oldest first; needs --reason");
  AddCommon(dl, a);
  AddDecision(dl, a);
  dl->add_option("--destination", a->destination, "only dead letters to this destination")->type_name("PARTY");
  dl->add_option("--limit", a->limit_text, "at most N dead letters (default 200)")->type_name("N");
  for (const char* name : {"retry", "cancel"}) {
    CLI::App* c = cli::AddCommand(
        app.get(), name,
        std::string(name) == "retry"
            ? "send a dead letter again (it becomes ACCEPTED, due now); needs --reason and --officer"
            : "give a dead letter up for good (CANCELLED, never delivered); needs --reason and --officer");
    c->add_option("DELIVERY_ID", a->delivery_id, "the dead letter's delivery id");
    AddCommon(c, a);
    AddDecision(c, a);
  }
  CLI::App* stats = cli::AddCommand(app.get(), "stats",
                                      "per destination: backlog, pushes in flight, breaker, attempts, failures, "
                                      "retries, deliveries, dead letters and lease holder; the replicas");
  AddCommon(stats, a);
  if (std::optional<int> code = cli::ParseCommand(*app, argc, argv, kUsage, &a->command)) return code;
  const bool acts = a->command == "retry" || a->command == "cancel";
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
  // With an officer assertion the gateway records its verified officer (an empty --officer takes it).
  a->gw.officer = a->officer;  // PORTCULLIS_OFFICER for --assertion-command.
  if (acts && a->officer.empty() && mtls::OfficerAssertionSource::FromOptions(tools::AssertionOptions(a->gw)) == nullptr) {
    return Usage("--officer is required: the officer who decided it is recorded (or send your officer assertion)");
  }
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

std::string Json(const google::protobuf::Message& m) { return tools::JsonText(tools::ProtoJson(m)); }

std::string Time(const google::protobuf::Timestamp& t) {
  return t.seconds() == 0 && t.nanos() == 0 ? "-" : TimeUtil::ToString(t).substr(0, 19);
}

std::vector<std::string> DeadLetterRow(const v1::DeadLetter& d) {
  return {d.delivery_id(), v1::DeliveryState_Name(d.state()), d.recipient(), d.sender(), d.message_id(),
          d.case_reference(), absl::StrCat(d.attempts()), Time(d.updated_at()), d.last_error()};
}

// Cells are parties' and endpoints' text: the printer shows them escaped; ids are never cut.
const std::vector<tools::Column> kDeadLetterColumns = {
    {"DELIVERY_ID"}, {"STATE"}, {"DESTINATION"}, {"SENDER"}, {"MESSAGE_ID"}, {"CASE"}, {"ATTEMPTS"}, {"UPDATED"},
    tools::Wrapped("LAST_ERROR", 50)};

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
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : all.dead_letters()) rows.push_back(DeadLetterRow(d));
  tools::PrintTable(std::cout, kDeadLetterColumns, rows);
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
  PrintStats(std::cout, stats);
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
