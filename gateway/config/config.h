// Typed, validated, immutable gateway configuration.
//
// Loaded once from YAML by LoadConfig() (config_loader.h), then shared as
// std::shared_ptr<const Config>. Nothing here is mutated after loading, so it
// may be read from any thread without locking.
#ifndef PORTCULLIS_GATEWAY_CONFIG_CONFIG_H_
#define PORTCULLIS_GATEWAY_CONFIG_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "portcullis/v1/exchange.pb.h"

namespace portcullis {

// kAuditor reads the audit log; kOperator manages dead letters through the
// Admin service. Neither sends nor receives messages (no delivery, no route).
enum class PartyKind { kUkAgency, kEuPartner, kAuditor, kOperator };

enum class DeliveryMode { kPush, kPull, kNone };

// How the gateway reaches a party that receives messages.
struct DeliveryConfig {
  DeliveryMode mode = DeliveryMode::kNone;
  // Push only: "host:port" of the party's PartnerEndpoint.
  std::string address;
  // Push only: URI SAN the partner's server certificate must carry.
  std::string server_identity;
  // Largest envelope (serialized bytes, as the gateway stores it) this party
  // accepts: Submit refuses a larger one for it (MESSAGE_TOO_LARGE). 0 = the
  // largest the gateway accepts (Config::MaxEnvelopeBytes()).
  int64_t max_message_bytes = 0;
};

// Whether a party's calls carry officer assertions (docs/officer-identity.md).
enum class OfficerAssertions {
  kNotConfigured,  // No key directory: officers are claimed, never verified.
  kOptional,       // Verified when sent; a call without one records its officer as claimed.
  kRequired,       // Every call that names an officer must carry a verified assertion.
};

struct Party {
  std::string id;           // e.g. "uk/nca"; unique.
  std::string name;         // e.g. "National Crime Agency".
  PartyKind kind = PartyKind::kUkAgency;
  std::string identity;     // URI SAN, e.g. "spiffe://exchange.gov.uk/uk/nca"; unique.
  // Highest classification this party is cleared to receive.
  v1::Classification clearance = v1::OFFICIAL;
  DeliveryConfig delivery;
  OfficerAssertions officer_assertions = OfficerAssertions::kNotConfigured;
  // The public keys its identity provider signs with: files <kid>.<alg>.pem.
  std::string officer_keys_dir;
};

// Body types a route may carry (names as in the Envelope's body oneof).
enum class BodyType { kCaseReferral, kIntelligenceReport, kRequestForInformation, kResponse };

// Which senders may send which body types to which recipients, up to which
// classification. A submission needs a route for every recipient.
struct Route {
  std::string name;                 // For audit and error messages.
  std::set<std::string> from;       // Party ids; "*" = any party.
  std::set<std::string> to;         // Party ids; "*" = any party.
  std::set<BodyType> body_types;    // Empty = none allowed (must be listed).
  v1::Classification max_classification = v1::OFFICIAL;
};

struct ListenerConfig {
  std::string address = "127.0.0.1:8443";  // host:port; port 0 = pick one.
};

// Server limits (HTTP/2 DoS protection for gRPC 1.51).
struct LimitsConfig {
  // The largest request the gateway reads. Every message size limit is
  // derived from it (docs/delivery.md, "Sizes"): the largest envelope a
  // Submit can carry, and the send limits (listener and push channels) that
  // fit a Delivery carrying it.
  int max_receive_message_bytes = 8 * 1024 * 1024;
  int max_metadata_bytes = 16 * 1024;
  int max_concurrent_streams = 100;
  int handshake_timeout_ms = 10000;
  int keepalive_min_ping_interval_ms = 60000;  // Pings more often than this are strikes.
  int keepalive_max_ping_strikes = 2;
  int max_connection_idle_ms = 15 * 60 * 1000;
  int max_connection_age_ms = 60 * 60 * 1000;
  int max_connection_age_grace_ms = 30000;
  int64_t resource_quota_bytes = 512LL * 1024 * 1024;
  int max_threads = 64;
  int max_clock_skew_seconds = 300;  // created_at may be at most this far in the future.
};

struct TlsConfig {
  std::string server_cert;   // PEM chain presented by the gateway's listener.
  std::string server_key;
  std::string client_cert;   // PEM chain the gateway presents when pushing to partners.
  std::string client_key;
  std::string ca_bundle;     // Trust anchors (root CAs).
  std::string crl_dir;       // CRLs (PEM) for every CA in every chain; missing = refused.
  int reload_interval_seconds = 5;  // Certificate / CA / CRL rotation check period (also the timer
                                    // that re-checks open connections and streams after a CRL change).
  // Refused handshakes: at most one audit record per (reason, subject) per
  // interval, with a count; at most this many subjects followed one by one.
  int handshake_audit_interval_seconds = 60;
  int handshake_audit_max_subjects = 256;
};

struct AuditConfig {
  std::string path;         // Append-only audit log file (docs/audit-format.md).
  std::string signing_key;  // Ed25519 private key (PEM) that signs checkpoints.
  int checkpoint_every_records = 1000;
  int checkpoint_interval_seconds = 10;
  std::string witness_dir;  // "" = none: where checkpoint copies go for another party to keep.
  std::string replica_id;   // Older spelling of cluster.replica_id (copied there when that is not given).
};

// Where messages, deliveries and (with kPostgres) the audit trail live (docs/storage.md).
enum class StoreBackend { kSqlite, kPostgres };

struct StoreConfig {
  StoreBackend backend = StoreBackend::kSqlite;
  // kSqlite: the durable message store (docs/delivery.md). Default: outbox.db
  // next to the audit log. Not used with kPostgres ("" unless given).
  std::string path;
  // kPostgres: the libpq connection string (keyword=value or a postgresql://
  // URI), ${VAR} expanded. It may hold a password: never write it anywhere
  // without RedactDsn() (gateway/config/dsn.h). "" with kSqlite.
  std::string dsn;
  int pool_size = 8;                // kPostgres: read connections, 2..64.
  int connect_timeout_seconds = 5;  // kPostgres: per connection attempt, 1..60.
};

// Replicas on one PostgreSQL database (docs/cluster.md).
struct ClusterConfig {
  // This replica's id: in its audit records (v2 replica_id), log lines, leases
  // and Admin answers. cluster.replica_id, or the older audit.replica_id. ""
  // when neither is given: with PostgreSQL the gateway then makes one up at
  // start (host name and a random suffix), unique but not stable.
  std::string replica_id;
  bool replica_id_generated = false;  // replica_id was made up at load (none given).
  // A push destination's lease (database clock): the holder renews it every
  // lease_ms / 5; another replica takes it over once it has expired.
  int lease_ms = 5000;
  // Safety net under LISTEN/NOTIFY: every replica looks at the store for new
  // work at least this often.
  int poll_ms = 1000;
};

struct DeliveryTuning {
  int workers = 16;  // Push attempts in flight at once per destination.
  // Attempts per delivery before it becomes FAILED (a dead letter); 0 = no
  // limit (retry until max_age_ms).
  int max_attempts = 0;
  // Age after acceptance beyond which an undelivered delivery becomes
  // EXPIRED (a dead letter, listed and retried or cancelled by operators).
  int64_t max_age_ms = 7LL * 24 * 3600 * 1000;
  int attempt_timeout_ms = 5000;
  int initial_backoff_ms = 200;
  int max_backoff_ms = 60000;
  // Bounded backlog per destination (accepted, not yet delivered): beyond
  // either bound, Submit to it is refused with RESOURCE_EXHAUSTED.
  int max_backlog_messages = 100000;
  int max_backlog_mib = 1024;
  // Circuit breaker per push destination: open after this many failed
  // attempts in a row, probe again after the cool-down.
  int breaker_failures = 5;
  int breaker_cooldown_ms = 30000;
};

struct Config {
  std::string source_file;  // Path the config was loaded from.
  ListenerConfig listener;
  LimitsConfig limits;
  TlsConfig tls;
  AuditConfig audit;
  StoreConfig store;
  ClusterConfig cluster;
  DeliveryTuning delivery;
  std::vector<Party> parties;
  std::vector<Route> routes;

