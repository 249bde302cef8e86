#include "tools/common/cli_common.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "adapters/common/gateway_address.h"
#include "adapters/common/gateway_client.h"

namespace portcullis::tools {

void AddGatewayFlags(CLI::App* app, GatewayFlags* f, const std::string& example_stem, bool party_alias) {
  const char* env_pki = std::getenv("PORTCULLIS_PKI");
  f->pki = env_pki != nullptr && *env_pki != '\0' ? env_pki : "build/pki";
  f->gateway_identity = adapters::kGatewayIdentity;
  // Several replicas: --gateway repeated and/or comma-separated; kept as one
  // comma-separated list (DialGateway dials it as one round-robin channel).
  static const CLI::Validator kGatewayAddress(
      [](std::string& value) {
        value = std::string(absl::StripAsciiWhitespace(value));
        const absl::Status s = adapters::CheckGatewayAddress(value);
        return s.ok() ? std::string() : std::string(s.message());
      },
      "", "gateway address");
  app->add_option("--gateway", f->gateway,
                  "the gateway's address; several replicas: repeat --gateway or give HOST:PORT,HOST:PORT (one "
                  "channel, calls spread round robin, a replica that cannot be reached is skipped)")
      ->type_name("HOST:PORT")
      ->group("Gateway and TLS")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::Join)
      ->transform(kGatewayAddress);
  app->add_option(party_alias ? "--as,--party" : "--as", f->as,
                  absl::StrCat("your certificate: a stem in the PKI (e.g. ", example_stem, ")"))
      ->type_name("STEM")->group("Gateway and TLS");
  f->pki_given = false;
  app->add_option("--pki", f->pki, "the PKI directory (default $PORTCULLIS_PKI, else build/pki)")
      ->type_name("DIR")->group("Gateway and TLS")
      ->each([f](const std::string&) { f->pki_given = true; });  // Only for a value on the command line.
  app->add_option("--cert", f->cert, "certificate chain (PEM); overrides the PKI's")->type_name("FILE")
      ->group("Gateway and TLS");
  app->add_option("--key", f->key, "private key (PEM); overrides the PKI's")->type_name("FILE")->group("Gateway and TLS");
  app->add_option("--ca", f->ca,
                  "trust anchors (PEM); overrides the PKI's ca/bundle.pem (without --as: required unless --pki)")
      ->type_name("FILE")->group("Gateway and TLS");
  app->add_option("--crl-dir", f->crl_dir,
                  "hashed CRL directory; overrides the PKI's crl/ (without --as: required unless --pki)")
      ->type_name("DIR")->group("Gateway and TLS");
  app->add_option("--gateway-identity", f->gateway_identity,
                  "the gateway's identity (default spiffe://exchange.gov.uk/gateway)")
      ->type_name("URI")->group("Gateway and TLS");
  app->add_option("--assertion-file", f->assertion_file,
                  "your officer assertion (compact JWS), read at each call; a refresher may rewrite it (no jti: "
                  "the gateway accepts a jti once)")
      ->type_name("PATH")->group("Officer assertion");
  app->add_option("--assertion-command", f->assertion_command,
                  "prints your officer assertion; run with /bin/sh -c (PORTCULLIS_AUDIENCE and, where known, "
                  "PORTCULLIS_OFFICER and PORTCULLIS_PARTY in its environment); a token with a jti is fetched "
                  "again for each call. Without either flag: $PORTCULLIS_ASSERTION (the token itself); none: no "
                  "assertion is sent")
      ->type_name("CMD")->group("Officer assertion");
}

absl::StatusOr<adapters::PartyTls> TlsFiles(const GatewayFlags& f) {
  if (f.as.empty() && (f.cert.empty() || f.key.empty())) {
    return absl::InvalidArgumentError("TLS files incomplete: give --as STEM (or --party), or --cert FILE and --key FILE");
  }
  // Without --as the trust anchors and CRLs come from the PKI only when --pki
  // is on the command line: never silently from $PORTCULLIS_PKI or build/pki.
  if (f.as.empty() && !f.pki_given) {
    for (const auto& [value, flag] : {std::pair{&f.ca, "--ca"}, std::pair{&f.crl_dir, "--crl-dir"}}) {
      if (value->empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("TLS files incomplete: give --as STEM (or --party), or ", flag, " (or --pki DIR)"));
      }
    }
  }
  adapters::PartyTls tls = adapters::PartyTlsFromPki(f.pki, f.as.empty() ? "unset" : f.as);
  if (!f.cert.empty()) tls.cert = f.cert;
  if (!f.key.empty()) tls.key = f.key;
  if (!f.ca.empty()) tls.ca_bundle = f.ca;
  if (!f.crl_dir.empty()) tls.crl_dir = f.crl_dir;
  return tls;
}

mtls::AssertionSourceOptions AssertionOptions(const GatewayFlags& f) {
  mtls::AssertionSourceOptions o;
  o.file = f.assertion_file;
  o.command = f.assertion_command;
  const char* env = std::getenv(mtls::kAssertionEnvVar);
  if (env != nullptr && *env != '\0') o.env_var = mtls::kAssertionEnvVar;  // Set but empty: none.
  o.command_env["PORTCULLIS_AUDIENCE"] = f.gateway_identity;
  if (!f.officer.empty()) o.command_env["PORTCULLIS_OFFICER"] = f.officer;
  if (!f.party.empty()) o.command_env["PORTCULLIS_PARTY"] = f.party;
  return o;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Dial(const GatewayFlags& f) {
  absl::StatusOr<adapters::PartyTls> tls = TlsFiles(f);
  if (!tls.ok()) return tls.status();
  std::shared_ptr<mtls::OfficerAssertionSource> source = mtls::OfficerAssertionSource::FromOptions(AssertionOptions(f));
  return adapters::DialGateway(f.gateway, *tls, f.gateway_identity,
                               source == nullptr ? nullptr : mtls::OfficerAssertionCallCredentials(source));
}

}  // namespace portcullis::tools
