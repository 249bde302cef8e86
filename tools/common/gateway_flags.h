// How the operators' and auditors' tools reach the gateway: the shared
// command-line flags (--gateway, --as, --pki, --cert, --key, --ca, --crl-dir)
// and the mTLS channel they describe. Used by portcullis-audit and
// portcullis-admin so both read and apply them the same way. Plain data and
// pure functions; thread-safe.
#ifndef PORTCULLIS_TOOLS_COMMON_GATEWAY_FLAGS_H_
#define PORTCULLIS_TOOLS_COMMON_GATEWAY_FLAGS_H_

#include <map>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"

namespace portcullis::tools {

struct GatewayFlags {
  std::string gateway;  // --gateway HOST:PORT
  std::string as;       // --as PARTY: a certificate stem in the PKI (e.g. ops-operator)
  std::string pki;      // --pki DIR (default $PORTCULLIS_PKI, else build/pki)
  std::string cert, key, ca, crl_dir;  // --cert/--key/--ca/--crl-dir: override the PKI's files
};

// Flags with the PKI directory defaulted from the environment.
GatewayFlags DefaultGatewayFlags();

// Adds the flags above (each takes one value) to a tool's table of string flags.
void AddGatewayFlags(GatewayFlags* flags, std::map<std::string, std::string*>* table);

// The usage lines for these flags, `role` naming whose certificate (e.g. "operator").
std::string GatewayFlagsUsage(const std::string& role, const std::string& example_stem);

// A channel to flags.gateway over mTLS with the chosen certificate. Errors
// name the missing or unreadable file.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Dial(const GatewayFlags& flags);

}  // namespace portcullis::tools

#endif  // PORTCULLIS_TOOLS_COMMON_GATEWAY_FLAGS_H_
