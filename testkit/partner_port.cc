#include "testkit/partner_port.h"

namespace portcullis::testing {

absl::StatusOr<int> FreePortFor(const adapters::PartnerEndpointOptions& options) {
  auto probe = adapters::PartnerEndpoint::Start(options);
  if (!probe.ok()) return probe.status();
  const int port = (*probe)->port();
  (*probe)->Shutdown();
  return port;
}

}  // namespace portcullis::testing
