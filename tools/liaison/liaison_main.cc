// liaison: the liaison officer's client (docs/adapters.md, tools/liaison/README.md).
//
//   liaison send FILE... [--partial]              native records in the party's format
//   liaison send --type TYPE --to P --case REF ... one message from flags
//   liaison inbox [list] [--case REF] [--from P] [--follow [--timeout S]]
//   liaison inbox show ID
//   liaison ack ID | reject ID --reason TEXT
//   liaison reply ID --answer TEXT
//   liaison track MESSAGE_ID [--from SENDER]
//   liaison case REF
//
// Every command runs as an officer with a justification (DPA 2018 s.62), from
// the party's adapter config (adapters/common/party_config.h). Exit codes: 0
// ok, 1 refused by the gateway or a runtime failure, 2 usage error, 3 bad
// native input.
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "tools/liaison/commands.h"

namespace portcullis::liaison {
namespace {

constexpr char kUsageText[] = R"(usage: liaison COMMAND [ARGS] [--config FILE] [--officer ID] [--justification TEXT] [--json]

The liaison officer's client: send, read, acknowledge and answer messages of the exchange, and consult
their delivery state. Every command acts as an officer with a justification, recorded by the gateway.

commands:
  send FILE... [--partial]   submit native records in the party's format (config `format`); one bad record
                             submits nothing unless --partial (then the good ones are submitted)
  send --type TYPE --to PARTY[,PARTY] --case REF --marking M --priority P --legal-basis TEXT [...]
                             one message from flags (TYPE: referral, intelligence, rfi, response):
                               referral      --summary TEXT --requested-action TEXT
                               intelligence  --summary TEXT, and --uk-grading S/I/H [--conditions TEXT]
                                             or --europol-grading S/A [--handling H0,..] [--restrictions TEXT]
                               rfi           --question TEXT [--answer-by RFC3339] [--directly-accessible]
                               response      --answer TEXT --in-reply-to MESSAGE_ID
                             and for any type: --purpose TEXT (default: the justification), --in-reply-to ID,
                             --message-id ID (default: generated), the gradings above
  inbox [list] [--case REF] [--from PARTY]
                             the party's inbox (config `inbox`), oldest first, with your decisions
  inbox --follow [--timeout SECONDS]
                             the list, then each new arrival as it lands, until Ctrl-C or the timeout
  inbox show ID              one message (ID: a delivery id, or a message id): header, then the native record
  ack ID                     accept a message of the inbox (Exchange.Acknowledge); recorded in decisions/
  reject ID --reason TEXT    reject it, with the reason the sender sees
  reply ID --answer TEXT [--marking M] [--priority P] [--legal-basis TEXT] [--purpose TEXT] [--message-id ID]
                             a response to the sender, correlated, same case (defaults: the original's
                             marking, priority and legal basis)
  track MESSAGE_ID [--from SENDER]
                             each recipient's delivery state (SENDER: for a message you received)
  case REF                   every message of a case your party sent or received, in order

options (every command):
  --config FILE              the party's adapter config (default: $PORTCULLIS_CONFIG, else
                             ~/.config/portcullis/liaison.yaml)
  --officer ID               the acting officer (default: $PORTCULLIS_OFFICER, else `officer:` in the config)
  --justification TEXT       why (default: $PORTCULLIS_JUSTIFICATION, else `justification:` in the config)
  --json                     machine output: JSON Lines (one object per record, message or arrival) for send and
                             inbox; one JSON document for inbox show, track and case; failures as {"error":{...}}
  --help                     this text

Officer and justification are required: the law on logging (DPA 2018 s.62) needs who and why for every
consultation and disclosure.

exit codes: 0 ok; 1 refused by the gateway, or a runtime failure (gateway unreachable, unreadable file or
inbox, config with problems); 2 usage error (also: no officer or justification, an ambiguous message id);
3 bad native input (nothing submitted, or with --partial some records were not submitted)
)";

int Main(int argc, char** argv) {
  Args args;
  if (std::optional<std::string> problem = ParseArgs(argc, argv, &args)) return Usage(*problem);
  if (args.Has("--help") || (!args.words.empty() && args.words[0] == "help")) {
    std::cout << kUsageText;
    return kOk;
  }
  if (args.words.empty()) return Usage("no command given");
  const std::string& command = args.words[0];

  const std::set<std::string>* flags = nullptr;
  std::optional<std::string> (*check)(const Args&) = nullptr;
  int (*run)(Session&, const Args&) = nullptr;
  if (command == "send") {
    flags = &SendFlags(), check = CheckSendArgs, run = Send;
  } else if (command == "inbox") {
    flags = &InboxFlags(command), check = CheckInboxArgs, run = Inbox;
  } else if (command == "ack" || command == "reject") {
    flags = &InboxFlags(command), check = CheckInboxArgs, run = Decide;
  } else if (command == "reply") {
    flags = &InboxFlags(command), check = CheckInboxArgs, run = Reply;
  } else if (command == "track") {
    flags = &TrackFlags(command), check = CheckTrackArgs, run = Track;
  } else if (command == "case") {
    flags = &TrackFlags(command), check = CheckTrackArgs, run = Case;
  } else {
    return Usage(absl::StrCat("unknown command '", command, "' (send, inbox, ack, reject, reply, track, case)"));
  }
  if (std::optional<std::string> problem = CheckFlags(args, command, *flags)) return Usage(*problem);
  if (std::optional<std::string> problem = check(args)) return Usage(*problem);

  Session session;
  if (std::optional<int> code = Session::Open(args, &session)) return *code;
  return run(session, args);
}

}  // namespace
}  // namespace portcullis::liaison

int main(int argc, char** argv) { return portcullis::liaison::Main(argc, argv); }
