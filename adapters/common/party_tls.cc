#include "adapters/common/party_tls.h"

namespace portcullis::adapters {

PartyTls PartyTlsFromPki(const std::string& pki_dir, const std::string& party_file_stem) {
  std::string base = pki_dir;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  const std::string stem = party_file_stem.find('/') == std::string::npos
                               ? base + "/parties/" + party_file_stem
                               : base + "/" + party_file_stem;
  PartyTls tls;
  tls.cert = stem + ".pem";
  tls.key = stem + ".key";
  tls.ca_bundle = base + "/ca/bundle.pem";
  tls.crl_dir = base + "/crl";
  return tls;
}

mtls::TlsFiles ToTlsFiles(const PartyTls& tls) {
  mtls::TlsFiles files;
  files.cert_chain = tls.cert;
  files.private_key = tls.key;
  files.ca_bundle = tls.ca_bundle;
  files.crl_dir = tls.crl_dir;
  return files;
}

}  // namespace portcullis::adapters
