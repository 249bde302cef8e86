// The liaison client's shared parts: the command line as parsed, the session
// every command runs in (party config, officer, justification, output mode),
// and the output helpers (aligned tables, JSON Lines, refusals in words).
// Used by the command groups send.cc, inbox.cc and track.cc. Not thread-safe
// (one command per process).
#ifndef PORTCULLIS_TOOLS_LIAISON_SESSION_H_
#define PORTCULLIS_TOOLS_LIAISON_SESSION_H_

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>
#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "adapters/common/party_config.h"
#include "mtls/officer_assertion_source.h"
#include "portcullis/v1/exchange.grpc.pb.h"
#include "tools/common/json_out.h"

namespace portcullis::liaison {

// Exit codes (documented in tools/liaison/README.md and --help).
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;    // Refused by the gateway, or a runtime failure.
inline constexpr int kUsage = 2;     // Usage error (flags, arguments, missing officer/justification).
inline constexpr int kBadInput = 3;  // Bad native input: nothing submitted, or with --partial some records failed.

// The command line: `liaison [--global flags] COMMAND [SUBCOMMAND] [ARGS...]
// [--flags]`, parsed by CLI11 (liaison_main.cc). A command's own flags must
// follow the command; the global flags (--config, --officer, --justification,
// --json) may go anywhere. Each command takes only its own flags and the
// global ones; every flag takes exactly one value (--to may repeat).
struct Args {
  std::vector<std::string> words;                 // Command, subcommand and arguments, in order.
  std::map<std::string, std::vector<std::string>> values;  // Flags with values ("--to" may repeat).
  std::set<std::string> switches;                 // Flags without values ("--json").

  bool Has(const std::string& flag) const { return switches.count(flag) > 0 || values.count(flag) > 0; }
  // The flag's value (the last one), or `fallback`.
  std::string Value(const std::string& flag, const std::string& fallback = "") const;
};

// Prints "liaison: <problem>" and a pointer to --help on stderr; returns kUsage.
int Usage(const std::string& problem);

// Everything a command needs once the command line is valid.
class Session {
 public:
  // Loads the config (--config, PORTCULLIS_CONFIG, ~/.config/portcullis/liaison.yaml)
  // and settles officer, justification and the officer assertion's source
  // (flag, environment, config).
  // Returns the exit code on failure (message printed).
  static std::optional<int> Open(const Args& args, Session* out);

  const adapters::PartyConfig& config() const { return config_; }
  const std::string& officer() const { return officer_; }
  const std::string& justification() const { return justification_; }
  bool json() const { return json_; }

  // The Exchange stub (dialled once, lazily). nullptr after printing why.
  v1::Exchange::StubInterface* Stub();

  // The time now (created_at, generated message ids, decision times).
  absl::Time Now() const { return absl::Now(); }

 private:
  adapters::PartyConfig config_;
  std::string officer_, justification_;
  bool json_ = false;
  std::shared_ptr<mtls::OfficerAssertionSource> assertion_;  // nullptr: no assertion is sent.
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Exchange::Stub> stub_;
};

// A client context with a 30 s deadline.
std::unique_ptr<grpc::ClientContext> CallContext();

// Reports a failed gateway call: "liaison: <what>: CODE (REASON) field: message"
// on stderr and, with --json, {"error":{...}} on stdout. Returns kFailed.
int Refused(const Session& s, const std::string& what, const grpc::Status& status);
// Reports a local failure (unreadable file, ...): stderr, and {"error":{"message":...}}
// with --json. Returns `code`.
int Failure(const Session& s, const std::string& message, int code = kFailed);

// Aligned columns, two spaces apart; the first row is the header. The tools'
// table printer (tools/common/table.h): cells shown escaped, ids never cut;
// `wrap` maps a column's index to the width its text wraps at.
void PrintTable(const std::vector<std::vector<std::string>>& rows, const std::map<size_t, size_t>& wrap = {});

// A JSON object on one line, members in insertion order (the tools' JSON
// writer, tools/common/json_out.h).
class JsonLine {
 public:
  JsonLine& Str(const std::string& key, const std::string& value);
  JsonLine& Num(const std::string& key, int64_t value);
  JsonLine& Bool(const std::string& key, bool value);
  JsonLine& Proto(const std::string& key, const google::protobuf::Message& message);
  JsonLine& Strings(const std::string& key, const std::vector<std::string>& values);
  JsonLine& Value(const std::string& key, tools::Json value);
  std::string str() const;
  const tools::Json& json() const { return doc_; }

 private:
  tools::Json doc_ = tools::Json::object();
};

// {"code":..,"reason":..,"field":..,"message":..} for a failed status.
tools::Json StatusJson(const grpc::Status& status);

// Times for people: "2026-03-14 08:20:11Z"; "-" when unset.
std::string TimeText(const google::protobuf::Timestamp& t);
std::string TimeText(absl::Time t);
// RFC 3339 in UTC with "Z" and fractional seconds only when there are any, for JSON.
std::string Rfc3339(const google::protobuf::Timestamp& t);

// Markings and priorities as officers write them ("OFFICIAL-SENSITIVE").
std::string MarkingText(v1::Classification c);
std::optional<v1::Classification> ParseMarking(const std::string& text);
std::string PriorityText(v1::Priority p);
std::optional<v1::Priority> ParsePriority(const std::string& text);
std::string StateText(v1::DeliveryState s);
// An officer as the gateway vouches for it: "BF-LO-4471 (verified)" when the
// agency's assertion vouched for the officer, "BF-LO-4471 (claimed)" when it
// was only named (docs/officer-identity.md); "-" for none.
std::string OfficerText(const std::string& officer, bool verified);
// The body kind in the words of `send --type` ("referral", "intelligence",
// "rfi", "response"; "-" for none), from the body field's name
// ("case_referral", as CaseMessage.body_type) or from an envelope.
std::string KindText(const std::string& body_type);
std::string KindText(const v1::Envelope& e);
// "2/B/C (conditions: ...)" and "B/2 H0,H3 (restrictions: ...)"; "" when absent.
std::string UkGradingText(const v1::UkGrading& g);
std::string EuropolText(const v1::EuropolEvaluation& e);

// A fresh message id for `party`: "<party with / as ->-<UTC time>-<8 hex>",
// e.g. "eu-europol-20260314T082011Z-3f9a1c2b"; valid and unique in practice.
std::string NewMessageId(const std::string& party, absl::Time now);

}  // namespace portcullis::liaison

#endif  // PORTCULLIS_TOOLS_LIAISON_SESSION_H_
