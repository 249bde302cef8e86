// The portcullis-gateway binary (of this build) as a child process, for tests
// that kill it (SIGKILL) and start it again on the same state, and for the
// benchmarks.
#ifndef PORTCULLIS_TESTKIT_GATEWAY_PROCESS_H_
#define PORTCULLIS_TESTKIT_GATEWAY_PROCESS_H_

#include <sys/types.h>

#include <cstdio>
#include <string>

namespace portcullis::testing {

class GatewayProcess {
 public:
  // Starts the gateway on `config` (stderr appended to `log_path`) and waits
  // until it listens; port() is 0 if it did not start.
  GatewayProcess(const std::string& config, const std::string& log_path);
  ~GatewayProcess();  // Kills it if still running.
  GatewayProcess(const GatewayProcess&) = delete;
  GatewayProcess& operator=(const GatewayProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  void Kill();  // SIGKILL and reap.
  int Stop();   // SIGTERM and wait; returns the wait status.

 private:
  int Wait();
  pid_t pid_ = -1;
  int port_ = 0;
  bool reaped_ = false;
  FILE* out_ = nullptr;
};

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTKIT_GATEWAY_PROCESS_H_
