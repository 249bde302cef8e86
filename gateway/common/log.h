// The gateway's log: one line per event on stderr, each prefixed with the
// replica's id (issue 15, docs/cluster.md "Operators"):
//   portcullis[<replica_id>]: <text>     (portcullis: <text> when none is set)
// so that the lines of several replicas collected in one place say which
// replica wrote them. Thread-safe; each line is written with one call, so
// lines from several threads do not interleave.
#ifndef PORTCULLIS_GATEWAY_COMMON_LOG_H_
#define PORTCULLIS_GATEWAY_COMMON_LOG_H_

#include <string>

#include "absl/strings/string_view.h"

namespace portcullis {

// Sets the id every later line carries (cluster.replica_id; "" = none).
// Called once at start (Gateway::Start); in a process with several gateways
// (tests) the last call wins.
void SetLogReplica(absl::string_view replica_id);

// The prefix lines carry now: "portcullis[<id>]: " or "portcullis: ".
std::string LogPrefix();

// printf-style; `format` is the text after the prefix, ending in "\n".
void LogLine(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_COMMON_LOG_H_