  // Sizes derived from limits.max_receive_message_bytes (docs/delivery.md, "Sizes").
  // The largest envelope a SubmitRequest within the receive limit carries.
  size_t MaxEnvelopeBytes() const;
  // The largest envelope `party` accepts: its delivery.max_message_bytes, or MaxEnvelopeBytes().
  size_t MaxEnvelopeBytesFor(const Party& party) const;
  // The listener's send limit: a Delivery carrying MaxEnvelopeBytes().
  size_t MaxSendMessageBytes() const;

  // Lookups; nullptr if absent.
  const Party* FindParty(const std::string& id) const;
  const Party* FindPartyByIdentity(const std::string& uri) const;
};

// Each value with its name as the config writes it, in declaration order:
// the one table the loader reads and the *Name functions write.
const std::vector<std::pair<const char*, BodyType>>& BodyTypeNames();
const std::vector<std::pair<const char*, PartyKind>>& PartyKindNames();
const std::vector<std::pair<const char*, StoreBackend>>& StoreBackendNames();

const char* BodyTypeName(BodyType t);  // "case_referral", ...; "unknown" for a value outside the enum.
const char* PartyKindName(PartyKind k);  // "uk_agency", ...
const char* StoreBackendName(StoreBackend b);  // "sqlite", "postgres"

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_CONFIG_CONFIG_H_
