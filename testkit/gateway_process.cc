#include "testkit/gateway_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

namespace portcullis::testing {

GatewayProcess::GatewayProcess(const std::string& config, const std::string& log_path) {
  int out[2];
  if (::pipe(out) != 0) std::abort();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    FILE* err = std::fopen(log_path.c_str(), "a");
    if (err != nullptr) ::dup2(fileno(err), STDERR_FILENO);
    ::close(out[0]);
    const std::string bin = std::string(PORTCULLIS_BINARY_DIR) + "/gateway/service/portcullis-gateway";
    ::execl(bin.c_str(), bin.c_str(), "--config", config.c_str(), static_cast<char*>(nullptr));
    std::perror("execl portcullis-gateway");
    ::_exit(127);
  }
  ::close(out[1]);
  FILE* in = ::fdopen(out[0], "r");
  char line[512];
  while (std::fgets(line, sizeof line, in) != nullptr) {
    if (std::sscanf(line, "portcullis-gateway: listening on port %d", &port_) == 1) break;
  }
  out_ = in;  // Kept open (and drained by nobody): the gateway writes little after start.
}

GatewayProcess::~GatewayProcess() {
  if (pid_ > 0 && !reaped_) Kill();
  if (out_ != nullptr) std::fclose(out_);
}

void GatewayProcess::Kill() {
  ::kill(pid_, SIGKILL);
  Wait();
}

int GatewayProcess::Stop() {
  ::kill(pid_, SIGTERM);
  return Wait();
}

int GatewayProcess::Wait() {
  int status = 0;
  ::waitpid(pid_, &status, 0);
  reaped_ = true;
  return status;
}

}  // namespace portcullis::testing
