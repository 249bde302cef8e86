#include "tests/support/credentials.h"

#include <cstdint>
#include <cstdlib>

#include <gtest/gtest.h>

#include "mtls/credentials.h"
#include "tests/support/files.h"

namespace portcullis::testing {

ClientCert PkiCert(const std::string& stem) {
  return {PkiDir() + "/" + stem + ".pem", PkiDir() + "/" + stem + ".key"};
}

std::string PkiCaBundle() { return ReadFile(PkiDir() + "/ca/bundle.pem"); }

grpc::SslCredentialsOptions PartySslOptions(const std::string& stem) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = PkiCaBundle();
  if (!stem.empty()) {
    const ClientCert c = PkiCert(stem);
    ssl.pem_cert_chain = ReadFile(c.cert);
    ssl.pem_private_key = ReadFile(c.key);
  }
  return ssl;
}

std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address, const std::string& stem) {
  ClientCert c = PkiCert(stem);
  mtls::ClientTlsOptions o;
  o.files = {c.cert, c.key, PkiDir() + "/ca/bundle.pem", PkiDir() + "/crl", 1};
  o.expected_server_identity = "spiffe://exchange.gov.uk/gateway";
  auto creds = mtls::MakeChannelCredentials(o);
  if (!creds.ok()) {
    ADD_FAILURE() << creds.status();
    std::abort();
  }
  grpc::ChannelArguments args;
  // A distinct channel (and handshake) per client, never a shared subchannel.
  args.SetInt("portcullis.test.unique", static_cast<int>(reinterpret_cast<uintptr_t>(&args) & 0x7fffffff));
  return grpc::CreateCustomChannel(address, *creds, args);
}

}  // namespace portcullis::testing
