// Where a client takes the officer assertion it sends with each call
// (`authorization: Bearer <JWS>`, docs/officer-identity.md, docs/tools.md):
// a file (read at each call, so a refresher can rewrite it), a command the
// agency wires to its identity provider, or an environment variable holding
// the token. The client never holds an identity provider's private key.
//
// A command's token WITHOUT a `jti` is kept until shortly before its `exp`
// (read from the token's payload, not verified: the gateway verifies), then
// the command is run again. A token WITH a `jti` is single use at the gateway
// (its replay cache), so it is never reused: the command runs for every call.
// A file's token is sent as it is at each call; it should carry no `jti`.
// A command that fails, prints nothing or outlives its timeout is an error
// naming the command's exit status and the first line of its stderr.
//
// A command runs as `/bin/sh -c` in its own process group with stdin
// /dev/null and no other descriptor of the client's. Its token is taken once
// the shell has exited 0 (a helper it left in the background, even one holding
// stdout, is not waited for); at its timeout, or once the shell has exited,
// the whole group is killed.
#ifndef PORTCULLIS_MTLS_OFFICER_ASSERTION_SOURCE_H_
#define PORTCULLIS_MTLS_OFFICER_ASSERTION_SOURCE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/security/credentials.h>

#include "absl/status/statusor.h"

namespace portcullis::mtls {

// The environment variable the clients read a token from.
inline constexpr char kAssertionEnvVar[] = "PORTCULLIS_ASSERTION";

struct AssertionSourceOptions {
  std::string file;     // --assertion-file / assertion_file.
  std::string command;  // --assertion-command / assertion_command; run with /bin/sh -c, prints the token.
  std::string env_var;  // Name of an environment variable holding the token.
  // Added to (or replacing in) the command's environment: PORTCULLIS_OFFICER,
  // PORTCULLIS_PARTY, PORTCULLIS_AUDIENCE. Never pasted into the command text.
  std::map<std::string, std::string> command_env;
  std::chrono::milliseconds command_timeout{10000};
  int64_t refresh_before_expiry_seconds = 60;
};

class OfficerAssertionSource {
 public:
  // The first configured of file, command, env_var is used. nullptr if none
  // is configured (the caller then sends no assertion).
  static std::shared_ptr<OfficerAssertionSource> FromOptions(const AssertionSourceOptions& options);

  // The token to send now.
  absl::StatusOr<std::string> Get();

  const AssertionSourceOptions& options() const { return options_; }

 private:
  explicit OfficerAssertionSource(AssertionSourceOptions options) : options_(std::move(options)) {}
  absl::StatusOr<std::string> FromFile();
  absl::StatusOr<std::string> FromCommand();

  const AssertionSourceOptions options_;
  std::mutex mu_;
  std::string cached_;  // Only a jti-less command token.
  int64_t cached_exp_ = 0;
};

// One source per officer, for a client that acts for many officers (the
// adapter daemon submits each native file for the officer it names): the
// command runs with PORTCULLIS_OFFICER=<officer> added to `base.command_env`,
// and each officer's token is cached apart. Thread-safe.
class PerOfficerAssertions {
 public:
  // nullptr if `base` configures no source.
  static std::shared_ptr<PerOfficerAssertions> FromOptions(const AssertionSourceOptions& base);

  std::shared_ptr<OfficerAssertionSource> SourceFor(const std::string& officer);
  // Call credentials for one call acting for `officer` (ClientContext::set_credentials).
  std::shared_ptr<grpc::CallCredentials> CredentialsFor(const std::string& officer);

 private:
  explicit PerOfficerAssertions(AssertionSourceOptions base) : base_(std::move(base)) {}
  const AssertionSourceOptions base_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<OfficerAssertionSource>> by_officer_;
};

// Call credentials that add `authorization: Bearer <token>` to every call,
// or fail the call UNAVAILABLE (the source's words, prefixed "officer
// assertion: ") if no token can be had: transient, like an unreachable
// gateway (gRPC 1.51 makes any plugin failure UNAVAILABLE; later versions pass
// the plugin's code through). Compose with the channel's TLS credentials, or
// set per call.
std::shared_ptr<grpc::CallCredentials> OfficerAssertionCallCredentials(
    std::shared_ptr<OfficerAssertionSource> source);
// What those credentials do for one call: adds the header, or returns the
// UNAVAILABLE status that fails the call.
grpc::Status AddAssertionMetadata(OfficerAssertionSource& source, std::multimap<grpc::string, grpc::string>* metadata);

// `exp` of a compact JWS's payload, unverified; 0 if it cannot be read.
int64_t UnverifiedExpiry(const std::string& token);
// Whether a compact JWS's payload (unverified) has a `jti` claim. True when
// the payload cannot be read (then the token is never reused).
bool UnverifiedHasJti(const std::string& token);

}  // namespace portcullis::mtls

#endif  // PORTCULLIS_MTLS_OFFICER_ASSERTION_SOURCE_H_
