#include "adapters/main_support.h"

#include <pthread.h>

#include <mutex>

#include "absl/strings/str_cat.h"

namespace portcullis::adapters {

void Say(std::FILE* to, const std::string& line) {
  static std::mutex* mu = new std::mutex;
  std::lock_guard<std::mutex> lock(*mu);
  std::fprintf(to, "%s\n", line.c_str());
  std::fflush(to);
}

sigset_t BlockStopSignals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  return stop;
}

std::string WaitForStop(const sigset_t& signals) {
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  return signal_number == SIGTERM ? "SIGTERM" : "SIGINT";
}

void SayEndpointProblems(PartnerEndpointOptions* options) {
  options->on_refused = [](const mtls::HandshakeRefusal& r) {
    Say(stderr, absl::StrCat("refused handshake: ", r.code, ": ", r.message));
  };
  options->on_error = [](const absl::Status& s) { Say(stderr, absl::StrCat("error: ", s.ToString())); };
}

}  // namespace portcullis::adapters
