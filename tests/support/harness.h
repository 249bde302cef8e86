// Test harness: a real gateway on loopback with real mTLS, configured from
// the dev PKI that certs/gen-dev-pki.sh generated for the test run, and
// clients holding real party certificates.
#ifndef PORTCULLIS_TESTS_SUPPORT_HARNESS_H_
#define PORTCULLIS_TESTS_SUPPORT_HARNESS_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "gateway/audit/audit_record.h"
#include "gateway/config/config.h"
#include "gateway/service/gateway.h"
#include "portcullis/v1/exchange.grpc.pb.h"
#include "tests/support/credentials.h"
#include "tests/support/files.h"
#include "tests/support/poll.h"
#include "testkit/sample_envelopes.h"

namespace portcullis::testing {

// PkiDir, MakeTempDir, ReadFile: tests/support/files.h; PkiCert, ChannelTo,
// PartySslOptions: tests/support/credentials.h; WaitUntil: tests/support/poll.h;
// SampleReferral: testkit/sample_envelopes.h.

struct HarnessOptions {
  std::string europol_push_address;  // "" = eu/europol receives by pull.
  std::string fr_dnpaf_push_address;  // "" = eu/fr-dnpaf receives by pull.
  int64_t europol_max_message_bytes = 0;   // 0 = not set (its delivery.max_message_bytes).
  int64_t fr_dnpaf_max_message_bytes = 0;  // 0 = not set.
  std::string server_cert_dir;       // "" = the PKI's gateway/ (for rotation tests: a copy).
  std::string ca_bundle;             // "" = the PKI's bundle.
  std::string crl_dir;               // "" = the PKI's crl/.
  int max_attempts = 5;
  // The harness's long-standing values (the gateway's own defaults are 5000, 200, 60000).
  int attempt_timeout_ms = 2000;
  int initial_backoff_ms = 50;
  int max_backoff_ms = 500;
  int max_backlog_messages = 100000;
  int workers = 4;
  int breaker_failures = 1000;  // Effectively off unless a test is about it.
  int breaker_cooldown_ms = 1000;
  int64_t max_age_ms = 24LL * 3600 * 1000;  // Undelivered after this: EXPIRED.
  int checkpoint_every_records = 1000;
  std::string witness_dir;  // "" = no witness copy.
  std::string replica_id;   // audit.replica_id; "" = not set.
  int poll_ms = 0;          // cluster.poll_ms; 0 = not set (the gateway's default).
  int handshake_audit_interval_seconds = 0;  // 0 = the gateway's default.
  int handshake_audit_max_subjects = 0;      // 0 = the gateway's default.
  // Officer assertions (docs/officer-identity.md), by party id: "required" or
  // "optional" (its parties[].officer_assertions); a party not named has
  // neither (officers claimed, never verified), as every test before issue 13.
  std::map<std::string, std::string> officer_assertions;
  // officer_keys_dir of a party named above; default: the dev PKI's
  // officer-keys/<party-stem> (dev-1.EdDSA.pem, whose private half is
  // idp/<party-stem>/dev-1.key; tests/support/officer_tokens.h).
  std::map<std::string, std::string> officer_keys_dirs;
  // The store's database (store.backend: postgres) when not empty; "" =
  // SQLite + file log, or a fresh database on the shared test cluster when
  // the process runs on PostgreSQL (tests/support/test_storage.h).
  std::string store_dsn;
  GatewayTestHooks hooks;
};

// Writes the test config (parties, routes) for `dir` and returns its path.
std::string WriteTestConfig(const std::string& dir, const HarnessOptions& options);

class GatewayHarness {
 public:
  explicit GatewayHarness(const std::string& name, HarnessOptions options = {});
  ~GatewayHarness();

  int port() const { return gateway_->port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }
  Gateway* gateway() { return gateway_.get(); }

  // An Exchange stub that presents `cert` (stem under the PKI, e.g.
  // "parties/uk-nca"). Each call creates a new channel (new handshake).
  std::unique_ptr<v1::Exchange::Stub> Client(const std::string& stem) const;
  std::shared_ptr<grpc::Channel> Channel(const std::string& stem) const;

  // Audit log lines, parsed only as far as tests need: raw JSON lines (from
  // the file, or from the database on PostgreSQL).
  std::vector<std::string> AuditLines() const;
  // The audit records (parsed) whose action is `action`, in log order.
  std::vector<AuditRecord> AuditRecords(const std::string& action) const;
  const std::string& audit_path() const { return audit_path_; }
  const std::string& store_dsn() const { return store_dsn_; }
  // How many audit lines contain every needle.
  int CountAudit(const std::vector<std::string>& needles) const;
  // Waits until an audit line containing every needle appears (up to 10 s).
  bool WaitForAudit(const std::vector<std::string>& needles) const;

  void Stop();
  // Stops the gateway and starts a new one on the same folder and config
  // (same audit log and message store): a restart.
  void Restart();
  // The same, listening on the same port (clients reconnect by themselves).
  void RestartOnSamePort();

 private:
  void Start(int port = 0);
  GatewayTestHooks hooks_;
  std::string dir_;
  std::string config_path_;
  std::string audit_path_;
  std::string store_dsn_;  // "" on SQLite.
  std::unique_ptr<Gateway> gateway_;
};

// A client context for one call, with a deadline `deadline` from now.
std::unique_ptr<grpc::ClientContext> CallContext(std::chrono::seconds deadline = std::chrono::seconds(10));

// Submit with a deadline; returns the status and fills *receipt.
grpc::Status Submit(v1::Exchange::Stub& stub, const v1::Envelope& envelope, v1::Receipt* receipt);

// One recipient's delivery state as the sender (PKI stem, e.g.
// "parties/uk-nca") sees it with Track; UNSPECIFIED if Track fails or the
// message has several recipients.
v1::DeliveryState StateOf(GatewayHarness& h, const std::string& message_id,
                          const std::string& sender_stem = "parties/uk-border-force");
// Polls StateOf until it is `want` (up to 30 s).
bool WaitForState(GatewayHarness& h, const std::string& message_id, v1::DeliveryState want,
                  const std::string& sender_stem = "parties/uk-border-force");

// Deliveries waiting for `recipient`: the gateway's in-memory Backlog on
// SQLite, the database's backlog_counts (cluster-wide) on PostgreSQL.
uint64_t BacklogMessages(GatewayHarness& h, const std::string& recipient);

// The Refusal reason / field carried by a status.
std::string ReasonOf(const grpc::Status& status);
std::string FieldOf(const grpc::Status& status);

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_HARNESS_H_
