#include "tests/support/harness.h"
#include "tests/support/test_storage.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "portcullis/v1/refusal_status.h"
#include "gateway/audit/log_format.h"
#include "gateway/config/config_loader.h"
#include "gateway/pg/pg_connection.h"

namespace portcullis::testing {
namespace fs = std::filesystem;

namespace {

// ", officer_assertions: ..., officer_keys_dir: ..." for a party the options
// name; "" for any other (the config before issue 13).
std::string OfficerSettings(const HarnessOptions& o, const std::string& party) {
  auto mode = o.officer_assertions.find(party);
  if (mode == o.officer_assertions.end()) return "";
  auto dir = o.officer_keys_dirs.find(party);
  std::string stem = party;
  std::replace(stem.begin(), stem.end(), '/', '-');
  return ", officer_assertions: " + mode->second + ", officer_keys_dir: " +
         (dir != o.officer_keys_dirs.end() ? dir->second : PkiDir() + "/officer-keys/" + stem);
}


// The store section: PostgreSQL when the options or the test process say so.
std::string StoreSection(const HarnessOptions& o) {
  std::string dsn = o.store_dsn;
  if (dsn.empty() && TestsOnPostgres()) dsn = FreshTestDatabase();
  if (dsn.empty()) return "";
  return "store: { backend: postgres, dsn: \"" + dsn + "\" }\n";
}

}  // namespace

std::string WriteTestConfig(const std::string& dir, const HarnessOptions& o) {
  const std::string pki = PkiDir();
  const std::string server_dir = o.server_cert_dir.empty() ? pki + "/gateway" : o.server_cert_dir;
  auto delivery = [](const std::string& push_address, const std::string& party, int64_t max_bytes) -> std::string {
    const std::string limit = max_bytes > 0 ? ", max_message_bytes: " + std::to_string(max_bytes) : "";
    if (push_address.empty()) return "{ mode: pull" + limit + " }";
    return "{ mode: push, address: \"" + push_address + "\", server_identity: \"spiffe://exchange.gov.uk/" + party +
           "\"" + limit + " }";
  };
  const std::string europol_delivery = delivery(o.europol_push_address, "eu/europol", o.europol_max_message_bytes);
  const std::string fr_dnpaf_delivery = delivery(o.fr_dnpaf_push_address, "eu/fr-dnpaf", o.fr_dnpaf_max_message_bytes);
  std::ostringstream y;
  y << "listener: { address: \"127.0.0.1:0\" }\n"
    << "limits: { handshake_timeout_ms: 5000 }\n"
    << "tls:\n"
    << "  server_cert: " << server_dir << "/server.pem\n"
    << "  server_key: " << server_dir << "/server.key\n"
    << "  client_cert: " << pki << "/gateway/client.pem\n"
    << "  client_key: " << pki << "/gateway/client.key\n"
    << "  ca_bundle: " << (o.ca_bundle.empty() ? pki + "/ca/bundle.pem" : o.ca_bundle) << "\n"
    << "  crl_dir: " << (o.crl_dir.empty() ? pki + "/crl" : o.crl_dir) << "\n"
    << "  reload_interval_seconds: 1\n"
    << (o.handshake_audit_interval_seconds > 0
            ? "  handshake_audit_interval_seconds: " + std::to_string(o.handshake_audit_interval_seconds) + "\n"
            : "")
    << (o.handshake_audit_max_subjects > 0
            ? "  handshake_audit_max_subjects: " + std::to_string(o.handshake_audit_max_subjects) + "\n"
            : "")
    << "audit: { path: " << dir << "/audit.log, signing_key: " << pki << "/audit/signing.key"
    << ", checkpoint_every_records: " << o.checkpoint_every_records
    << (o.witness_dir.empty() ? "" : ", witness_dir: " + o.witness_dir)
    << (o.replica_id.empty() ? "" : ", replica_id: " + o.replica_id) << " }\n"
    << StoreSection(o)
    << (o.poll_ms > 0 ? "cluster: { poll_ms: " + std::to_string(o.poll_ms) + " }\n" : "")
    << "delivery: { workers: " << o.workers << ", max_attempts: " << o.max_attempts
    << ", initial_backoff_ms: " << o.initial_backoff_ms << ", max_backoff_ms: " << o.max_backoff_ms
    << ", attempt_timeout_ms: " << o.attempt_timeout_ms << ", max_backlog_messages: " << o.max_backlog_messages
    << ", breaker_failures: " << o.breaker_failures << ", breaker_cooldown_ms: " << o.breaker_cooldown_ms
    << ", max_age_ms: " << o.max_age_ms << " }\n"
    << "parties:\n"
    << "  - { id: uk/nca, name: National Crime Agency, kind: uk_agency, identity: \"spiffe://exchange.gov.uk/uk/nca\", clearance: SECRET, delivery: { mode: pull }" << OfficerSettings(o, "uk/nca") << " }\n"
    << "  - { id: uk/bsc, name: Border Security Command, kind: uk_agency, identity: \"spiffe://exchange.gov.uk/uk/bsc\", clearance: SECRET, delivery: { mode: pull }" << OfficerSettings(o, "uk/bsc") << " }\n"
    << "  - { id: uk/border-force, name: Border Force, kind: uk_agency, identity: \"spiffe://exchange.gov.uk/uk/border-force\", clearance: OFFICIAL_SENSITIVE, delivery: { mode: pull }" << OfficerSettings(o, "uk/border-force") << " }\n"
    << "  - { id: uk/immigration-enforcement, name: Home Office Immigration Enforcement, kind: uk_agency, identity: \"spiffe://exchange.gov.uk/uk/immigration-enforcement\", clearance: OFFICIAL_SENSITIVE, delivery: { mode: pull }" << OfficerSettings(o, "uk/immigration-enforcement") << " }\n"
    << "  - { id: eu/europol, name: Europol, kind: eu_partner, identity: \"spiffe://exchange.gov.uk/eu/europol\", clearance: OFFICIAL_SENSITIVE, delivery: " << europol_delivery << OfficerSettings(o, "eu/europol") << " }\n"
    << "  - { id: eu/fr-dnpaf, name: French border police, kind: eu_partner, identity: \"spiffe://exchange.gov.uk/eu/fr-dnpaf\", clearance: OFFICIAL, delivery: " << fr_dnpaf_delivery << OfficerSettings(o, "eu/fr-dnpaf") << " }\n"
    << "  - { id: audit/ico, name: Information Commissioner, kind: auditor, identity: \"spiffe://exchange.gov.uk/audit/ico\", clearance: OFFICIAL" << OfficerSettings(o, "audit/ico") << " }\n"
    << "  - { id: ops/operator, name: Operations desk, kind: operator, identity: \"spiffe://exchange.gov.uk/ops/operator\"" << OfficerSettings(o, "ops/operator") << " }\n"
    << "routes:\n"
    << "  - { name: uk-to-eu, from: [uk/nca, uk/bsc, uk/border-force, uk/immigration-enforcement], to: [eu/europol, eu/fr-dnpaf], body_types: [case_referral, intelligence_report, request_for_information, response], max_classification: OFFICIAL_SENSITIVE }\n"
    << "  - { name: eu-to-uk, from: [eu/europol, eu/fr-dnpaf], to: [uk/nca, uk/bsc, uk/border-force, uk/immigration-enforcement], body_types: [response, request_for_information], max_classification: OFFICIAL_SENSITIVE }\n"
    << "  - { name: uk-internal, from: [uk/nca, uk/bsc, uk/border-force], to: [uk/nca, uk/bsc, uk/border-force], body_types: [case_referral, intelligence_report, request_for_information, response], max_classification: SECRET }\n";
  std::string path = dir + "/portcullis.yaml";
  std::ofstream(path) << y.str();
  return path;
}

GatewayHarness::GatewayHarness(const std::string& name, HarnessOptions options) : hooks_(options.hooks) {
  dir_ = MakeTempDir(name);
  if (options.store_dsn.empty() && TestsOnPostgres()) options.store_dsn = FreshTestDatabase();
  store_dsn_ = options.store_dsn;
  config_path_ = WriteTestConfig(dir_, options);
  audit_path_ = dir_ + "/audit.log";
  Start();
}

void GatewayHarness::Start(int port) {
  auto config = LoadConfigFile(config_path_);
  if (!config.ok()) {
    ADD_FAILURE() << "test config invalid: " << config.status();
    std::abort();
  }
  std::shared_ptr<const Config> loaded = *config;
  if (port != 0) {
    auto copy = std::make_shared<Config>(*loaded);
    copy->listener.address = "127.0.0.1:" + std::to_string(port);
    loaded = copy;
  }
  auto gateway = Gateway::Start(loaded, hooks_);
  if (!gateway.ok()) {
    ADD_FAILURE() << "gateway did not start: " << gateway.status();
    std::abort();
  }
  gateway_ = std::move(*gateway);
}

void GatewayHarness::Restart() {
  Stop();
  Start();
}

void GatewayHarness::RestartOnSamePort() {
  const int old_port = port();
  Stop();
  Start(old_port);
}

GatewayHarness::~GatewayHarness() { Stop(); }

void GatewayHarness::Stop() {
  if (gateway_) {
    gateway_->Shutdown(std::chrono::seconds(2));
    gateway_.reset();
  }
}

std::shared_ptr<grpc::Channel> GatewayHarness::Channel(const std::string& stem) const {
  return ChannelTo(address(), stem);
}

std::unique_ptr<v1::Exchange::Stub> GatewayHarness::Client(const std::string& stem) const {
  return v1::Exchange::NewStub(Channel(stem));
}

std::vector<std::string> GatewayHarness::AuditLines() const {
  if (!store_dsn_.empty()) return AuditLinesIn(store_dsn_);
  std::vector<std::string> lines;
  std::ifstream in(audit_path_);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<AuditRecord> GatewayHarness::AuditRecords(const std::string& action) const {
  std::vector<AuditRecord> out;
  for (const std::string& line : AuditLines()) {
    auto r = ParseLine(line);
    if (r.ok() && r->action == action) out.push_back(*r);
  }
  return out;
}

int GatewayHarness::CountAudit(const std::vector<std::string>& needles) const {
  int n = 0;
  for (const std::string& line : AuditLines()) {
    bool all = true;
    for (const auto& needle : needles) all = all && line.find(needle) != std::string::npos;
    n += all;
  }
  return n;
}

bool GatewayHarness::WaitForAudit(const std::vector<std::string>& needles) const {
  return WaitUntil([&] { return CountAudit(needles) > 0; }, std::chrono::seconds(10), std::chrono::milliseconds(20));
}

std::unique_ptr<grpc::ClientContext> CallContext(std::chrono::seconds deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  return ctx;
}

grpc::Status Submit(v1::Exchange::Stub& stub, const v1::Envelope& envelope, v1::Receipt* receipt) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::SubmitRequest req;
  *req.mutable_envelope() = envelope;
  return stub.Submit(&ctx, req, receipt);
}

v1::DeliveryState StateOf(GatewayHarness& h, const std::string& message_id, const std::string& sender_stem) {
  grpc::ClientContext ctx;
  v1::TrackRequest tr;
  tr.set_message_id(message_id);
  v1::TrackResponse track;
  grpc::Status s = h.Client(sender_stem)->Track(&ctx, tr, &track);
  if (!s.ok() || track.recipients_size() != 1) return v1::DELIVERY_STATE_UNSPECIFIED;
  return track.recipients(0).state();
}

bool WaitForState(GatewayHarness& h, const std::string& message_id, v1::DeliveryState want,
                  const std::string& sender_stem) {
  // Each poll is a new handshake: 30 s leaves room for slow (sanitizer) builds.
  return WaitUntil([&] { return StateOf(h, message_id, sender_stem) == want; }, std::chrono::seconds(30));
}

uint64_t BacklogMessages(GatewayHarness& h, const std::string& recipient) {
  if (h.store_dsn().empty()) return h.gateway()->dispatcher()->backlog()->messages(recipient);
  auto conn = pg::Connection::Open(h.store_dsn(), 10);
  EXPECT_TRUE(conn.ok()) << conn.status();
  if (!conn.ok()) return ~uint64_t{0};
  auto res = (*conn)->Exec("SELECT messages FROM backlog_counts WHERE recipient = $1", {recipient});
  EXPECT_TRUE(res.ok()) << res.status();
  if (!res.ok()) return ~uint64_t{0};
  return res->rows() == 0 ? 0 : static_cast<uint64_t>(res->Int(0, 0));
}

std::string ReasonOf(const grpc::Status& status) {
  auto r = v1::RefusalInStatus(status);
  return r ? r->reason() : "";
}
std::string FieldOf(const grpc::Status& status) {
  auto r = v1::RefusalInStatus(status);
  return r ? r->field() : "";
}

}  // namespace portcullis::testing
