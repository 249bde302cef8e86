// Sockets for tests: a loopback listener that accepts TCP connections (the
// kernel completes them) but never answers: a partner whose TLS hangs.
#ifndef PORTCULLIS_TESTS_SUPPORT_PORTS_H_
#define PORTCULLIS_TESTS_SUPPORT_PORTS_H_

#include <string>

namespace portcullis::testing {

class SilentListener {
 public:
  SilentListener();  // Test failure (ADD_FAILURE) and port() 0 if it cannot listen.
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_PORTS_H_
