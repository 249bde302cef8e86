// portcullis-submit: the minimal UK agency client. Loads an envelope from
// JSON, submits it to the gateway over mutual TLS, prints the receipt, and
// with --wait follows each recipient's delivery state until every recipient
// has acknowledged, rejected or failed, or the time is up.
//
// Exit codes: 0 submitted (and, with --wait, acknowledged by every
// recipient); 1 refused or runtime failure; 2 usage error; 3 with --wait:
// a recipient rejected it, delivery failed, or the time ran out.
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/util/time_util.h>
#include <grpcpp/client_context.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/common/describe.h"
#include "portcullis/v1/refusal_status.h"
#include "adapters/common/envelope_json.h"
#include "adapters/common/gateway_client.h"
#include "portcullis/v1/exchange.grpc.pb.h"
#include "tools/common/cli_common.h"
#include "tools/common/json_out.h"

namespace portcullis::adapters {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kUsageCode = 2;

constexpr auto kCallTimeout = std::chrono::seconds(30);
constexpr auto kPollInterval = std::chrono::milliseconds(200);

int Usage(const std::string& error) { return cli::UsageError("portcullis-submit", error, kUsageCode); }

int Fail(const std::string& error) {
  std::fprintf(stderr, "portcullis-submit: %s\n", error.c_str());
  return 1;
}

void Emit(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// {"error": {"code": ..., "reason": ..., "field": ..., "message": ...}}
std::string ErrorJson(const grpc::Status& status) {
  v1::Refusal refusal;
  if (auto r = v1::RefusalInStatus(status)) {
    refusal = *r;
  } else {
    refusal.set_message(status.error_message());
  }
  tools::Json error;
  error["code"] = StatusCodeName(status.error_code());
  const tools::Json fields = tools::ProtoJson(refusal);
  for (const auto& [key, value] : fields.items()) error[key] = value;
  tools::Json doc;
  doc["error"] = error;
  return tools::JsonText(doc);
}

// {"KEY": <message as proto JSON>}
std::string Tagged(const std::string& key, const google::protobuf::Message& message) {
  tools::Json doc;
  doc[key] = tools::ProtoJson(message);
  return tools::JsonText(doc);
}

// {"outcome": OUTCOME, "track": <track as proto JSON>}
std::string OutcomeJson(const std::string& outcome, const v1::TrackResponse& track) {
  tools::Json doc;
  doc["outcome"] = outcome;
  doc["track"] = tools::ProtoJson(track);
  return tools::JsonText(doc);
}

bool Terminal(v1::DeliveryState s) { return s == v1::ACKNOWLEDGED || s == v1::REJECTED || s == v1::FAILED; }

std::string StateLine(const v1::RecipientStatus& r) {
  std::string line = absl::StrCat("  ", r.party(), ": ", v1::DeliveryState_Name(r.state()));
  switch (r.state()) {
    case v1::DELIVERED:
      absl::StrAppend(&line, " (attempt ", r.attempts(), ")");
      break;
    case v1::ACKNOWLEDGED:
      absl::StrAppend(&line, " by officer ", r.officer());
      break;
    case v1::REJECTED:
      absl::StrAppend(&line, " by officer ", r.officer(), ": ", r.reason());
      break;
    case v1::FAILED:
      absl::StrAppend(&line, " after ", r.attempts(), " attempts: ", r.reason());
      break;
    default:
      break;
  }
  return line;
}

void PrintReceipt(const v1::Receipt& receipt, bool json) {
  if (json) {
    Emit(Tagged("receipt", receipt));
    return;
  }
  Emit(absl::StrCat(receipt.duplicate() ? "already accepted (original receipt): " : "accepted: ",
                    receipt.message_id()));
  Emit(absl::StrCat("  sender       ", receipt.sender()));
  Emit(absl::StrCat("  recipients   ", absl::StrJoin(receipt.recipients(), ", ")));
  Emit(absl::StrCat("  accepted at  ", TimeUtil::ToString(receipt.accepted_at())));
  Emit(absl::StrCat("  audit index  ", receipt.audit_index()));
  Emit(absl::StrCat("  sha256       ", receipt.envelope_sha256()));
}

// Polls Track until every recipient is in a terminal state or `wait` passes.
int Follow(v1::Exchange::Stub& stub, const v1::Receipt& receipt, std::chrono::milliseconds wait, bool json) {
  const auto give_up = std::chrono::steady_clock::now() + wait;
  std::map<std::string, std::string> seen;  // party -> last printed line.
  v1::TrackResponse track;
  grpc::Status last_error;
  for (;;) {
    v1::TrackRequest request;
    request.set_message_id(receipt.message_id());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    v1::TrackResponse response;
    grpc::Status status = stub.Track(&context, request, &response);
    if (status.ok()) {
      track = response;
      bool all_terminal = response.recipients_size() > 0;
      bool all_acknowledged = all_terminal;
      for (const v1::RecipientStatus& r : response.recipients()) {
        std::string line = StateLine(r);
        if (seen[r.party()] != line) {
          seen[r.party()] = line;
          Emit(json ? Tagged("recipient", r) : line);
        }
        all_terminal = all_terminal && Terminal(r.state());
        all_acknowledged = all_acknowledged && r.state() == v1::ACKNOWLEDGED;
      }
      if (all_terminal) {
        const char* outcome = all_acknowledged ? "ACKNOWLEDGED" : "NOT_ACKNOWLEDGED";
        Emit(json ? OutcomeJson(outcome, response)
                  : all_acknowledged ? "acknowledged by every recipient"
                                     : "not acknowledged by every recipient");
        return all_acknowledged ? 0 : 3;
      }
    } else if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
               status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      if (json) {
        Emit(ErrorJson(status));
        return 1;
      }
      return Fail(absl::StrCat("tracking failed: ", DescribeStatus(status)));
    } else {
      last_error = status;  // Transient: keep polling until the time is up.
    }
    if (std::chrono::steady_clock::now() + kPollInterval > give_up) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  std::vector<std::string> pending;
  for (const v1::RecipientStatus& r : track.recipients()) {
    if (!Terminal(r.state())) pending.push_back(absl::StrCat(r.party(), " (", v1::DeliveryState_Name(r.state()), ")"));
  }
  if (json) {
    Emit(OutcomeJson("TIMEOUT", track));
  } else {
    std::string detail = pending.empty() ? "" : absl::StrCat(" waiting for ", absl::StrJoin(pending, ", "));
    if (!last_error.ok()) absl::StrAppend(&detail, "; last error ", DescribeStatus(last_error));
    std::fprintf(stderr, "portcullis-submit: timed out after %.1f s%s\n", wait.count() / 1000.0, detail.c_str());
  }
  return 3;
}

int Main(int argc, char** argv) {
  auto app = cli::NewApp("portcullis-submit",
                           "portcullis-submit: the minimal UK agency client. Submits an envelope (proto JSON with "
                           "proto field names, enums by name) over mutual TLS, prints the receipt, and with --wait "
                           "follows each recipient's delivery state.");
  app->footer(
      "\nexit codes: 0 submitted (and, with --wait, acknowledged by every recipient); 1 refused or runtime "
      "failure; 2 usage error; 3 with --wait: a recipient rejected it, delivery failed, or the time ran out\n");
  tools::GatewayFlags gw;
  tools::AddGatewayFlags(app.get(), &gw, "uk-border-force");
  std::string envelope_file, message_id, wait_text;
  bool created_now = false, json = false;
  app->add_option("--envelope", envelope_file, "the envelope, proto JSON with proto field names (\"message_id\", "
                                               "enums by name)")->type_name("FILE.json");
  app->add_option("--message-id", message_id, "use this message id instead of the file's")->type_name("ID");
  app->add_flag("--created-now", created_now, "set created_at to the current time");
  app->add_option("--wait", wait_text, "then follow delivery until every recipient acknowledged/rejected/failed")
      ->type_name("SECONDS");
  app->add_flag("--json", json, "print JSON Lines instead of text");
  if (std::optional<int> code = cli::ParseCommandLine(*app, argc, argv, kUsageCode)) return *code;
  if (gw.gateway.empty()) return Usage("--gateway is required");
  if (envelope_file.empty()) return Usage("--envelope is required");
  auto tls = tools::TlsFiles(gw);
  if (!tls.ok()) return Usage(std::string(tls.status().message()));
  double wait_seconds = 0;
  if (!wait_text.empty() &&
      (!absl::SimpleAtod(wait_text, &wait_seconds) || !(wait_seconds > 0) || wait_seconds > 7 * 24 * 3600)) {
    return Usage(absl::StrCat("--wait: '", wait_text, "' is not a number of seconds"));
  }

  auto envelope = LoadEnvelopeJson(envelope_file);
  if (!envelope.ok()) return Fail(std::string(envelope.status().message()));
  if (!message_id.empty()) envelope->set_message_id(message_id);
  if (created_now) *envelope->mutable_created_at() = TimeUtil::GetCurrentTime();

  gw.officer = envelope->originating_officer();  // PORTCULLIS_OFFICER for --assertion-command.
  gw.party = envelope->sender();                  // PORTCULLIS_PARTY: the gateway refuses any other sender.
  auto channel = tools::Dial(gw);
  if (!channel.ok()) return Fail(std::string(channel.status().message()));
  auto stub = v1::Exchange::NewStub(*channel);

  v1::SubmitRequest request;
  *request.mutable_envelope() = *envelope;
  v1::Receipt receipt;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  grpc::Status status = stub->Submit(&context, request, &receipt);
  if (!status.ok()) {
    if (json) {
      Emit(ErrorJson(status));
      return 1;
    }
    return Fail(absl::StrCat(v1::RefusalInStatus(status) ? "refused: " : "submit failed: ", DescribeStatus(status)));
  }
  PrintReceipt(receipt, json);
  if (wait_text.empty()) return 0;
  return Follow(*stub, receipt, std::chrono::milliseconds(static_cast<int64_t>(wait_seconds * 1000)), json);
}

}  // namespace
}  // namespace portcullis::adapters

int main(int argc, char** argv) { return portcullis::adapters::Main(argc, argv); }
