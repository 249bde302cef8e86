// Where a client takes the officer assertion it sends with each call
// (`authorization: Bearer <JWS>`, docs/officer-identity.md): a file (read at
// each call, so a refresher can rewrite it), an environment variable,
// or a command the agency wires to its identity provider. The client never
// holds an identity provider's private key.
//
// A command's token is kept until shortly before its `exp` (read from the
// token's payload, not verified: the gateway verifies), then the command is
// run again. A command that fails, prints nothing or outlives its timeout is
// an error naming the command's exit and the first line of its stderr.
#ifndef PORTCULLIS_MTLS_OFFICER_ASSERTION_SOURCE_H_
#define PORTCULLIS_MTLS_OFFICER_ASSERTION_SOURCE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/security/credentials.h>

#include "absl/status/statusor.h"

namespace portcullis::mtls {

struct AssertionSourceOptions {
  std::string file;     // --assertion-file.
  std::string env_var;  // Name of an environment variable holding the token.
  std::string command;  // Run with /bin/sh -c; prints the token on stdout.
  std::chrono::milliseconds command_timeout{10000};
  int64_t refresh_before_expiry_seconds = 60;
};

class OfficerAssertionSource {
 public:
  // The first configured of file, env_var, command is used. nullptr if none
  // is configured (the caller then sends no assertion).
  static std::shared_ptr<OfficerAssertionSource> FromOptions(const AssertionSourceOptions& options);

  // The token to send now.
  absl::StatusOr<std::string> Get();

 private:
  explicit OfficerAssertionSource(AssertionSourceOptions options) : options_(std::move(options)) {}
  absl::StatusOr<std::string> FromFile();
  absl::StatusOr<std::string> FromCommand();

  const AssertionSourceOptions options_;
  std::mutex mu_;
  std::string cached_;
  int64_t cached_exp_ = 0;
};

// Call credentials that add `authorization: Bearer <token>` to every call,
// or fail the call (UNAUTHENTICATED, the source's words) if no token can be
// had. Compose with the channel's TLS credentials.
std::shared_ptr<grpc::CallCredentials> OfficerAssertionCallCredentials(
    std::shared_ptr<OfficerAssertionSource> source);

// `exp` of a compact JWS's payload, unverified; 0 if it cannot be read.
int64_t UnverifiedExpiry(const std::string& token);

}  // namespace portcullis::mtls

#endif  // PORTCULLIS_MTLS_OFFICER_ASSERTION_SOURCE_H_
