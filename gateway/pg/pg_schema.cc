#include "gateway/pg/pg_schema.h"

#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace portcullis::pg {
namespace {

// Serialises schema creation across gateways opening one database at once.
constexpr const char* kSchemaLock = "SELECT pg_advisory_xact_lock(5043535401)";

// Version 1. Integers are bigint (micros, seqs, indexes); blobs are bytea.
// Never edit a released version: a new version gets a migration.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE portcullis_meta(
  key text PRIMARY KEY,
  value text NOT NULL
);
-- The head row: the one lock behind every gap-free number (docs/storage.md).
CREATE TABLE portcullis_head(
  id integer PRIMARY KEY CHECK (id = 1),
  audit_size bigint NOT NULL,
  audit_head text NOT NULL,
  next_seq bigint NOT NULL,
  next_position bigint NOT NULL
);
INSERT INTO portcullis_head VALUES (1, 0, '', 1, 1);
CREATE TABLE messages(
  sender text NOT NULL,
  message_id text NOT NULL,
  position bigint NOT NULL UNIQUE,      -- acceptance order (ListCase pages by it)
  envelope_sha256 text NOT NULL,
  envelope bytea NOT NULL,              -- serialized v1::Envelope, as accepted
  receipt bytea NOT NULL,               -- serialized v1::Receipt (audit_index set)
  case_reference text NOT NULL,
  accepted_micros bigint NOT NULL,
  audit_index bigint,                   -- set in the acceptance's transaction; NULL only via the bare store API
  audit_size_at_commit bigint NOT NULL,
  PRIMARY KEY (sender, message_id)
);
CREATE INDEX messages_unaudited ON messages(position) WHERE audit_index IS NULL;
CREATE INDEX messages_by_case ON messages(case_reference, position);
CREATE TABLE deliveries(
  delivery_id text PRIMARY KEY,
  seq bigint NOT NULL UNIQUE,
  sender text NOT NULL,
  message_id text NOT NULL,
  recipient text NOT NULL,
  case_reference text NOT NULL,
  state integer NOT NULL,               -- v1::DeliveryState number
  attempts bigint NOT NULL,
  next_attempt_micros bigint NOT NULL,
  last_error text NOT NULL,
  expires_micros bigint NOT NULL,       -- 0: none recorded
  updated_micros bigint NOT NULL,
  officer text NOT NULL,
  officer_verified boolean NOT NULL,
  reason text NOT NULL
);
CREATE INDEX deliveries_by_recipient ON deliveries(recipient, state, seq);
CREATE INDEX deliveries_by_case ON deliveries(case_reference, sender, message_id, recipient);
CREATE INDEX deliveries_by_message ON deliveries(message_id, recipient);
CREATE INDEX deliveries_by_expiry ON deliveries(state, expires_micros) WHERE expires_micros > 0;
CREATE INDEX deliveries_by_sender ON deliveries(sender, message_id);
CREATE TABLE pull_cursors(
  recipient text PRIMARY KEY,
  acked_seq bigint NOT NULL
);
-- The audit chain: each line exactly as the file log writes it (format v2),
-- and its RFC 6962 leaf hash.
CREATE TABLE audit_records(
  idx bigint PRIMARY KEY,
  line text NOT NULL,
  leaf_hash bytea NOT NULL
);
-- Signed checkpoints, one line each as in the file log's .checkpoints file.
CREATE TABLE audit_checkpoints(
  tree_size bigint PRIMARY KEY,
  line text NOT NULL
);
)sql";

absl::Status InTransaction(Connection& conn, const std::function<absl::Status()>& body) {
  if (absl::Status s = conn.Run("BEGIN"); !s.ok()) return s;
  absl::Status s = body();
  if (s.ok()) s = conn.Run("COMMIT");
  if (!s.ok()) conn.Run("ROLLBACK").IgnoreError();
  return s;
}

}  // namespace

absl::Status PrepareSchema(Connection& conn) {
  return InTransaction(conn, [&]() -> absl::Status {
    if (absl::Status s = conn.Run(kSchemaLock); !s.ok()) return s;
    auto exists = conn.Exec("SELECT to_regclass('portcullis_meta') IS NOT NULL, to_regclass('messages') IS NOT NULL");
    if (!exists.ok()) return exists.status();
    if (!exists->Bool(0, 0)) {
      if (exists->Bool(0, 1)) {
        return absl::FailedPreconditionError(
            "postgres: the database has tables of its own but is not a Portcullis database; give Portcullis a "
            "database of its own");
      }
      if (absl::Status s = conn.RunScript(kSchemaV1); !s.ok()) return s;
      return conn.Run("INSERT INTO portcullis_meta VALUES ('application', 'portcullis'), ('schema_version', $1)",
                      {kSchemaVersion});
    }
    auto version = conn.Exec("SELECT value FROM portcullis_meta WHERE key = 'schema_version'");
    if (!version.ok()) return version.status();
    int v = 0;
    if (version->rows() != 1 || !absl::SimpleAtoi(version->Text(0, 0), &v)) {
      return absl::FailedPreconditionError("postgres: portcullis_meta has no schema_version");
    }
    if (v > kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat("postgres: the database has schema version ", v,
                                                        "; this build knows versions up to ", kSchemaVersion));
    }
    return absl::OkStatus();  // v == kSchemaVersion: the only version so far.
  });
}

}  // namespace portcullis::pg
