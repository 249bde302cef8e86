// Gateway addresses for clients that reach several replicas (issue 15,
// docs/cluster.md "Clients reach any replica"): a list "HOST:PORT,HOST:PORT"
// dialled as ONE gRPC channel with the round_robin policy, so calls spread
// over the replicas and a replica that cannot be reached is skipped.
//
// HOST is a name, an IPv4 literal or a bracketed IPv6 literal ([::1]); PORT
// is 1..65535. Names are resolved once, when the channel is made
// (getaddrinfo): gRPC 1.51 has no target naming several DNS names, so the
// channel gets the resolved addresses as one `ipv4:` (or `ipv6:`) target.
// Every address a name resolves to becomes a replica of the list.
#ifndef PORTCULLIS_ADAPTERS_COMMON_GATEWAY_ADDRESS_H_
#define PORTCULLIS_ADAPTERS_COMMON_GATEWAY_ADDRESS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace portcullis::adapters {

// OK if `address` is one HOST:PORT as above; otherwise INVALID_ARGUMENT
// saying what is wrong, e.g. `gateway address "gw1" is not HOST:PORT`.
absl::Status CheckGatewayAddress(absl::string_view address);

// Splits a comma-separated list (blanks around entries ignored) and checks
// every entry (CheckGatewayAddress). An empty entry ("a:1,,b:2", a trailing
// comma) is an error too. The errors name the bad entry.
absl::StatusOr<std::vector<std::string>> ParseGatewayList(absl::string_view list);

// The gRPC target that dials every address of `addresses` (checked entries):
// literal addresses as given, names resolved now. All IPv4 → "ipv4:a:p,b:p";
// if some entry has no IPv4 address but all have IPv6 → "ipv6:[a]:p,...".
// Duplicates are dropped. A name that does not resolve is skipped with a
// warning on stderr naming it (a replica whose DNS entry was removed does not
// stop the client); UNAVAILABLE naming every entry only if none resolves.
// INVALID_ARGUMENT if one entry is IPv4-only and another IPv6-only.
absl::StatusOr<std::string> ResolvedTarget(const std::vector<std::string>& addresses);

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_GATEWAY_ADDRESS_H_
