// Command-line flags for the adapter binaries: "--name value", "--name=value"
// and boolean "--name". Unknown flags, missing values and positional
// arguments are usage errors (INVALID_ARGUMENT, message names the flag).
// Plus the TLS flag set both tools share. Not thread-safe (used from main).
#ifndef PORTCULLIS_ADAPTERS_CLI_FLAGS_H_
#define PORTCULLIS_ADAPTERS_CLI_FLAGS_H_

#include <map>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/common/party_tls.h"

namespace portcullis::adapters {

class Flags {
 public:
  static absl::StatusOr<Flags> Parse(int argc, char** argv, const std::set<std::string>& value_flags,
                                     const std::set<std::string>& bool_flags);
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const;

 private:
  std::map<std::string, std::string> values_;
};

// The value flags TlsFromFlags reads.
const std::set<std::string>& TlsFlagNames();

// --pki DIR --party STEM (dev PKI layout), or --cert --key --ca --crl-dir;
// explicit flags override the paths derived from --pki/--party. Usage error
// if the set is incomplete.
absl::StatusOr<PartyTls> TlsFromFlags(const Flags& flags);

// Usage text for the TLS flags, shared by both tools.
extern const char kTlsFlagsUsage[];

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_CLI_FLAGS_H_
