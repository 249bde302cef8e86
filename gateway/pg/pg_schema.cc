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

// Version 2 (issue 15, docs/cluster.md): what replicas on one database share
// beyond the rows. Applied to a version-1 database in the same transaction as
// the version bump.
constexpr const char* kMigrationV2 = R"sql(
-- One row per replica that ever ran on this database; heartbeat on the
-- database's clock (never a replica's), so replicas' clocks need not agree.
CREATE TABLE portcullis_replicas(
  replica_id text PRIMARY KEY,
  started_micros bigint NOT NULL,
  heartbeat_micros bigint NOT NULL,
  info text NOT NULL,                   -- its listener: for operators
  -- The process that owns the replica id now: a random token per process
  -- start. A heartbeat is written only by the row's own incarnation, or once
  -- the row's heartbeat is older than one lease (the earlier process is gone),
  -- so two live processes given the same id never both lease ('' = no
  -- process: claimable).
  incarnation text NOT NULL DEFAULT ''
);
-- Which replica delivers to each push destination, until when (database
-- clock). A holder renews before expires_micros; once it has passed, any
-- replica may take the destination over. generation grows at every change of
-- holder (a fencing token: a write made under an older generation is stale).
CREATE TABLE destination_leases(
  recipient text PRIMARY KEY,
  holder text NOT NULL,                 -- replica id; '' = released
  expires_micros bigint NOT NULL,
  acquired_micros bigint NOT NULL,
  generation bigint NOT NULL
);
-- The one Receive stream per pull party, cluster-wide: opening a stream takes
-- the next generation; a stream that finds a newer one was replaced.
CREATE TABLE receive_streams(
  recipient text PRIMARY KEY,
  holder text NOT NULL,
  generation bigint NOT NULL,
  opened_micros bigint NOT NULL
);
-- The backlog bounds, counted in the database: ACCEPTED deliveries per
-- recipient and the bytes of their envelopes, kept by the trigger below on
-- every change of a delivery's state, whoever makes it.
CREATE TABLE backlog_counts(
  recipient text PRIMARY KEY,
  messages bigint NOT NULL,
  bytes bigint NOT NULL
);
CREATE FUNCTION portcullis_backlog_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  delta integer := 0;
  row_recipient text;
  row_sender text;
  row_message text;
  envelope_bytes bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.state = 1 THEN delta := 1; END IF;
  ELSIF TG_OP = 'DELETE' THEN
    IF OLD.state = 1 THEN delta := -1; END IF;
  ELSE
    IF OLD.state = 1 AND NEW.state <> 1 THEN delta := -1;
    ELSIF OLD.state <> 1 AND NEW.state = 1 THEN delta := 1;
    END IF;
  END IF;
  IF delta = 0 THEN RETURN NULL; END IF;
  IF TG_OP = 'DELETE' THEN
    row_recipient := OLD.recipient; row_sender := OLD.sender; row_message := OLD.message_id;
  ELSE
    row_recipient := NEW.recipient; row_sender := NEW.sender; row_message := NEW.message_id;
  END IF;
  SELECT octet_length(m.envelope) INTO envelope_bytes FROM messages m
    WHERE m.sender = row_sender AND m.message_id = row_message;
  INSERT INTO backlog_counts AS b VALUES (row_recipient, delta, delta * COALESCE(envelope_bytes, 0))
    ON CONFLICT (recipient) DO UPDATE SET messages = b.messages + delta,
                                          bytes = b.bytes + delta * COALESCE(envelope_bytes, 0);
  -- New work for the recipient: the replica delivering to it (or holding its
  -- Receive stream) wakes at COMMIT (docs/cluster.md; polling is the net).
  IF delta = 1 THEN PERFORM pg_notify('portcullis_work', row_recipient); END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER deliveries_backlog AFTER INSERT OR UPDATE OF state OR DELETE ON deliveries
  FOR EACH ROW EXECUTE FUNCTION portcullis_backlog_change();
INSERT INTO backlog_counts
  SELECT d.recipient, COUNT(*), COALESCE(SUM(octet_length(m.envelope)), 0)
  FROM deliveries d JOIN messages m ON m.sender = d.sender AND m.message_id = d.message_id
  WHERE d.state = 1 GROUP BY d.recipient;
)sql";

// Migrations, in order: kMigrations[i] takes version i + 1 to version i + 2.
constexpr const char* kMigrations[] = {kMigrationV2};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion - 1,
              "one migration per version after the first");

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
      // A new database is version 1 plus every migration, so both paths give
      // the same schema.
      if (absl::Status s = conn.RunScript(kSchemaV1); !s.ok()) return s;
      for (const char* migration : kMigrations) {
        if (absl::Status s = conn.RunScript(migration); !s.ok()) return s;
      }
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
    if (v < 1) return absl::FailedPreconditionError(absl::StrCat("postgres: unknown schema version ", v));
    for (int from = v; from < kSchemaVersion; ++from) {
      if (absl::Status s = conn.RunScript(kMigrations[from - 1]); !s.ok()) return s;
    }
    if (v == kSchemaVersion) return absl::OkStatus();
    return conn.Run("UPDATE portcullis_meta SET value = $1 WHERE key = 'schema_version'", {kSchemaVersion});
  });
}

}  // namespace portcullis::pg
