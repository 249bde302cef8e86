// The command line every Portcullis binary shares (CLI11): parsing with the
// project's usage conventions, and the one set of gateway/TLS flags the
// clients use to reach the gateway over mTLS.
//
// Conventions (docs/tools.md): `--help` on the binary and on each subcommand
// prints that command's help and exits 0; a usage error prints
// "TOOL: PROBLEM" and "(run `TOOL --help` for usage)" on stderr and exits
// with the tool's usage code (2 for every tool today). An unknown flag is
// named ("unknown option '--bogus'"), as is an unknown command. Not
// thread-safe (used from main).
#ifndef PORTCULLIS_TOOLS_COMMON_CLI_COMMON_H_
#define PORTCULLIS_TOOLS_COMMON_CLI_COMMON_H_

#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "adapters/common/party_tls.h"

namespace portcullis::tools {

// The shared gateway/TLS flags:
//   --gateway HOST:PORT            the gateway's address
//   --as STEM (alias --party)      your certificate: a stem in the PKI (e.g. ops-operator)
//   --pki DIR                      the PKI directory (default $PORTCULLIS_PKI, else build/pki)
//   --cert/--key/--ca/--crl-dir    explicit TLS files; override the PKI's
//   --gateway-identity URI         the gateway's identity (default spiffe://exchange.gov.uk/gateway)
struct GatewayFlags {
  std::string gateway;
  std::string as;
  std::string pki;
  std::string cert, key, ca, crl_dir;
  std::string gateway_identity;
};

// Adds the flags above to `app` (a tool or one of its subcommands), writing
// into `flags`, whose pki and gateway_identity it sets to their defaults.
// `example_stem` shows in the help (e.g. "ops-operator"). Without
// `party_alias` there is no --party (portcullis-audit, whose --party filters
// records by party).
void AddGatewayFlags(CLI::App* app, GatewayFlags* flags, const std::string& example_stem, bool party_alias = true);

// The TLS files the flags name: the PKI's files for --as, each replaced by
// --cert/--key/--ca/--crl-dir when given. INVALID_ARGUMENT (a usage error)
// when neither --as nor both --cert and --key are given.
absl::StatusOr<adapters::PartyTls> TlsFiles(const GatewayFlags& flags);

// A channel to flags.gateway over mTLS with TlsFiles(flags). Errors name the
// missing or unreadable file.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Dial(const GatewayFlags& flags);

// Parses argv into `app`. Returns nullopt to go on; otherwise the exit code,
// after printing the help (0) or the usage error (`usage_code`). Every app
// and subcommand should allow extras (NewApp/AddCommand do): unknown flags
// and stray words are reported here in the project's words.
std::optional<int> ParseCommandLine(CLI::App& app, int argc, const char* const* argv, int usage_code);

// ParseCommandLine for a tool of commands (subcommands): `TOOL help` prints
// the help (0), and no command is a usage error ("no command given").
// Otherwise sets *command to the command given.
std::optional<int> ParseCommand(CLI::App& app, int argc, const char* const* argv, int usage_code,
                                std::string* command);

// Prints "TOOL: PROBLEM\n(run `TOOL --help` for usage)" (PROBLEM shown
// escaped, util/display_text.h) on stderr; returns `code`.
int UsageError(const std::string& tool, const std::string& problem, int code);

// An app named `tool` with the project's settings (extras allowed and
// reported by ParseCommandLine; a repeated single-value flag keeps the last).
std::unique_ptr<CLI::App> NewApp(const std::string& tool, const std::string& description);

// A subcommand of `app` with the same settings and its own --help.
CLI::App* AddCommand(CLI::App* app, const std::string& name, const std::string& description);

}  // namespace portcullis::tools

#endif  // PORTCULLIS_TOOLS_COMMON_CLI_COMMON_H_
