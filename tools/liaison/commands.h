// The liaison client's commands, one group per file: send.cc (send),
// inbox.cc (inbox, ack, reject, reply), track.cc (track, case). Each takes
// the parsed command line (already checked against the command's flags) and
// an open session, prints its result and returns the exit code.
#ifndef PORTCULLIS_TOOLS_LIAISON_COMMANDS_H_
#define PORTCULLIS_TOOLS_LIAISON_COMMANDS_H_

#include <optional>
#include <set>
#include <string>

#include "tools/liaison/session.h"

namespace portcullis::liaison {

// Each command's own flags (besides the global ones), and the checks of its
// command line that need no session (usage errors: the message, else nullopt).
const std::set<std::string>& SendFlags();
std::optional<std::string> CheckSendArgs(const Args& args);
int Send(Session& s, const Args& args);

const std::set<std::string>& InboxFlags(const std::string& command);
std::optional<std::string> CheckInboxArgs(const Args& args);
int Inbox(Session& s, const Args& args);    // inbox [list|show ID] [--follow]
int Decide(Session& s, const Args& args);   // ack ID | reject ID --reason TEXT
int Reply(Session& s, const Args& args);    // reply ID --answer TEXT

const std::set<std::string>& TrackFlags(const std::string& command);
std::optional<std::string> CheckTrackArgs(const Args& args);
int Track(Session& s, const Args& args);    // track MESSAGE_ID [--from SENDER]
int Case(Session& s, const Args& args);     // case REF

// Shared by send and reply: submits one envelope built from flags and prints
// the outcome like a record of `send FILE`. Exit code.
int SubmitOne(Session& s, const v1::Envelope& envelope, const std::string& label);

}  // namespace portcullis::liaison

#endif  // PORTCULLIS_TOOLS_LIAISON_COMMANDS_H_
