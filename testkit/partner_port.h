// A free port for a partner's push endpoint, to be named in the gateway's
// config before either starts.
#ifndef PORTCULLIS_TESTKIT_PARTNER_PORT_H_
#define PORTCULLIS_TESTKIT_PARTNER_PORT_H_

#include "absl/status/statusor.h"
#include "adapters/common/partner_endpoint.h"

namespace portcullis::testing {

// Starts the endpoint `options` once on a free port and shuts it down again;
// the port, or why the endpoint could not start.
absl::StatusOr<int> FreePortFor(const adapters::PartnerEndpointOptions& options);

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTKIT_PARTNER_PORT_H_
