// What the long-running adapter binaries (portcullis-adapter run,
// portcullis-partner-endpoint) share in main: whole lines to stdout/stderr
// from several threads, the stop signals, and the push endpoint's events in
// words.
#ifndef PORTCULLIS_ADAPTERS_MAIN_SUPPORT_H_
#define PORTCULLIS_ADAPTERS_MAIN_SUPPORT_H_

#include <signal.h>

#include <cstdio>
#include <string>

#include "adapters/common/partner_endpoint.h"

namespace portcullis::adapters {

// Writes `line` and a newline to `to` and flushes; thread-safe (hooks print
// from gRPC's threads).
void Say(std::FILE* to, const std::string& line);

// Blocks SIGTERM and SIGINT in this thread and every thread started after it
// (call before gRPC starts threads), so that only WaitForStop sees them.
sigset_t BlockStopSignals();

// Waits for one of `signals`; returns its name ("SIGTERM" or "SIGINT").
std::string WaitForStop(const sigset_t& signals);

// Sets the endpoint's on_refused and on_error hooks to say so on stderr.
void SayEndpointProblems(PartnerEndpointOptions* options);

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_MAIN_SUPPORT_H_
