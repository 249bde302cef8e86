// CRLs made in tests: what a CA publishes when it revokes a certificate.
#ifndef PORTCULLIS_TESTS_SUPPORT_CRL_H_
#define PORTCULLIS_TESTS_SUPPORT_CRL_H_

#include <string>
#include <vector>

namespace portcullis::testing {

// Writes to `path` (atomically: a temporary file renamed over it) a new CRL
// of the dev PKI's issuing CA (ca/intermediate.pem, signed with its key)
// that revokes the leaf certificates of `stems` (e.g. "parties/uk-bsc") in
// addition to fixtures/revoked, as the PKI's own crl/intermediate.crl.pem
// does. Its CRL number is higher than the PKI's. It is valid for
// `valid_seconds` (its nextUpdate). Fails the test on error.
void WriteIssuingCaCrl(const std::string& path, const std::vector<std::string>& stems,
                       long valid_seconds = 30L * 86400);

// Copies the PKI's CRLs (root, intermediate, intermediate-revoked; not the
// hash links) into a new directory `dir`, for a gateway whose CRLs a test edits.
void CopyPkiCrls(const std::string& dir);

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_CRL_H_
