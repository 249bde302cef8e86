// Where a party's TLS material lives: its certificate chain and key, the
// exchange's trust anchors and the CRL directory. PartyTlsFromPki maps the dev
// PKI layout (certs/README.md) to these paths; a deployment sets them
// explicitly. Plain data; no file is read here (mtls::CheckReadable and the
// credential builders report missing files with their paths).
#ifndef PORTCULLIS_ADAPTERS_COMMON_PARTY_TLS_H_
#define PORTCULLIS_ADAPTERS_COMMON_PARTY_TLS_H_

#include <string>

#include "mtls/credentials.h"

namespace portcullis::adapters {

struct PartyTls {
  std::string cert;       // PEM: leaf then intermediates.
  std::string key;        // PEM private key.
  std::string ca_bundle;  // Trust anchors.
  std::string crl_dir;    // Hashed CRL directory.
};

// E.g. ("/pki", "eu-europol") -> /pki/parties/eu-europol.pem, /pki/parties/eu-europol.key,
// /pki/ca/bundle.pem, /pki/crl. A stem containing '/' (e.g. "gateway/client")
// is taken relative to pki_dir instead of parties/.
PartyTls PartyTlsFromPki(const std::string& pki_dir, const std::string& party_file_stem);

// The mtls file set for `tls` (default reload interval).
mtls::TlsFiles ToTlsFiles(const PartyTls& tls);

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_PARTY_TLS_H_
