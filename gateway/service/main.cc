// portcullis-gateway: the exchange gateway.
//   portcullis-gateway --config FILE            run until SIGTERM/SIGINT
//   portcullis-gateway --config FILE --check-config   validate and exit (0 = valid)
//   portcullis-gateway --help
// Exit codes: 0 stopped cleanly (or valid), 1 invalid config or cannot start, 2 usage error.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "absl/synchronization/mutex.h"
#include "gateway/config/config_loader.h"
#include "gateway/service/gateway.h"
#include "util/command_line.h"

int main(int argc, char** argv) {
  // Debian's Abseil is built with absl::Mutex deadlock detection on, and
  // gRPC's locks are absl::Mutex: that bookkeeping (a lock-order graph
  // updated on every lock) cost ~5% of the gateway's CPU under load.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::string config_path = "config/portcullis.yaml";
  bool check_only = false;
  auto app = portcullis::cli::NewApp("portcullis-gateway", "portcullis-gateway: the exchange gateway.");
  app->footer("\nexit codes: 0 stopped cleanly (or, with --check-config, the configuration is valid); 1 invalid "
              "configuration or cannot start; 2 usage error\n");
  app->add_option("--config", config_path, "the gateway's configuration (default config/portcullis.yaml)")
      ->type_name("FILE");
  app->add_flag("-t,--check-config", check_only, "validate the configuration and exit (0 = valid)");
  if (std::optional<int> code = portcullis::cli::ParseCommandLine(*app, argc, argv, 2)) return *code;
  auto config = portcullis::LoadConfigFile(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "portcullis-gateway: configuration %s is invalid:\n%s\n", config_path.c_str(),
                 std::string(config.status().message()).c_str());
    return 1;
  }
  if (check_only) {
    std::printf("portcullis-gateway: configuration %s is valid (%zu parties, %zu routes)\n", config_path.c_str(),
                (*config)->parties.size(), (*config)->routes.size());
    return 0;
  }
  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto gateway = portcullis::Gateway::Start(*config);
  if (!gateway.ok()) {
    std::fprintf(stderr, "portcullis-gateway: cannot start: %s\n", std::string(gateway.status().message()).c_str());
    return 1;
  }
  std::printf("portcullis-gateway: listening on port %d (config %s)\n", (*gateway)->port(), config_path.c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  std::printf("portcullis-gateway: %s received, draining\n", strsignal(sig));
  std::fflush(stdout);
  (*gateway)->Shutdown(std::chrono::seconds(10));
  gateway->reset();
  std::printf("portcullis-gateway: stopped cleanly\n");
  return 0;
}
