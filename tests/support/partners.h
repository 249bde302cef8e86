// Partner push endpoints for gateway tests: options for a partner's endpoint
// from the dev PKI, and a free port for it to be named in the gateway's config
// before either starts.
#ifndef PORTCULLIS_TESTS_SUPPORT_PARTNERS_H_
#define PORTCULLIS_TESTS_SUPPORT_PARTNERS_H_

#include <string>

#include "adapters/common/partner_endpoint.h"

namespace portcullis::testing {

// A partner endpoint presenting the PKI's `pki_stem` (e.g. "eu-europol" or
// "eu-fr-dnpaf") with its inbox in a fresh MakeTempDir(inbox). `officer` ""
// = none set. No gateway address: deliveries stay DELIVERED (not acknowledged)
// unless the test sets one.
adapters::PartnerEndpointOptions PartnerEndpointFor(const std::string& pki_stem, const std::string& inbox,
                                                    const std::string& officer = "");

// Europol's endpoint, officer EUROPOL-LO-17.
adapters::PartnerEndpointOptions EuropolEndpoint(const std::string& inbox);

// A free port on which the endpoint `options` can listen: it is started once
// on a free port and shut down again (test failure and 0 if it cannot start).
int ReservePort(const adapters::PartnerEndpointOptions& options);

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_PARTNERS_H_
