#include "tools/common/gateway_flags.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "adapters/common/gateway_client.h"
#include "adapters/common/party_tls.h"

namespace portcullis::tools {

GatewayFlags DefaultGatewayFlags() {
  GatewayFlags f;
  const char* env_pki = std::getenv("PORTCULLIS_PKI");
  f.pki = env_pki ? env_pki : "build/pki";
  return f;
}

void AddGatewayFlags(GatewayFlags* f, std::map<std::string, std::string*>* table) {
  (*table)["--gateway"] = &f->gateway;
  (*table)["--as"] = &f->as;
  (*table)["--pki"] = &f->pki;
  (*table)["--cert"] = &f->cert;
  (*table)["--key"] = &f->key;
  (*table)["--ca"] = &f->ca;
  (*table)["--crl-dir"] = &f->crl_dir;
}

std::string GatewayFlagsUsage(const std::string& role, const std::string& example_stem) {
  return absl::StrCat("  --as PARTY              your ", role, " certificate: a stem in the PKI (e.g. ", example_stem,
                      "), or set --cert/--key/--ca/--crl-dir\n",
                      "  --pki DIR               the PKI directory (default $PORTCULLIS_PKI or build/pki)\n");
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Dial(const GatewayFlags& f) {
  adapters::PartyTls tls = adapters::PartyTlsFromPki(f.pki, f.as.empty() ? "unset" : f.as);
  if (!f.cert.empty()) tls.cert = f.cert;
  if (!f.key.empty()) tls.key = f.key;
  if (!f.ca.empty()) tls.ca_bundle = f.ca;
  if (!f.crl_dir.empty()) tls.crl_dir = f.crl_dir;
  return adapters::DialGateway(f.gateway, tls);
}

}  // namespace portcullis::tools
