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
#include <algorithm>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "util/command_line.h"
#include "tools/liaison/commands.h"

namespace portcullis::liaison {
namespace {

constexpr char kUsageText[] = R"(
usage: liaison COMMAND [ARGS] [--config FILE] [--officer ID] [--justification TEXT] [--assertion-file PATH] [--json]

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
  --assertion-file PATH      your officer assertion (compact JWS), read at each call (default:
                             $PORTCULLIS_ASSERTION, the token itself, else `assertion_file:` or
                             `assertion_command:` in the config; none: no assertion is sent)
  --json                     machine output: JSON Lines (one object per record, message or arrival) for send and
                             inbox; one JSON document for inbox show, track and case; failures as {"error":{...}}
  --help                     this text; `liaison COMMAND --help`: the command's own flags

Officer and justification are required: the law on logging (DPA 2018 s.62) needs who and why for every
consultation and disclosure.

exit codes: 0 ok; 1 refused by the gateway, or a runtime failure (gateway unreachable, unreadable file or
inbox, config with problems); 2 usage error (also: no officer or justification, an ambiguous message id);
3 bad native input (nothing submitted, or with --partial some records were not submitted)
)";

// Flags without a value; every other flag takes one.
const std::set<std::string> kSwitches = {"--json", "--partial", "--directly-accessible", "--follow"};
// Flags every command takes.
const std::vector<std::string> kGlobal = {"--config", "--officer", "--justification", "--assertion-file", "--json"};

// One line of help per flag (the details are in the tool's --help).
const std::map<std::string, std::string>& FlagHelp() {
  static const std::map<std::string, std::string> kHelp = {
      {"--config", "the party's adapter config (default $PORTCULLIS_CONFIG, else ~/.config/portcullis/liaison.yaml)"},
      {"--officer", "the acting officer (default $PORTCULLIS_OFFICER, else `officer:` in the config)"},
      {"--justification", "why (default $PORTCULLIS_JUSTIFICATION, else `justification:` in the config)"},
      {"--assertion-file",
       "your officer assertion, read at each call (default $PORTCULLIS_ASSERTION, else the config's "
       "assertion_file or assertion_command)"},
      {"--json", "machine output (JSON Lines for send and inbox, one document otherwise)"},
      {"--partial", "submit the good records even if some are bad"},
      {"--type", "send one message from flags: referral, intelligence, rfi or response"},
      {"--to", "recipient party (repeatable, or comma-separated)"},
      {"--case", "case reference"},
      {"--marking", "classification (OFFICIAL, OFFICIAL-SENSITIVE, ...)"},
      {"--priority", "ROUTINE, PRIORITY, IMMEDIATE, ..."},
      {"--legal-basis", "the legal basis of the disclosure"},
      {"--purpose", "purpose (default: the justification)"},
      {"--summary", "referral and intelligence: the summary"},
      {"--requested-action", "referral: what the recipient is asked to do"},
      {"--question", "rfi: the question"},
      {"--answer-by", "rfi: answer due (RFC 3339)"},
      {"--directly-accessible", "rfi: the information is directly accessible"},
      {"--answer", "response and reply: the answer"},
      {"--in-reply-to", "the message this one answers"},
      {"--message-id", "the message id (default: generated)"},
      {"--uk-grading", "UK 3x5x2 grading S/I/H"},
      {"--conditions", "UK grading: handling conditions"},
      {"--europol-grading", "Europol evaluation S/A"},
      {"--handling", "Europol handling codes H0,..."},
      {"--restrictions", "Europol restrictions"},
      {"--from", "inbox: messages from this party; track: the sender of a message you received"},
      {"--follow", "inbox: then each new arrival as it lands"},
      {"--timeout", "inbox --follow: stop after SECONDS"},
      {"--reason", "reject: the reason the sender sees"},
  };
  return kHelp;
}

// Adds `flag` to `app`, recording it in `args` as the old parser did: a
// switch in args->switches, a value in args->values (only --to may repeat),
// each flag taking exactly one value.
void AddFlag(CLI::App* app, const std::string& flag, Args* args) {
  auto help = FlagHelp().find(flag);
  const std::string text = help == FlagHelp().end() ? "" : help->second;
  if (kSwitches.count(flag) > 0) {
    app->add_flag_callback(flag, [args, flag] { args->switches.insert(flag); }, text);
    return;
  }
  CLI::Option* o = app->add_option_function<std::vector<std::string>>(
      flag, [args, flag](const std::vector<std::string>& v) { args->values[flag] = v; }, text);
  o->type_name("VALUE");
  o->multi_option_policy(flag == "--to" ? CLI::MultiOptionPolicy::TakeAll : CLI::MultiOptionPolicy::Throw);
  // Exactly one value per flag (a vector option would take the next words
  // too): `--to A stray` leaves `stray` an argument; `--to A --to B` collects.
  o->expected(1)->allow_extra_args(false);
}

struct Command {
  const char* name;
  const char* description;
  std::set<std::string> flags;
  std::optional<std::string> (*check)(const Args&);
  int (*run)(Session&, const Args&);
};

int Main(int argc, char** argv) {
  const std::vector<Command> commands = {
      {"send", "submit native records in the party's format (FILE...), or one message from flags (--type)",
       SendFlags(), CheckSendArgs, Send},
      {"inbox", "the party's inbox ([list] [--case REF] [--from PARTY] [--follow]), or one message (show ID)",
       InboxFlags("inbox"), CheckInboxArgs, Inbox},
      {"ack", "accept a message of the inbox (ID)", InboxFlags("ack"), CheckInboxArgs, Decide},
      {"reject", "reject a message of the inbox (ID), with the reason the sender sees", InboxFlags("reject"),
       CheckInboxArgs, Decide},
      {"reply", "a response to the sender of a message (ID), correlated, same case", InboxFlags("reply"),
       CheckInboxArgs, Reply},
      {"track", "each recipient's delivery state (MESSAGE_ID)", TrackFlags("track"), CheckTrackArgs, Track},
      {"case", "every message of a case (REF) your party sent or received, in order", TrackFlags("case"),
       CheckTrackArgs, Case},
  };
  Args args;
  auto app = cli::NewApp("liaison", "liaison: the liaison officer's client.");
  app->footer(kUsageText);
  app->require_subcommand(0, 1);
  for (const std::string& flag : kGlobal) AddFlag(app.get(), flag, &args);
  std::vector<std::string> words;
  for (const Command& c : commands) {
    CLI::App* sub = cli::AddCommand(app.get(), c.name, c.description);
    sub->add_option("ARGS", words, "the command's arguments");
    for (const std::string& flag : kGlobal) AddFlag(sub, flag, &args);
    for (const std::string& flag : c.flags) AddFlag(sub, flag, &args);
  }
  std::string command;
  if (std::optional<int> code = cli::ParseCommand(*app, argc, argv, kUsage, &command)) return *code;
  args.words = {command};
  args.words.insert(args.words.end(), words.begin(), words.end());
  const Command& c = *std::find_if(commands.begin(), commands.end(),
                                   [&](const Command& k) { return command == k.name; });
  if (std::optional<std::string> problem = c.check(args)) return Usage(*problem);

  Session session;
  if (std::optional<int> code = Session::Open(args, &session)) return *code;
  return c.run(session, args);
}

}  // namespace
}  // namespace portcullis::liaison

int main(int argc, char** argv) { return portcullis::liaison::Main(argc, argv); }
