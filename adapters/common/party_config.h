// A party's adapter configuration: one small YAML file shared by the adapter
// daemon (portcullis-adapter) and the liaison officer's client (liaison), so
// an officer never needs more than a config path (or PORTCULLIS_CONFIG).
//
//   party: uk/border-force              # this party's id at the exchange
//   format: border_force                # native format (NativeFormatNames())
//   gateway: 127.0.0.1:8443             # HOST:PORT of the gateway; several replicas:
//                                       # HOST:PORT,HOST:PORT (round robin, docs/cluster.md)
//   tls:                                # dev PKI layout...
//     pki: ${PORTCULLIS_PKI:-../build/pki}
//     stem: uk-border-force
//     # ...or explicit files: cert, key, ca_bundle, crl_dir (override pki/stem)
//   inbox: ${PORTCULLIS_STATE:-../build/state}/border-force   # the party's inbox folder
//   receive:                            # how the adapter daemon receives
//     mode: pull                        # pull (Receive stream) | push (listen for the gateway)
//     listen: 127.0.0.1:9443            # push only
//     auto_accept: false                # push only: acknowledge ACCEPT on arrival (default false)
//   outbox: ${PORTCULLIS_STATE:-../build/state}/outboxes/border-force   # optional: the daemon
//                                       # submits native records dropped here (outbox_watcher.h)
//   officer: BF-LO-4471                 # optional default officer id
//   justification: "..."               # optional default justification for consultations
//   gateway_identity: spiffe://exchange.gov.uk/gateway   # optional
//   assertion_command: /opt/agency/bin/officer-token   # optional: prints an officer assertion
//                                       # (/bin/sh -c; PORTCULLIS_OFFICER, PORTCULLIS_PARTY and
//                                       # PORTCULLIS_AUDIENCE in its environment), or:
//   assertion_file: /run/agency/officer.jws   # optional: the token, read at each call
//
// Values may use ${VAR} and ${VAR:-default}; relative paths resolve against
// the file's directory. Every problem is reported at once as
// `file:line:col: key: rule`. Environment variables override the file:
// PORTCULLIS_GATEWAY, PORTCULLIS_OFFICER, PORTCULLIS_JUSTIFICATION.
#ifndef PORTCULLIS_ADAPTERS_COMMON_PARTY_CONFIG_H_
#define PORTCULLIS_ADAPTERS_COMMON_PARTY_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "adapters/common/native_format.h"
#include "adapters/common/native_submit.h"
#include "adapters/common/party_tls.h"
#include "mtls/officer_assertion_source.h"

namespace portcullis::adapters {

enum class ReceiveMode { kPull, kPush };

struct PartyConfig {
  std::string source;  // The file it was read from.
  std::string party;
  const NativeFormat* format = nullptr;  // Never null after loading.
  std::string gateway;
  std::string gateway_identity;
  PartyTls tls;
  std::string inbox;   // Absolute.
  std::string outbox;  // Absolute; empty = no outbox folder.
  ReceiveMode receive_mode = ReceiveMode::kPull;
  std::string listen;  // Push mode.
  bool auto_accept = false;
  std::string officer;        // May be empty (then each command needs --officer).
  std::string justification;  // May be empty.
  // Where officer assertions come from (at most one; both empty: none sent).
  std::string assertion_command;
  std::string assertion_file;  // Absolute.
};

// The officer assertion source the config names (docs/adapters.md, "Officer
// assertions"): its file or command, and the command's environment contract
// (PORTCULLIS_PARTY, PORTCULLIS_AUDIENCE; the caller adds PORTCULLIS_OFFICER,
// per officer). No source configured: options with none set.
mtls::AssertionSourceOptions AssertionOptions(const PartyConfig& config);

// Per-officer call credentials from the config's assertion_command or
// assertion_file (fetched and cached per officer), for SubmitBatch; nullptr
// when none is configured (no assertion is sent).
OfficerCredentials OfficerCredentialsOf(const PartyConfig& config);

// Reads `path`. NOT_FOUND if missing; INVALID_ARGUMENT listing every problem.
absl::StatusOr<PartyConfig> LoadPartyConfig(const std::string& path);

// The config path to use: `flag` if non-empty, else $PORTCULLIS_CONFIG, else
// $HOME/.config/portcullis/liaison.yaml.
std::string ResolvePartyConfigPath(const std::string& flag);

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_PARTY_CONFIG_H_
