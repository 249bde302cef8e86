// What the config loader's tests share (tests/config_*test.cc, one executable
// config_test): a scratch workspace with dummy PKI files, a scoped environment
// variable, the usual header and parties of a test config, and helpers that
// load a config and compare its error lines.
#ifndef PORTCULLIS_TESTS_CONFIG_TEST_SUPPORT_H_
#define PORTCULLIS_TESTS_CONFIG_TEST_SUPPORT_H_

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/config/config.h"

namespace portcullis::config_test {

namespace fs = std::filesystem;

using LoadResult = absl::StatusOr<std::shared_ptr<const Config>>;

inline constexpr char kSource[] = "test.yaml";

void WriteFile(const fs::path& path, absl::string_view content);

// A scratch directory laid out like the dev PKI plus a state directory:
//   pki/gateway/{server,client}.{pem,key}, pki/ca/bundle.pem, pki/crl/, state/
// Removed when it goes out of scope.
struct Workspace {
  Workspace();
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  std::string Path(absl::string_view relative) const { return (dir / std::string(relative)).string(); }

  fs::path dir;
};

// Sets an environment variable for the duration of a scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::string old_;
  bool had_old_ = false;
};

// Lines 1-11 of most test configs.
inline constexpr char kHeader[] = R"(listener:
  address: "127.0.0.1:8443"
tls:
  server_cert: pki/gateway/server.pem
  server_key: pki/gateway/server.key
  client_cert: pki/gateway/client.pem
  client_key: pki/gateway/client.key
  ca_bundle: pki/ca/bundle.pem
  crl_dir: pki/crl
audit: {signing_key: pki/audit/signing.key,
  path: state/audit.log}
)";

// Three valid parties: a UK agency (pull), a partner (push) and an auditor.
inline constexpr char kParties[] = R"(parties:
  - id: uk/nca
    name: National Crime Agency
    kind: uk_agency
    identity: spiffe://exchange.gov.uk/uk/nca
    delivery: {mode: pull}
  - id: eu/europol
    name: Europol
    kind: eu_partner
    identity: spiffe://exchange.gov.uk/eu/europol
    delivery:
      mode: push
      address: "127.0.0.1:9443"
      server_identity: spiffe://exchange.gov.uk/eu/europol
  - id: audit/ico
    name: Information Commissioner's Office
    kind: auditor
    identity: spiffe://exchange.gov.uk/audit/ico
)";

// LoadConfigString(yaml) as "test.yaml", relative paths resolved in `ws`.
LoadResult Load(const Workspace& ws, absl::string_view yaml);

// "test.yaml:<line>:<column>" of the first occurrence of `needle`, computed
// from the text alone (an oracle independent of yaml-cpp's marks).
std::string At(absl::string_view text, absl::string_view needle);

// The error lines of a failed load (and a failure if it did not fail).
std::vector<std::string> ErrorLines(const LoadResult& result);

}  // namespace portcullis::config_test

#endif  // PORTCULLIS_TESTS_CONFIG_TEST_SUPPORT_H_
