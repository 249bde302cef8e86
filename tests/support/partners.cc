#include "tests/support/partners.h"

#include <gtest/gtest.h>

#include "adapters/common/party_tls.h"
#include "tests/support/files.h"
#include "testkit/partner_port.h"

namespace portcullis::testing {

adapters::PartnerEndpointOptions PartnerEndpointFor(const std::string& pki_stem, const std::string& inbox,
                                                    const std::string& officer) {
  adapters::PartnerEndpointOptions eo;
  eo.tls = adapters::PartyTlsFromPki(PkiDir(), pki_stem);
  eo.inbox_dir = MakeTempDir(inbox);
  if (!officer.empty()) eo.officer = officer;
  return eo;
}

adapters::PartnerEndpointOptions EuropolEndpoint(const std::string& inbox) {
  return PartnerEndpointFor("eu-europol", inbox, "EUROPOL-LO-17");
}

int ReservePort(const adapters::PartnerEndpointOptions& options) {
  absl::StatusOr<int> port = FreePortFor(options);
  EXPECT_TRUE(port.ok()) << port.status();
  return port.ok() ? *port : 0;
}

}  // namespace portcullis::testing
