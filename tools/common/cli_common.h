// The one set of gateway/TLS flags the clients (portcullis-audit, -admin,
// -submit, -partner-endpoint) use to reach the gateway over mTLS, on the
// shared command line (util/command_line.h, CLI11; docs/tools.md). Not
// thread-safe (used from main).
#ifndef PORTCULLIS_TOOLS_COMMON_CLI_COMMON_H_
#define PORTCULLIS_TOOLS_COMMON_CLI_COMMON_H_

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "adapters/common/party_tls.h"
#include "mtls/officer_assertion_source.h"
#include "util/command_line.h"

namespace portcullis::tools {

// The shared gateway/TLS flags:
//   --gateway HOST:PORT            the gateway's address; several replicas: repeat
//                                  it and/or give HOST:PORT,HOST:PORT (kept in
//                                  GatewayFlags::gateway as one comma-separated
//                                  list; Dial makes one round-robin channel).
//                                  A value that is not HOST:PORT is a usage error.
//   --as STEM (alias --party)      your certificate: a stem in the PKI (e.g. ops-operator)
//   --pki DIR                      the PKI directory (default $PORTCULLIS_PKI, else build/pki)
//   --cert/--key/--ca/--crl-dir    explicit TLS files; override the PKI's (without
//                                  --as, --ca and --crl-dir are required unless
//                                  --pki is on the command line)
//   --gateway-identity URI         the gateway's identity (default spiffe://exchange.gov.uk/gateway)
// and the officer assertion every call carries (docs/tools.md, "Officer
// assertions"), first of:
//   --assertion-file PATH          the token, read at each call (a refresher may rewrite it)
//   --assertion-command CMD        run with /bin/sh -c; prints the token (PORTCULLIS_AUDIENCE
//                                  and, when the tool knows them, PORTCULLIS_OFFICER and
//                                  PORTCULLIS_PARTY in its environment)
//   $PORTCULLIS_ASSERTION          the token itself
// None of them: no assertion is sent.
struct GatewayFlags {
  std::string gateway;  // "HOST:PORT", or "HOST:PORT,HOST:PORT,..." for several replicas.
  std::string as;
  std::string pki;
  std::string cert, key, ca, crl_dir;
  std::string gateway_identity;
  bool pki_given = false;  // --pki was on the command line (not just the default).
  std::string assertion_file, assertion_command;
  // Set by the tool before Dial when it knows the officer its calls act for
  // (the envelope's, --officer): PORTCULLIS_OFFICER for the command.
  std::string officer;
  // Set by the tool before Dial when its input names the caller's party id
  // (portcullis-submit: the envelope's sender, which the gateway requires to
  // be the caller's party): PORTCULLIS_PARTY for the command. Never guessed
  // from --as: a certificate's stem is a file name, and the party its
  // identity maps to is the gateway's config.
  std::string party;
};

// Adds the flags above to `app` (a tool or one of its subcommands), writing
// into `flags`, whose pki and gateway_identity it sets to their defaults.
// `example_stem` shows in the help (e.g. "ops-operator"). Without
// `party_alias` there is no --party (portcullis-audit, whose --party filters
// records by party).
void AddGatewayFlags(CLI::App* app, GatewayFlags* flags, const std::string& example_stem, bool party_alias = true);

// The TLS files the flags name: the PKI's files for --as, each replaced by
// --cert/--key/--ca/--crl-dir when given. INVALID_ARGUMENT (a usage error)
// when neither --as nor both --cert and --key are given, or when without --as
// --ca or --crl-dir is missing and --pki was not given on the command line
// (the default PKI never supplies the trust anchors of explicit files).
absl::StatusOr<adapters::PartyTls> TlsFiles(const GatewayFlags& flags);

// Where the officer assertion comes from (file, command, environment), with
// the command's environment contract filled in; an empty source when none.
mtls::AssertionSourceOptions AssertionOptions(const GatewayFlags& flags);

// A channel to flags.gateway (one address, or one round-robin channel over
// several: adapters::DialGateway) over mTLS with TlsFiles(flags); every call on it
// carries the officer assertion of AssertionOptions(flags), if any (a source
// that fails fails the call, UNAVAILABLE "officer assertion: ..."). Errors
// name the missing or unreadable file.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Dial(const GatewayFlags& flags);

}  // namespace portcullis::tools

#endif  // PORTCULLIS_TOOLS_COMMON_CLI_COMMON_H_
