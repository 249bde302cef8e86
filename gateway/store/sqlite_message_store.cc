#include "gateway/store/sqlite_message_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <future>
#include <optional>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/common/sync_dir.h"
#include "gateway/common/digest.h"
#include "gateway/common/refusal.h"
#include "util/clock.h"

namespace portcullis {
namespace {

// Marks the file as a Portcullis message store (PRAGMA application_id), so
// that some other SQLite database given by mistake is refused, not altered.
constexpr int64_t kApplicationId = 0x50435354;  // "PCST"

// Version 1. Rows are never deleted today; if a clean-up ever deletes
// deliveries, keep seq monotonic (pull cursors rely on it): the writer
// derives the next seq from MAX(seq).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE messages(
  sender TEXT NOT NULL,
  message_id TEXT NOT NULL,
  envelope_sha256 TEXT NOT NULL,
  envelope BLOB NOT NULL,             -- serialized v1::Envelope, as accepted
  receipt BLOB NOT NULL,              -- serialized v1::Receipt, returned again for a duplicate
  accepted_micros INTEGER NOT NULL,
  audit_index INTEGER,                -- NULL until paired with the audit log's acceptance record
  audit_size_at_commit INTEGER NOT NULL,
  PRIMARY KEY(sender, message_id)
) STRICT;
-- Start-up pairing reads only the unaudited rows: a partial index keeps that
-- independent of the table's size.
CREATE INDEX messages_unaudited ON messages(audit_index) WHERE audit_index IS NULL;
CREATE TABLE deliveries(
  delivery_id TEXT PRIMARY KEY NOT NULL,
  seq INTEGER NOT NULL UNIQUE,
  sender TEXT NOT NULL,
  message_id TEXT NOT NULL,
  recipient TEXT NOT NULL,
  case_reference TEXT NOT NULL,
  state INTEGER NOT NULL,             -- v1::DeliveryState number (stable by protobuf's rules)
  attempts INTEGER NOT NULL,
  next_attempt_micros INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  expires_micros INTEGER NOT NULL,    -- 0: none recorded
  updated_micros INTEGER NOT NULL,
  officer TEXT NOT NULL,
  reason TEXT NOT NULL
) STRICT;
CREATE INDEX deliveries_by_recipient ON deliveries(recipient, state, seq);
-- Where a Receive stream resumes (docs/delivery.md): part of version 1 so
-- that pull mode needs no schema migration.
CREATE TABLE pull_cursors(
  recipient TEXT PRIMARY KEY NOT NULL,
  acked_seq INTEGER NOT NULL
) STRICT;
)sql";

// Version 1 -> 2: what ListCase reads. Each message row learns its case
// (copied from its deliveries, which always had it: every message has at
// least one recipient), and both tables get an index by case, so a case is
// listed without reading every message:
// - messages_by_case (case_reference, rowid implicitly): one case's messages
//   in commit order, resuming after a rowid;
// - deliveries_by_case: a message's deliveries within its case, and "is this
//   party a recipient" as one index probe.
// Never edit a migration once released: a new version gets a new one.
constexpr const char* kMigrateV1ToV2 = R"sql(
ALTER TABLE messages ADD COLUMN case_reference TEXT NOT NULL DEFAULT '';
UPDATE messages SET case_reference = d.case_reference
  FROM (SELECT sender, message_id, MAX(case_reference) AS case_reference FROM deliveries
        GROUP BY sender, message_id) AS d
  WHERE d.sender = messages.sender AND d.message_id = messages.message_id;
CREATE INDEX messages_by_case ON messages(case_reference);
CREATE INDEX deliveries_by_case ON deliveries(case_reference, sender, message_id, recipient);
)sql";

// Version 2 -> 3: whether a delivery's officer (who decided, or which
// operator acted) was vouched for by its agency's assertion
// (docs/officer-identity.md). Rows written before are claims (0).
constexpr const char* kMigrateV2ToV3 = R"sql(
ALTER TABLE deliveries ADD COLUMN officer_verified INTEGER NOT NULL DEFAULT 0;
)sql";

// kMigrations[v - 1] takes a store from version v to v + 1. A new file gets
// kSchemaV1 and then every migration: one path for new and old files alike.
constexpr const char* kMigrations[] = {kMigrateV1ToV2, kMigrateV2ToV3};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == SqliteMessageStore::kSchemaVersion - 1,
              "one migration per schema version after the first");

// ---------------------------------------------------------------------------
// RAII over the C API: every connection is closed and every statement
// finalized on every path.

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

absl::StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOMEM:
      return absl::StatusCode::kUnavailable;
    case SQLITE_CONSTRAINT:
      return absl::StatusCode::kAlreadyExists;
    default:
      return absl::StatusCode::kInternal;
  }
}

// One SQLite connection and the file it is on: every error names both.
class Connection {
 public:
  static absl::StatusOr<Connection> Open(const std::string& path, int busy_timeout_ms) {
    sqlite3* raw = nullptr;
    // NOMUTEX: each connection is used by one thread at a time (the writer
    // thread, or whoever holds a reader lease), so SQLite's own per-call
    // connection mutex would be pure cost.
    int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    Connection c(path, DbPtr(raw));  // Closed on every path, also when the open failed.
    if (rc != SQLITE_OK) {
      return absl::Status(CodeFor(rc), absl::StrCat("message store ", path, ": cannot open: ",
                                                    raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, busy_timeout_ms);
    return c;
  }

  sqlite3* db() const { return db_.get(); }
  const std::string& path() const { return path_; }

  absl::Status Error(int rc, absl::string_view what) const {
    return absl::Status(CodeFor(rc), absl::StrCat("message store ", path_, ": ", what, ": ", sqlite3_errmsg(db()),
                                                  " (", sqlite3_errstr(rc), ")"));
  }

  absl::Status Exec(const char* sql, absl::string_view what) const {
    int rc = sqlite3_exec(db(), sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? absl::OkStatus() : Error(rc, what);
  }

  // Persistent: prepared once per connection and reused for its lifetime.
  absl::Status Prepare(const char* sql, StmtPtr* out) const {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    out->reset(raw);
    return rc == SQLITE_OK ? absl::OkStatus() : Error(rc, absl::StrCat("preparing `", sql, "`"));
  }

  bool InTransaction() const { return sqlite3_get_autocommit(db()) == 0; }

 private:
  Connection(std::string path, DbPtr db) : path_(std::move(path)), db_(std::move(db)) {}
  std::string path_;
  DbPtr db_;
};

// One use of a prepared statement. The destructor resets it on every path,
// so a cached statement never keeps a read transaction open (which would
// hold back WAL checkpoints) nor keeps pointers to bound data.
//
// Text and blobs are bound without copying (SQLITE_STATIC): the bound bytes
// must stay alive until the Query is destroyed.
class Query {
 public:
  Query(const Connection& conn, const StmtPtr& stmt) : conn_(conn), stmt_(stmt.get()) {}
  ~Query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& Text(int i, absl::string_view v) {
    // A null pointer would bind SQL NULL; an empty string must stay ''.
    Keep(sqlite3_bind_text64(stmt_, i, v.data() ? v.data() : "", v.size(), SQLITE_STATIC, SQLITE_UTF8));
    return *this;
  }
  Query& Blob(int i, absl::string_view v) {
    Keep(sqlite3_bind_blob64(stmt_, i, v.data() ? v.data() : "", v.size(), SQLITE_STATIC));
    return *this;
  }
  Query& Int(int i, int64_t v) {
    Keep(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }

  // True with a row to read, false when done.
  absl::StatusOr<bool> Step(absl::string_view what) {
    if (bind_rc_ != SQLITE_OK) return conn_.Error(bind_rc_, what);
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return conn_.Error(rc, what);
  }
  // For statements that return no rows.
  absl::Status Run(absl::string_view what) {
    auto row = Step(what);
    return row.ok() ? absl::OkStatus() : row.status();
  }

  int64_t ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool ColumnIsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  // Valid until the next Step or the end of the Query.
  absl::string_view ColumnBytes(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? absl::string_view() : absl::string_view(static_cast<const char*>(p), static_cast<size_t>(n));
  }
  std::string ColumnText(int col) const { return std::string(ColumnBytes(col)); }

 private:
  void Keep(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  const Connection& conn_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

// Runs a statement prepared for this call only (start-up and pragmas).
absl::StatusOr<int64_t> QueryInt(const Connection& conn, const char* sql) {
  StmtPtr stmt;
  PORTCULLIS_RETURN_IF_ERROR(conn.Prepare(sql, &stmt));
  Query q(conn, stmt);
  auto row = q.Step(sql);
  if (!row.ok()) return row.status();
  if (!*row) return conn.Error(SQLITE_ERROR, absl::StrCat(sql, " returned no row"));
  return q.ColumnInt(0);
}

absl::StatusOr<std::string> QueryText(const Connection& conn, const char* sql) {
  StmtPtr stmt;
  PORTCULLIS_RETURN_IF_ERROR(conn.Prepare(sql, &stmt));
  Query q(conn, stmt);
  auto row = q.Step(sql);
  if (!row.ok()) return row.status();
  if (!*row) return conn.Error(SQLITE_ERROR, absl::StrCat(sql, " returned no row"));
  return q.ColumnText(0);
}

int64_t MicrosOf(const google::protobuf::Timestamp& t) { return t.seconds() * 1000000 + t.nanos() / 1000; }

std::string Key(const std::string& sender, const std::string& id) { return sender + '\n' + id; }

absl::Status NotFound(const std::string& sender, const std::string& id) {
  return Refuse(absl::StatusCode::kNotFound, "MESSAGE_NOT_FOUND", "message_id",
                absl::StrCat("no message '", id, "' from '", sender, "'"));
}

absl::Status NotARecipient(const std::string& party) {
  return Refuse(absl::StatusCode::kPermissionDenied, "NOT_A_RECIPIENT", "party",
                absl::StrCat("'", party, "' is not a recipient of this message"));
}

// Checks what the file is before anything is written to it, then creates the
// schema if the file is new.
absl::Status PrepareSchema(const Connection& conn) {
  const std::string& path = conn.path();
  // The first read of the file: a file that is not a database fails here.
  auto version = QueryInt(conn, "PRAGMA user_version");
  if (!version.ok()) {
    return absl::Status(version.status().code(),
                        absl::StrCat(version.status().message(), ". Refusing to open it as the message store"));
  }
  auto app_id = QueryInt(conn, "PRAGMA application_id");
  if (!app_id.ok()) return app_id.status();
  auto objects = QueryInt(conn, "SELECT count(*) FROM sqlite_schema");
  if (!objects.ok()) return objects.status();
  if (*version > SqliteMessageStore::kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "message store ", path, " has schema version ", *version, ", newer than this gateway supports (",
        SqliteMessageStore::kSchemaVersion, "): a newer gateway wrote it. Refusing to open it; run that version"));
  }
  if ((*version > 0 && *app_id != kApplicationId) || (*version == 0 && *objects > 0)) {
    return absl::FailedPreconditionError(absl::StrCat("message store ", path,
                                                      " is an SQLite database of something else (application_id ",
                                                      *app_id, ", user_version ", *version,
                                                      "). Refusing to open it as the message store"));
  }

  // WAL: readers proceed during a write, and a commit is one append and one
  // fsync of the WAL. The mode is stored in the file; asking again is a no-op.
  auto mode = QueryText(conn, "PRAGMA journal_mode=WAL");
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") {
    return absl::UnavailableError(absl::StrCat("message store ", path, ": cannot use WAL mode (journal mode is ",
                                               *mode, "); is the file on a network filesystem?"));
  }
  if (*version == SqliteMessageStore::kSchemaVersion) return absl::OkStatus();

  // A new file (the whole schema) or an older one (its migrations): the
  // schema, its id and version in one transaction, so a crash leaves the file
  // as it was or complete at this version.
  PORTCULLIS_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE", "starting the schema transaction"));
  // Read again under the write lock: the version is what this transaction changes.
  auto from = QueryInt(conn, "PRAGMA user_version");
  if (from.ok() && *from >= SqliteMessageStore::kSchemaVersion) {
    // Another process got here first (one process per file is the rule, but
    // never downgrade the version, nor migrate twice).
    conn.Exec("ROLLBACK", "ending the schema transaction").IgnoreError();
    if (*from == SqliteMessageStore::kSchemaVersion) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat("message store ", path, " has schema version ", *from,
                                                      ", newer than this gateway supports (",
                                                      SqliteMessageStore::kSchemaVersion, ")"));
  }
  absl::Status s = from.status();
  if (s.ok() && *from == 0) {
    s = conn.Exec(kSchemaV1, "creating the schema");
    if (s.ok()) {
      s = conn.Exec(absl::StrCat("PRAGMA application_id=", kApplicationId).c_str(), "setting the application id");
    }
  }
  for (int64_t v = s.ok() ? std::max<int64_t>(*from, 1) : SqliteMessageStore::kSchemaVersion;
       s.ok() && v < SqliteMessageStore::kSchemaVersion; ++v) {
    s = conn.Exec(kMigrations[v - 1], absl::StrCat("migrating the schema from version ", v, " to ", v + 1));
  }
  if (s.ok()) {
    s = conn.Exec(absl::StrCat("PRAGMA user_version=", SqliteMessageStore::kSchemaVersion).c_str(),
                  "setting the schema version");
  }
  if (s.ok()) s = conn.Exec("COMMIT", "committing the schema");
  if (!s.ok() && conn.InTransaction()) conn.Exec("ROLLBACK", "rolling back the schema").IgnoreError();
  if (s.ok() && *from > 0) {
    std::fprintf(stderr, "portcullis: message store %s: schema upgraded from version %lld to %d\n", path.c_str(),
                 static_cast<long long>(*from), SqliteMessageStore::kSchemaVersion);
  }
  return s;
}

}  // namespace

// The columns of a DeliveryRow, in ReadDeliveryRow's order (table alias d).
#define kDeliveryColumns                                                                                        \
  "d.delivery_id, d.seq, d.sender, d.message_id, d.recipient, d.case_reference, d.state, d.attempts, "          \
  "d.next_attempt_micros, d.last_error, d.expires_micros, d.updated_micros, d.officer, d.reason, "          \
  "d.officer_verified"
constexpr int kDeliveryColumnCount = 15;

DeliveryRow ReadDeliveryRow(const Query& q) {
  DeliveryRow d;
  d.delivery_id = q.ColumnText(0);
  d.seq = q.ColumnInt(1);
  d.sender = q.ColumnText(2);
  d.message_id = q.ColumnText(3);
  d.recipient = q.ColumnText(4);
  d.case_reference = q.ColumnText(5);
  d.state = static_cast<v1::DeliveryState>(q.ColumnInt(6));
  d.attempts = static_cast<uint32_t>(q.ColumnInt(7));
  d.next_attempt_micros = q.ColumnInt(8);
  d.last_error = q.ColumnText(9);
  d.expires_micros = q.ColumnInt(10);
  d.updated_micros = q.ColumnInt(11);
  d.officer = q.ColumnText(12);
  d.reason = q.ColumnText(13);
  d.officer_verified = q.ColumnInt(14) != 0;
  return d;
}

// One recipient's view of a delivery row, from a statement selecting
// `state, attempts, updated_micros, reason, officer, next_attempt_micros, seq,
// officer_verified`.
RecipientRecord ReadRecipientRecord(const Query& q, const std::string& party) {
  RecipientRecord r;
  r.party = party;
  r.state = static_cast<v1::DeliveryState>(q.ColumnInt(0));
  r.attempts = static_cast<uint32_t>(q.ColumnInt(1));
  r.updated_micros = q.ColumnInt(2);
  r.reason = q.ColumnText(3);
  r.officer = q.ColumnText(4);
  r.next_attempt_micros = q.ColumnInt(5);
  r.seq = q.ColumnInt(6);
  r.officer_verified = q.ColumnInt(7) != 0;
  return r;
}

// ---------------------------------------------------------------------------
// The writer: its connection is used by the writer thread only (and by Open
// before that thread starts).

class SqliteMessageStore::Writer {
 public:
  explicit Writer(Connection conn) : conn_(std::move(conn)) {}

  absl::Status PrepareStatements() {
    const std::pair<StmtPtr*, const char*> statements[] = {
        {&begin_, "BEGIN IMMEDIATE"},
        {&commit_, "COMMIT"},
        {&rollback_, "ROLLBACK"},
        {&savepoint_, "SAVEPOINT op"},
        {&release_, "RELEASE op"},
        {&rollback_to_, "ROLLBACK TO op"},
        {&next_seq_stmt_, "SELECT COALESCE(MAX(seq), 0) + 1 FROM deliveries"},
        {&insert_message_,
         "INSERT INTO messages(sender, message_id, envelope_sha256, envelope, receipt, accepted_micros, audit_index, "
         "audit_size_at_commit, case_reference) VALUES(?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8)"},
        {&insert_delivery_,
         "INSERT INTO deliveries(delivery_id, seq, sender, message_id, recipient, case_reference, state, attempts, "
         "next_attempt_micros, last_error, expires_micros, updated_micros, officer, reason) "
         "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, '', ?9, ?8, '', '')"},
        {&select_delivery_,
         "SELECT state, attempts, updated_micros, reason, officer, next_attempt_micros, seq, officer_verified "
         "FROM deliveries "
         "WHERE delivery_id = ?1"},
        {&update_delivery_,
         "UPDATE deliveries SET state = ?2, attempts = ?3, updated_micros = ?4, reason = ?5, officer = ?6, "
         "next_attempt_micros = ?7, officer_verified = ?8 WHERE delivery_id = ?1"},
        {&audit_index_of_, "SELECT audit_index FROM messages WHERE sender = ?1 AND message_id = ?2"},
        {&set_audit_index_, "UPDATE messages SET audit_index = ?3 WHERE sender = ?1 AND message_id = ?2"},
        {&delete_message_, "DELETE FROM messages WHERE sender = ?1 AND message_id = ?2"},
        {&delete_deliveries_, "DELETE FROM deliveries WHERE sender = ?1 AND message_id = ?2"},
        {&seq_of_, "SELECT seq FROM deliveries WHERE delivery_id = ?1 AND recipient = ?2"},
        // pull_cursors.acked_seq holds the highest seq read for sending (the
        // column's name predates that use).
        {&pulled_seq_, "SELECT acked_seq FROM pull_cursors WHERE recipient = ?1"},
        {&record_pulled_,
         "INSERT INTO pull_cursors(recipient, acked_seq) VALUES(?1, ?2) "
         "ON CONFLICT(recipient) DO UPDATE SET acked_seq = MAX(acked_seq, excluded.acked_seq)"},
        {&select_confirmable_,
         "SELECT " kDeliveryColumns ", length(m.envelope) FROM deliveries d JOIN messages m "
         "ON m.sender = d.sender AND m.message_id = d.message_id "
         "WHERE d.recipient = ?1 AND d.state = 1 AND d.seq <= ?2 AND m.audit_index IS NOT NULL ORDER BY d.seq"},
        {&select_expired_,
         "SELECT " kDeliveryColumns ", length(m.envelope) FROM deliveries d JOIN messages m "
         "ON m.sender = d.sender AND m.message_id = d.message_id "
         "WHERE d.state = 1 AND d.expires_micros > 0 AND d.expires_micros <= ?1 AND m.audit_index IS NOT NULL "
         "ORDER BY d.seq LIMIT ?2"},
        {&set_state_,
         "UPDATE deliveries SET state = ?2, updated_micros = ?3, reason = ?4, next_attempt_micros = 0, "
         "attempts = MAX(attempts, ?5) WHERE delivery_id = ?1"},
    };
    for (const auto& [stmt, sql] : statements) PORTCULLIS_RETURN_IF_ERROR(conn_.Prepare(sql, stmt));
    return absl::OkStatus();
  }

  const Connection& conn() const { return conn_; }

  // Transaction control for the writer loop.
  absl::Status Begin() {
    next_seq_.reset();  // Read again under this transaction's write lock.
    return Query(conn_, begin_).Run("BEGIN IMMEDIATE");
  }
  absl::Status Commit() { return Query(conn_, commit_).Run("COMMIT"); }
  void Rollback() {
    if (conn_.InTransaction()) Query(conn_, rollback_).Run("ROLLBACK").IgnoreError();
  }
  absl::Status Savepoint() { return Query(conn_, savepoint_).Run("SAVEPOINT"); }
  absl::Status Release() { return Query(conn_, release_).Run("RELEASE"); }
  absl::Status RollbackToSavepoint() {
    PORTCULLIS_RETURN_IF_ERROR(Query(conn_, rollback_to_).Run("ROLLBACK TO"));
    return Release();
  }
  bool InTransaction() const { return conn_.InTransaction(); }

  struct NewMessage {
    std::shared_ptr<const v1::Envelope> envelope;
    std::string sha256;
    std::string envelope_bytes;
    std::string receipt_bytes;
    int64_t accepted_micros;
    uint64_t audit_size_at_commit;
    int64_t now;
    int64_t expires_micros;  // 0 = never.
  };

  // The message row and one ACCEPTED delivery row per recipient.
  absl::Status InsertMessage(const NewMessage& m) {
    const v1::Envelope& e = *m.envelope;
    {
      Query q(conn_, insert_message_);
      q.Text(1, e.sender())
          .Text(2, e.message_id())
          .Text(3, m.sha256)
          .Blob(4, m.envelope_bytes)
          .Blob(5, m.receipt_bytes)
          .Int(6, m.accepted_micros)
          .Int(7, static_cast<int64_t>(m.audit_size_at_commit))
          .Text(8, e.case_reference());
      PORTCULLIS_RETURN_IF_ERROR(q.Run("recording the message"));
    }
    for (const std::string& recipient : e.recipients()) {
      const std::string id = DeliveryIdFor(e.sender(), e.message_id(), recipient);
      auto seq = NextSeq();
      if (!seq.ok()) return seq.status();
      Query q(conn_, insert_delivery_);
      q.Text(1, id)
          .Int(2, *seq)
          .Text(3, e.sender())
          .Text(4, e.message_id())
          .Text(5, recipient)
          .Text(6, e.case_reference())
          .Int(7, v1::ACCEPTED)
          .Int(8, m.now)  // Due at once; also updated_micros.
          .Int(9, m.expires_micros);
      PORTCULLIS_RETURN_IF_ERROR(q.Run(absl::StrCat("recording the delivery to '", recipient, "'")));
    }
    return absl::OkStatus();
  }

  // The next delivery seq. Assigned under the write lock, in commit order: a
  // reader paging by seq never sees seq N+1 committed before N.
  absl::StatusOr<int64_t> NextSeq() {
    if (!next_seq_) {
      Query q(conn_, next_seq_stmt_);
      auto row = q.Step("reading the next delivery seq");
      if (!row.ok()) return row.status();
      next_seq_ = q.ColumnInt(0);
    }
    return (*next_seq_)++;
  }

  absl::StatusOr<RecipientRecord> UpdateRecipient(const std::string& sender, const std::string& message_id,
                                                  const std::string& party,
                                                  const std::function<absl::Status(RecipientRecord&)>& update) {
    const std::string id = DeliveryIdFor(sender, message_id, party);
    RecipientRecord record;
    {
      Query q(conn_, select_delivery_);
      q.Text(1, id);
      auto row = q.Step("reading a delivery");
      if (!row.ok()) return row.status();
      if (!*row) {
        auto exists = AuditIndexOf(sender, message_id);
        if (!exists.ok()) return exists.status();
        return exists->has_value() ? NotARecipient(party) : NotFound(sender, message_id);
      }
      record = ReadRecipientRecord(q, party);
    }
    PORTCULLIS_RETURN_IF_ERROR(update(record));
    record.party = party;  // The row's key, whatever `update` did to it.
    record.updated_micros = NowMicros();
    Query q(conn_, update_delivery_);
    q.Text(1, id)
        .Int(2, record.state)
        .Int(3, record.attempts)
        .Int(4, record.updated_micros)
        .Text(5, record.reason)
        .Text(6, record.officer)
        .Int(7, record.next_attempt_micros)
        .Int(8, record.officer_verified ? 1 : 0);
    PORTCULLIS_RETURN_IF_ERROR(q.Run("updating a delivery"));
    return record;
  }

  absl::Status MarkAudited(const std::string& sender, const std::string& message_id, uint64_t audit_index) {
    auto current = AuditIndexOf(sender, message_id);
    if (!current.ok()) return current.status();
    if (!current->has_value()) return NotFound(sender, message_id);
    const std::optional<int64_t>& index = **current;
    if (index.has_value()) {
      if (static_cast<uint64_t>(*index) == audit_index) return absl::OkStatus();
      return absl::FailedPreconditionError(absl::StrCat("message '", message_id, "' from '", sender,
                                                        "' is already paired with audit record ", *index,
                                                        ", not ", audit_index));
    }
    Query q(conn_, set_audit_index_);
    q.Text(1, sender).Text(2, message_id).Int(3, static_cast<int64_t>(audit_index));
    return q.Run("recording the audit index");
  }

  // The message and its deliveries, gone (an acceptance that could not be audited).
  absl::Status DeleteMessage(const std::string& sender, const std::string& message_id) {
    {
      Query q(conn_, delete_deliveries_);
      q.Text(1, sender).Text(2, message_id);
      PORTCULLIS_RETURN_IF_ERROR(q.Run("discarding the deliveries"));
    }
    Query q(conn_, delete_message_);
    q.Text(1, sender).Text(2, message_id);
    return q.Run("discarding the message");
  }

  // Pull mode: `through_id` and every earlier ACCEPTED delivery to
  // `recipient` become DELIVERED.
  absl::Status RecordPulled(const std::string& recipient, int64_t seq) {
    Query q(conn_, record_pulled_);
    q.Text(1, recipient).Int(2, seq);
    return q.Run("recording what was read for sending");
  }

  absl::StatusOr<ConfirmResult> ConfirmPulled(const std::string& recipient, const std::string& through_id,
                                              int64_t now) {
    int64_t through_seq = 0;
    {
      Query q(conn_, seq_of_);
      q.Text(1, through_id).Text(2, recipient);
      auto row = q.Step("reading a delivery");
      if (!row.ok()) return row.status();
      if (!*row) {
        return absl::NotFoundError(
            absl::StrCat("there is no delivery '", through_id, "' to '", recipient, "'"));
      }
      through_seq = q.ColumnInt(0);
    }
    {
      Query q(conn_, pulled_seq_);
      q.Text(1, recipient);
      auto row = q.Step("reading what was read for sending");
      if (!row.ok()) return row.status();
      through_seq = std::min(through_seq, *row ? q.ColumnInt(0) : 0);
    }
    ConfirmResult result;
    result.through_seq = through_seq;
    std::vector<ChangedDelivery>& out = result.changed;
    {
      Query q(conn_, select_confirmable_);
      q.Text(1, recipient).Int(2, through_seq);
      PORTCULLIS_RETURN_IF_ERROR(ReadChanged(q, "listing deliveries to confirm", &out));
    }
    for (ChangedDelivery& c : out) {
      c.row.state = v1::DELIVERED;
      c.row.reason.clear();
      c.row.attempts = std::max<uint32_t>(c.row.attempts, 1);
      PORTCULLIS_RETURN_IF_ERROR(SetState(c.row, now));
    }
    return result;
  }

  // Up to `limit` ACCEPTED deliveries whose expiry has passed become EXPIRED.
  absl::StatusOr<std::vector<ChangedDelivery>> ExpireDue(int64_t now, size_t limit) {
    std::vector<ChangedDelivery> out;
    {
      Query q(conn_, select_expired_);
      q.Int(1, now).Int(2, static_cast<int64_t>(limit));
      PORTCULLIS_RETURN_IF_ERROR(ReadChanged(q, "listing expired deliveries", &out));
    }
    for (ChangedDelivery& c : out) {
      c.row.state = v1::EXPIRED;
      c.row.reason = c.row.reason.empty()
                         ? std::string("not delivered within the maximum age")
                         : absl::StrCat("not delivered within the maximum age; last error: ", c.row.reason);
      PORTCULLIS_RETURN_IF_ERROR(SetState(c.row, now));
    }
    return out;
  }

 private:
  static absl::Status ReadChanged(Query& q, absl::string_view what, std::vector<ChangedDelivery>* out) {
    for (;;) {
      auto row = q.Step(what);
      if (!row.ok()) return row.status();
      if (!*row) return absl::OkStatus();
      ChangedDelivery c;
      c.row = ReadDeliveryRow(q);
      c.envelope_bytes = static_cast<uint64_t>(q.ColumnInt(kDeliveryColumnCount));
      out->push_back(std::move(c));
    }
  }

  absl::Status SetState(const DeliveryRow& row, int64_t now) {
    Query q(conn_, set_state_);
    q.Text(1, row.delivery_id).Int(2, row.state).Int(3, now).Text(4, row.reason).Int(5, row.attempts);
    return q.Run("updating a delivery's state");
  }

  // Outer optional: the message exists; inner: its audit_index (NULL = none).
  absl::StatusOr<std::optional<std::optional<int64_t>>> AuditIndexOf(const std::string& sender,
                                                                     const std::string& message_id) {
    Query q(conn_, audit_index_of_);
    q.Text(1, sender).Text(2, message_id);
    auto row = q.Step("reading a message");
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<std::optional<int64_t>>();
    if (q.ColumnIsNull(0)) return std::optional<std::optional<int64_t>>(std::optional<int64_t>());
    return std::optional<std::optional<int64_t>>(q.ColumnInt(0));
  }

  Connection conn_;
  // Declared after the connection: finalized before it closes.
  StmtPtr begin_, commit_, rollback_, savepoint_, release_, rollback_to_;
  StmtPtr next_seq_stmt_, insert_message_, insert_delivery_, select_delivery_, update_delivery_;
  StmtPtr delete_message_, delete_deliveries_;
  StmtPtr audit_index_of_, set_audit_index_;
  StmtPtr seq_of_, select_confirmable_, select_expired_, set_state_, pulled_seq_, record_pulled_;
  std::optional<int64_t> next_seq_;  // Next free seq within the current transaction.
};

// ---------------------------------------------------------------------------
// Readers: connections opened on demand up to max_readers and leased to one
// thread at a time. The pool's mutex is held only to take or return a
// connection, never during a query.

struct ReaderConnection {
  explicit ReaderConnection(Connection c) : conn(std::move(c)) {}
  absl::Status PrepareStatements() {
    // Cannot write, whatever a bug might ask it to do.
    PORTCULLIS_RETURN_IF_ERROR(conn.Exec("PRAGMA query_only=ON", "making a read connection read-only"));
    const std::pair<StmtPtr*, const char*> statements[] = {
        {&begin, "BEGIN"},
        {&end, "COMMIT"},
        {&lookup, "SELECT envelope_sha256, receipt, audit_index FROM messages WHERE sender = ?1 AND message_id = ?2"},
        {&get_message, "SELECT envelope, receipt, audit_index FROM messages WHERE sender = ?1 AND message_id = ?2"},
        {&get_delivery,
         "SELECT state, attempts, updated_micros, reason, officer, next_attempt_micros, seq, officer_verified "
         "FROM deliveries "
         "WHERE delivery_id = ?1"},
        {&unaudited,
         "SELECT sender, message_id, audit_size_at_commit, accepted_micros FROM messages "
         "WHERE audit_index IS NULL ORDER BY rowid"},
        {&pending,
         "SELECT " kDeliveryColumns ", m.audit_index IS NULL FROM deliveries d JOIN messages m "
         "ON m.sender = d.sender AND m.message_id = d.message_id "
         "WHERE d.recipient = ?1 AND d.state = ?2 AND d.seq > ?3 ORDER BY d.seq LIMIT ?4"},
        {&backlog,
         "SELECT d.recipient, COUNT(*), TOTAL(length(m.envelope)) FROM deliveries d JOIN messages m "
         "ON m.sender = d.sender AND m.message_id = d.message_id WHERE d.state = 1 GROUP BY d.recipient"},
        // ListCase, page of messages: messages_by_case from a rowid on, in
        // rowid order (no sort); a recipient's share is one probe of
        // deliveries_by_case per candidate message.
        {&case_messages,
         "SELECT m.rowid, m.sender, m.message_id, m.envelope, m.accepted_micros, m.audit_index IS NULL, m.receipt "
         "FROM messages m WHERE m.case_reference = ?1 AND m.rowid > ?3 AND (m.sender = ?2 OR EXISTS("
         "SELECT 1 FROM deliveries d WHERE d.case_reference = ?1 AND d.sender = m.sender "
         "AND d.message_id = m.message_id AND d.recipient = ?2)) ORDER BY m.rowid LIMIT ?4"},
        // ListCase, the page's deliveries the party may see: every one of
        // what it sent, its own of what it received. Columns as
        // ReadRecipientRecord reads them, then the message's rowid and the recipient.
        {&case_deliveries,
         "SELECT d.state, d.attempts, d.updated_micros, d.reason, d.officer, d.next_attempt_micros, d.seq, "
         "d.officer_verified, m.rowid, d.recipient FROM messages m JOIN deliveries d ON d.case_reference = m.case_reference "
         "AND d.sender = m.sender AND d.message_id = m.message_id "
         "WHERE m.case_reference = ?1 AND m.rowid > ?3 AND m.rowid <= ?4 AND (m.sender = ?2 OR d.recipient = ?2)"},
        // CorrelatedSenders: the party's own message by primary key, those
        // it received over deliveries_by_message.
        {&correlated,
         "SELECT sender FROM messages WHERE sender = ?1 AND message_id = ?2 "
         "UNION SELECT sender FROM deliveries WHERE message_id = ?2 AND recipient = ?1 ORDER BY 1 LIMIT ?3"},
    };
    for (const auto& [stmt, sql] : statements) PORTCULLIS_RETURN_IF_ERROR(conn.Prepare(sql, stmt));
    return absl::OkStatus();
  }

  Connection conn;
  StmtPtr begin, end, lookup, get_message, get_delivery, unaudited, pending, backlog, case_messages, case_deliveries;
  StmtPtr correlated;
};

// A read transaction: several statements see one snapshot. Ended on every
// path, so a reader never pins an old snapshot (and the WAL) after use.
class ReadTransaction {
 public:
  explicit ReadTransaction(ReaderConnection* r) : r_(r) {}
  ~ReadTransaction() {
    if (r_->conn.InTransaction()) Query(r_->conn, r_->end).Run("ending a read").IgnoreError();
  }
  absl::Status Begin() { return Query(r_->conn, r_->begin).Run("starting a read"); }

 private:
  ReaderConnection* r_;
};

class SqliteMessageStore::ReaderPool {
 public:
  ReaderPool(std::string path, int busy_timeout_ms, size_t max)
      : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms), max_(max) {}

  class Lease {
   public:
    Lease(ReaderPool* pool, std::unique_ptr<ReaderConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (conn_) pool_->Return(std::move(conn_));
    }
    ReaderConnection* operator->() const { return conn_.get(); }
    ReaderConnection* get() const { return conn_.get(); }

   private:
    ReaderPool* pool_;
    std::unique_ptr<ReaderConnection> conn_;
  };

  absl::StatusOr<Lease> Acquire() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !idle_.empty() || open_ < max_; });
      if (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(conn));
      }
      ++open_;  // Counted now, opened outside the lock.
    }
    auto conn = OpenOne();
    if (!conn.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      --open_;
      cv_.notify_one();
      return conn.status();
    }
    return Lease(this, *std::move(conn));
  }

 private:
  absl::StatusOr<std::unique_ptr<ReaderConnection>> OpenOne() const {
    auto c = Connection::Open(path_, busy_timeout_ms_);
    if (!c.ok()) return c.status();
    auto r = std::make_unique<ReaderConnection>(*std::move(c));
    PORTCULLIS_RETURN_IF_ERROR(r->PrepareStatements());
    return r;
  }
  void Return(std::unique_ptr<ReaderConnection> conn) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(conn));
    cv_.notify_one();
  }

  const std::string path_;
  const int busy_timeout_ms_;
  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<ReaderConnection>> idle_;
  size_t open_ = 0;
};

// ---------------------------------------------------------------------------

struct SqliteMessageStore::WriteOp {
  std::function<absl::Status(Writer&)> apply;
  bool is_commit = false;
  std::promise<absl::Status> done;              // A blocking Write() waits on this ...
  std::function<void(absl::Status)> on_done;   // ... an asynchronous one is called back (and owns the op).
};

absl::StatusOr<std::unique_ptr<SqliteMessageStore>> SqliteMessageStore::Open(SqliteStoreOptions options) {
  if (options.path.empty()) return absl::InvalidArgumentError("message store: no database file configured");
  if (options.max_batch == 0) options.max_batch = 1;
  if (options.max_readers == 0) options.max_readers = 1;
  if (sqlite3_threadsafe() == 0) {
    return absl::FailedPreconditionError("message store: the SQLite library was built without thread support");
  }
  const std::string& path = options.path;

  // Created here rather than by SQLite so that it is private to the gateway
  // (SQLite gives its -wal and -shm files the same mode).
  bool created = false;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    created = true;
    ::close(fd);
  } else if (errno != EEXIST) {
    return absl::UnavailableError(absl::StrCat("message store ", path, ": cannot create: ", std::strerror(errno)));
  }

  auto conn = Connection::Open(path, options.busy_timeout_ms);
  if (!conn.ok()) return conn.status();
  // Per connection, and only this one writes: FULL fsyncs the WAL at every
  // commit, so what Commit acknowledged survives a power loss too. Set before
  // the schema is created (it touches no file).
  PORTCULLIS_RETURN_IF_ERROR(conn->Exec("PRAGMA synchronous=FULL", "setting synchronous=FULL"));
  PORTCULLIS_RETURN_IF_ERROR(PrepareSchema(*conn));
  // The expiry sweep reads only deliveries that are due to expire.
  PORTCULLIS_RETURN_IF_ERROR(conn->Exec(
      "CREATE INDEX IF NOT EXISTS deliveries_by_expiry ON deliveries(state, expires_micros) WHERE expires_micros > 0",
      "creating the expiry index"));
  // A reply's correlation check (CorrelatedSenders) finds what a party
  // received under a message id without knowing its sender.
  PORTCULLIS_RETURN_IF_ERROR(conn->Exec(
      "CREATE INDEX IF NOT EXISTS deliveries_by_message ON deliveries(message_id, recipient)",
      "creating the correlation index"));
  if (created) PORTCULLIS_RETURN_IF_ERROR(SyncParentDir(path));

  auto writer = std::make_unique<Writer>(*std::move(conn));
  PORTCULLIS_RETURN_IF_ERROR(writer->PrepareStatements());
  auto readers = std::make_unique<ReaderPool>(path, options.busy_timeout_ms, options.max_readers);
  {
    // One reader now, so that a problem with read connections shows at start.
    auto lease = readers->Acquire();
    if (!lease.ok()) return lease.status();
  }
  return std::unique_ptr<SqliteMessageStore>(
      new SqliteMessageStore(std::move(options), std::move(writer), std::move(readers)));
}

SqliteMessageStore::SqliteMessageStore(SqliteStoreOptions options, std::unique_ptr<Writer> writer,
                                       std::unique_ptr<ReaderPool> readers)
    : options_(std::move(options)), writer_(std::move(writer)), readers_(std::move(readers)) {
  writer_thread_ = std::thread([this] { WriterLoop(); });
}

SqliteMessageStore::~SqliteMessageStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  writer_thread_.join();  // After the queued writes. Then the connections close (last one checkpoints the WAL).
}

SqliteMessageStore::Shard& SqliteMessageStore::ShardFor(const std::string& key) const {
  return shards_[std::hash<std::string>()(key) % shards_.size()];
}

ReserveResult SqliteMessageStore::Reserve(const std::string& sender, const std::string& message_id,
                                          const std::string& envelope_sha256) {
  const std::string key = Key(sender, message_id);
  Shard& shard = ShardFor(key);
  // The shard stays locked across the database lookup: a concurrent Reserve
  // of the same key then sees either the committed row or this reservation,
  // never neither. Only keys of the same shard (1/64) wait, for one indexed read.
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.reserved.count(key) != 0) return {ReserveOutcome::kInProgress, {}};

  absl::Status failed;
  {
    auto reader = readers_->Acquire();
    if (!reader.ok()) {
      failed = reader.status();
    } else {
      Query q((*reader)->conn, (*reader)->lookup);
      q.Text(1, sender).Text(2, message_id);
      auto row = q.Step("looking up a message id");
      if (!row.ok()) {
        failed = row.status();
      } else if (*row) {
        ReserveResult result;
        const absl::string_view receipt = q.ColumnBytes(1);
        if (!result.receipt.ParseFromArray(receipt.data(), static_cast<int>(receipt.size()))) {
          failed = absl::DataLossError(absl::StrCat("message store ", options_.path, ": the receipt of '", message_id,
                                                    "' from '", sender, "' cannot be parsed"));
        } else {
          // The receipt is stored before the acceptance is audited; its index comes from the pairing.
          // Until then the submission is still being recorded (and may yet be discarded).
          uint64_t index = 0;
          if (!q.ColumnIsNull(2)) {
            index = static_cast<uint64_t>(q.ColumnInt(2));
          } else if (auto audited = shard.audited.find(key); audited != shard.audited.end()) {
            index = audited->second;  // Audited; its pairing is being written.
          } else {
            return {ReserveOutcome::kInProgress, {}};
          }
          result.receipt.set_audit_index(index);
          result.outcome = q.ColumnBytes(0) == envelope_sha256 ? ReserveOutcome::kDuplicate : ReserveOutcome::kConflict;
          return result;
        }
      }
    }
  }
  if (!failed.ok()) {
    // Neither kNew (it might be a duplicate) nor kDuplicate (no receipt):
    // "in progress" makes the client retry.
    std::fprintf(stderr, "portcullis: message store: duplicate check failed: %s\n", failed.ToString().c_str());
    return {ReserveOutcome::kInProgress, {}};
  }
  shard.reserved.emplace(key, Reservation{envelope_sha256, false});
  return {ReserveOutcome::kNew, {}};
}

absl::StatusOr<std::shared_ptr<const MessageRecord>> SqliteMessageStore::Commit(const v1::Envelope& envelope,
                                                                               const v1::Receipt& receipt) {
  return CommitWithAuditSize(envelope, receipt, 0);
}

absl::StatusOr<std::shared_ptr<const MessageRecord>> SqliteMessageStore::CommitWithAuditSize(
    const v1::Envelope& envelope, const v1::Receipt& receipt, uint64_t audit_size_at_commit) {
  std::promise<absl::StatusOr<std::shared_ptr<const MessageRecord>>> promise;
  auto result = promise.get_future();
  CommitAsync(std::make_shared<const v1::Envelope>(envelope), receipt, audit_size_at_commit,
              [&promise](absl::StatusOr<std::shared_ptr<const MessageRecord>> r) { promise.set_value(std::move(r)); });
  return result.get();
}

void SqliteMessageStore::CommitAsync(std::shared_ptr<const v1::Envelope> envelope, const v1::Receipt& receipt,
                                     uint64_t audit_size_at_commit, CommitDone done) {
  const std::string key = Key(envelope->sender(), envelope->message_id());
  Shard& shard = ShardFor(key);
  auto m = std::make_shared<Writer::NewMessage>();
  bool reserved = false;
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.reserved.find(key);
    if (it != shard.reserved.end() && !it->second.committing) {
      it->second.committing = true;
      m->sha256 = it->second.sha256;
      reserved = true;
    }
  }
  if (!reserved) {  // Called back outside the shard's lock.
    done(absl::FailedPreconditionError("commit without a reservation"));
    return;
  }
  m->envelope = envelope;
  m->now = NowMicros();
  m->accepted_micros = receipt.has_accepted_at() ? MicrosOf(receipt.accepted_at()) : m->now;
  m->expires_micros = options_.delivery_max_age_micros > 0 ? m->accepted_micros + options_.delivery_max_age_micros : 0;
  m->audit_size_at_commit = audit_size_at_commit;
  auto record = std::make_shared<MessageRecord>();
  record->envelope = *envelope;
  record->receipt = receipt;
  for (const auto& r : envelope->recipients()) {
    RecipientRecord rr;
    rr.party = r;
    rr.updated_micros = m->now;
    record->recipients.push_back(std::move(rr));
  }
  // Committed: the row now answers Reserve. Failed: nothing was stored, and
  // the reservation goes too, so that the client's retry is not refused as
  // "in progress" for the rest of the process's life.
  auto finish = [&shard, key, record, done = std::move(done)](absl::Status status) {
    {
      std::lock_guard<std::mutex> lock(shard.mu);
      shard.reserved.erase(key);
    }
    if (!status.ok()) {
      done(status);
    } else {
      done(std::shared_ptr<const MessageRecord>(record));
    }
  };
  if (!envelope->SerializeToString(&m->envelope_bytes) || !receipt.SerializeToString(&m->receipt_bytes)) {
    finish(absl::InternalError("message store: cannot serialize the envelope or receipt"));
    return;
  }
  WriteAsync([m](Writer& w) { return w.InsertMessage(*m); }, /*is_commit=*/true, std::move(finish));
}

void SqliteMessageStore::MarkAuditedAsync(const std::string& sender, const std::string& message_id,
                                          uint64_t audit_index, std::function<void(absl::Status)> done) {
  const std::string key = Key(sender, message_id);
  Shard& shard = ShardFor(key);
  {
    // Known from now on: Reserve answers a resubmission with this index
    // while the row still says NULL (until the write below is durable).
    std::lock_guard<std::mutex> lock(shard.mu);
    shard.audited[key] = audit_index;
  }
  WriteAsync([sender, message_id, audit_index](Writer& w) { return w.MarkAudited(sender, message_id, audit_index); },
             /*is_commit=*/false, [&shard, key, done = std::move(done)](absl::Status s) {
               if (s.ok()) {
                 // Durable. (If it failed the index stays known here while the
                 // caller writes it again; a restart pairs it from the audit log.)
                 std::lock_guard<std::mutex> lock(shard.mu);
                 shard.audited.erase(key);
               }
               done(std::move(s));
             });
}

void SqliteMessageStore::DiscardAsync(const std::string& sender, const std::string& message_id,
                                      std::function<void(absl::Status)> done) {
  WriteAsync([sender, message_id](Writer& w) { return w.DeleteMessage(sender, message_id); }, /*is_commit=*/false,
             std::move(done));
}

void SqliteMessageStore::Abandon(const std::string& sender, const std::string& message_id) {
  const std::string key = Key(sender, message_id);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.reserved.find(key);
  if (it != shard.reserved.end() && !it->second.committing) shard.reserved.erase(it);
}

absl::StatusOr<std::shared_ptr<const MessageRecord>> SqliteMessageStore::Get(const std::string& sender,
                                                                            const std::string& message_id) const {
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  ReaderConnection& r = *reader->get();
  ReadTransaction txn(&r);  // The message and its deliveries from one snapshot.
  PORTCULLIS_RETURN_IF_ERROR(txn.Begin());
  auto record = std::make_shared<MessageRecord>();
  {
    Query q(r.conn, r.get_message);
    q.Text(1, sender).Text(2, message_id);
    auto row = q.Step("reading a message");
    if (!row.ok()) return row.status();
    if (!*row) return NotFound(sender, message_id);
    const absl::string_view envelope = q.ColumnBytes(0);
    const absl::string_view receipt = q.ColumnBytes(1);
    if (!record->envelope.ParseFromArray(envelope.data(), static_cast<int>(envelope.size())) ||
        !record->receipt.ParseFromArray(receipt.data(), static_cast<int>(receipt.size()))) {
      return absl::DataLossError(absl::StrCat("message store ", options_.path, ": message '", message_id, "' from '",
                                              sender, "' cannot be parsed"));
    }
    if (!q.ColumnIsNull(2)) record->receipt.set_audit_index(static_cast<uint64_t>(q.ColumnInt(2)));
  }
  // By primary key, in the envelope's recipient order (no index on
  // (sender, message_id) needed in deliveries).
  for (const std::string& party : record->envelope.recipients()) {
    Query q(r.conn, r.get_delivery);
    const std::string id = DeliveryIdFor(sender, message_id, party);
    q.Text(1, id);
    auto row = q.Step("reading a delivery");
    if (!row.ok()) return row.status();
    if (!*row) {
      return absl::DataLossError(absl::StrCat("message store ", options_.path, ": message '", message_id, "' from '",
                                              sender, "' has no delivery row for '", party, "'"));
    }
    record->recipients.push_back(ReadRecipientRecord(q, party));
  }
  return std::shared_ptr<const MessageRecord>(std::move(record));
}

absl::StatusOr<std::vector<std::string>> SqliteMessageStore::CorrelatedSenders(const std::string& party,
                                                                               const std::string& message_id,
                                                                               size_t limit) const {
  std::vector<std::string> senders;
  if (limit == 0) return senders;
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  ReaderConnection& r = *reader->get();
  Query q(r.conn, r.correlated);
  q.Text(1, party).Text(2, message_id).Int(3, static_cast<int64_t>(limit));
  for (;;) {
    auto row = q.Step("finding the message a reply answers");
    if (!row.ok()) return row.status();
    if (!*row) break;
    senders.push_back(q.ColumnText(0));
  }
  return senders;
}

absl::StatusOr<CasePage> SqliteMessageStore::ListCase(const std::string& case_reference, const std::string& party,
                                                      int64_t after_position, size_t limit) const {
  CasePage page;
  page.resume_after = after_position;
  if (limit == 0) return page;
  // Entries whose acceptance the row does not show as audited (index in page.messages).
  std::vector<size_t> unaudited;
  {
    auto reader = readers_->Acquire();
    if (!reader.ok()) return reader.status();
    ReaderConnection& r = *reader->get();
    ReadTransaction txn(&r);  // The messages and their deliveries from one snapshot.
    PORTCULLIS_RETURN_IF_ERROR(txn.Begin());
    {
      Query q(r.conn, r.case_messages);
      // One more than asked for: whether more follow.
      q.Text(1, case_reference).Text(2, party).Int(3, after_position).Int(4, static_cast<int64_t>(limit) + 1);
      v1::Envelope envelope;  // Reused: one envelope parsed at a time, only its summary kept.
      v1::Receipt receipt;    // Likewise, for whether its originating officer was verified.
      for (;;) {
        auto row = q.Step("listing a case");
        if (!row.ok()) return row.status();
        if (!*row) break;
        if (page.messages.size() == limit) {
          page.more = true;
          break;
        }
        CaseEntry c;
        c.position = q.ColumnInt(0);
        c.sender = q.ColumnText(1);
        c.message_id = q.ColumnText(2);
        const absl::string_view bytes = q.ColumnBytes(3);
        envelope.Clear();
        if (!envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
          return absl::DataLossError(absl::StrCat("message store ", options_.path, ": message '", c.message_id,
                                                  "' from '", c.sender, "' cannot be parsed"));
        }
        c.correlation_id = envelope.correlation_id();
        if (const auto* body = v1::Envelope::descriptor()->FindFieldByNumber(envelope.body_case())) {
          c.body_type = body->name();
        }
        c.classification = envelope.classification();
        c.priority = envelope.priority();
        c.originating_officer = envelope.originating_officer();
        const absl::string_view receipt_bytes = q.ColumnBytes(6);
        if (!receipt.ParseFromArray(receipt_bytes.data(), static_cast<int>(receipt_bytes.size()))) {
          return absl::DataLossError(absl::StrCat("message store ", options_.path, ": the receipt of message '",
                                                  c.message_id, "' from '", c.sender, "' cannot be parsed"));
        }
        c.originating_officer_verified = receipt.originating_officer_verified();
        c.accepted_micros = q.ColumnInt(4);
        if (envelope.has_request_for_information()) {
          c.answer_by_seconds = envelope.request_for_information().answer_by().seconds();
        }
        // Placeholders in the envelope's recipient order (every one for the
        // sender, the party's own for a recipient), filled from the deliveries below.
        for (const std::string& recipient : envelope.recipients()) {
          if (c.sender == party || recipient == party) c.recipients.emplace_back().party = recipient;
        }
        if (q.ColumnInt(5) != 0) unaudited.push_back(page.messages.size());
        page.messages.push_back(std::move(c));
      }
    }
    if (page.messages.empty()) return page;

    // The page's deliveries in one statement, not one per message.
    std::unordered_map<int64_t, CaseEntry*> by_position;
    for (CaseEntry& c : page.messages) by_position[c.position] = &c;
    Query q(r.conn, r.case_deliveries);
    q.Text(1, case_reference).Text(2, party).Int(3, after_position).Int(4, page.messages.back().position);
    for (;;) {
      auto row = q.Step("listing a case's deliveries");
      if (!row.ok()) return row.status();
      if (!*row) break;
      auto it = by_position.find(q.ColumnInt(8));
      if (it == by_position.end()) continue;
      const std::string recipient = q.ColumnText(9);
      for (RecipientRecord& rr : it->second->recipients) {
        if (rr.party == recipient) rr = ReadRecipientRecord(q, recipient);
      }
    }
  }  // The read connection goes back before any shard is locked (Reserve locks a shard, then takes a reader).

  // A message stored but not yet paired with its acceptance's audit record
  // is listed only if the pairing is being written (its sender holds the
  // receipt). Otherwise the page ends before it, so the next page comes back
  // for it rather than skip it.
  for (size_t i : unaudited) {
    const std::string key = Key(page.messages[i].sender, page.messages[i].message_id);
    Shard& shard = ShardFor(key);
    bool pairing = false;
    {
      std::lock_guard<std::mutex> lock(shard.mu);
      pairing = shard.audited.count(key) != 0;
    }
    // Not being written: either never paired, or its pairing became durable
    // (and left the shard) since the snapshot above was read. The row says which.
    if (!pairing) {
      auto reader = readers_->Acquire();
      if (!reader.ok()) return reader.status();
      ReaderConnection& r = *reader->get();
      Query q(r.conn, r.lookup);
      q.Text(1, page.messages[i].sender).Text(2, page.messages[i].message_id);
      auto row = q.Step("reading a message's audit index");
      if (!row.ok()) return row.status();
      pairing = *row && !q.ColumnIsNull(2);
    }
    if (!pairing) {
      page.messages.resize(i);
      page.more = true;
      break;
    }
  }
  for (const CaseEntry& c : page.messages) {
    for (const RecipientRecord& rr : c.recipients) {
      if (rr.seq == 0) {  // Every delivery row has a seq from 1.
        return absl::DataLossError(absl::StrCat("message store ", options_.path, ": message '", c.message_id,
                                                "' from '", c.sender, "' has no delivery row for '", rr.party, "'"));
      }
    }
  }
  if (!page.messages.empty()) page.resume_after = page.messages.back().position;
  return page;
}

absl::StatusOr<RecipientRecord> SqliteMessageStore::UpdateRecipient(
    const std::string& sender, const std::string& message_id, const std::string& party,
    const std::function<absl::Status(RecipientRecord&)>& update) {
  RecipientRecord result;
  absl::Status status = Write(
      [&](Writer& w) {
        auto updated = w.UpdateRecipient(sender, message_id, party, update);
        if (!updated.ok()) return updated.status();
        result = *std::move(updated);
        return absl::OkStatus();
      },
      /*is_commit=*/false);
  if (!status.ok()) return status;
  return result;
}

void SqliteMessageStore::UpdateRecipientAsync(const std::string& sender, const std::string& message_id,
                                              const std::string& party,
                                              std::function<absl::Status(RecipientRecord&)> update,
                                              RecipientDone done) {
  auto result = std::make_shared<RecipientRecord>();
  WriteAsync(
      [sender, message_id, party, update = std::move(update), result](Writer& w) {
        auto updated = w.UpdateRecipient(sender, message_id, party, update);
        if (!updated.ok()) return updated.status();
        *result = *std::move(updated);
        return absl::OkStatus();
      },
      /*is_commit=*/false,
      [result, done = std::move(done)](absl::Status s) {
        if (!s.ok()) {
          done(std::move(s));
        } else {
          done(std::move(*result));
        }
      });
}

absl::Status SqliteMessageStore::MarkAudited(const std::string& sender, const std::string& message_id,
                                             uint64_t audit_index) {
  return Write([&](Writer& w) { return w.MarkAudited(sender, message_id, audit_index); }, /*is_commit=*/false);
}

absl::StatusOr<std::vector<UnauditedMessage>> SqliteMessageStore::Unaudited() const {
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  ReaderConnection& r = *reader->get();
  std::vector<UnauditedMessage> out;
  Query q(r.conn, r.unaudited);
  for (;;) {
    auto row = q.Step("listing unaudited messages");
    if (!row.ok()) return row.status();
    if (!*row) return out;
    UnauditedMessage m;
    m.sender = q.ColumnText(0);
    m.message_id = q.ColumnText(1);
    m.audit_size_at_commit = static_cast<uint64_t>(q.ColumnInt(2));
    m.accepted_micros = q.ColumnInt(3);
    out.push_back(std::move(m));
  }
}

absl::StatusOr<std::vector<DeliveryRow>> SqliteMessageStore::PendingDeliveries(const std::string& recipient,
                                                                              int64_t after_seq,
                                                                              size_t limit) const {
  std::vector<DeliveryRow> out;
  if (limit == 0) return out;
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  ReaderConnection& r = *reader->get();
  Query q(r.conn, r.pending);
  q.Text(1, recipient).Int(2, v1::ACCEPTED).Int(3, after_seq).Int(4, static_cast<int64_t>(limit));
  for (;;) {
    auto row = q.Step("listing pending deliveries");
    if (!row.ok()) return row.status();
    // Nothing after a message whose acceptance is not yet audited: it is not
    // deliverable yet, and a pager must not move past it.
    if (!*row || q.ColumnInt(kDeliveryColumnCount) != 0) return out;
    out.push_back(ReadDeliveryRow(q));
  }
}

absl::StatusOr<std::map<std::string, BacklogCount>> SqliteMessageStore::BacklogCounts() const {
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  ReaderConnection& r = *reader->get();
  Query q(r.conn, r.backlog);
  std::map<std::string, BacklogCount> out;
  for (;;) {
    auto row = q.Step("counting the backlog");
    if (!row.ok()) return row.status();
    if (!*row) return out;
    BacklogCount& c = out[q.ColumnText(0)];
    c.messages = static_cast<uint64_t>(q.ColumnInt(1));
    c.bytes = static_cast<uint64_t>(q.ColumnInt(2));  // TOTAL is a float; converted exactly below 2^53.
  }
}

void SqliteMessageStore::RecordPulled(const std::string& recipient, int64_t seq) {
  WriteAsync([recipient, seq](Writer& w) { return w.RecordPulled(recipient, seq); }, /*is_commit=*/false,
             [](absl::Status) {});  // A lost mark only makes a later confirm stop short: sent again, deduplicated.
}

absl::StatusOr<ConfirmResult> SqliteMessageStore::ConfirmPulled(const std::string& recipient,
                                                               const std::string& through_delivery_id) {
  ConfirmResult out;
  absl::Status status = Write(
      [&](Writer& w) {
        auto confirmed = w.ConfirmPulled(recipient, through_delivery_id, NowMicros());
        if (!confirmed.ok()) return confirmed.status();
        out = *std::move(confirmed);
        return absl::OkStatus();
      },
      /*is_commit=*/false);
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::vector<ChangedDelivery>> SqliteMessageStore::ExpireDue(int64_t now_micros, size_t limit) {
  std::vector<ChangedDelivery> out;
  absl::Status status = Write(
      [&](Writer& w) {
        auto expired = w.ExpireDue(now_micros, limit);
        if (!expired.ok()) return expired.status();
        out = *std::move(expired);
        return absl::OkStatus();
      },
      /*is_commit=*/false);
  if (!status.ok()) return status;
  return out;
}

// ---------------------------------------------------------------------------
// Group commit.

absl::Status SqliteMessageStore::Write(std::function<absl::Status(Writer&)> apply, bool is_commit) {
  if (std::this_thread::get_id() == writer_thread_.get_id()) {
    // From inside an UpdateRecipient callback: waiting for the writer would
    // wait for ourselves forever.
    return absl::FailedPreconditionError("message store: a write from inside an UpdateRecipient callback");
  }
  WriteOp op;
  op.apply = std::move(apply);
  op.is_commit = is_commit;
  std::future<absl::Status> done = op.done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("message store is closing");
    pending_.push_back(&op);
    // The writer waits only when the queue is empty.
    if (pending_.size() == 1) cv_.notify_one();
  }
  return done.get();  // `op` lives on this stack until the writer has answered.
}

void SqliteMessageStore::Flush() {
  // Queued behind everything already queued; the writer answers in order.
  Write([](Writer&) { return absl::OkStatus(); }, /*is_commit=*/false).IgnoreError();
}

void SqliteMessageStore::WriteAsync(std::function<absl::Status(Writer&)> apply, bool is_commit,
                                    std::function<void(absl::Status)> on_done) {
  auto* op = new WriteOp();
  op->apply = std::move(apply);
  op->is_commit = is_commit;
  op->on_done = std::move(on_done);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      pending_.push_back(op);
      if (pending_.size() == 1) cv_.notify_one();
      return;
    }
  }
  std::function<void(absl::Status)> cb = std::move(op->on_done);
  delete op;
  cb(absl::UnavailableError("message store is closing"));
}

void SqliteMessageStore::WriterLoop() {
  std::vector<WriteOp*> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // Stopping, and everything queued is answered.
      // Everything that queued up during the previous fsync: that wait is what
      // makes batches grow under load, with no timer adding latency when idle.
      while (!pending_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(pending_.front());
        pending_.pop_front();
      }
    }
    RunBatch(batch);
    batch.clear();
  }
}

void SqliteMessageStore::RunBatch(const std::vector<WriteOp*>& batch) {
  Writer& w = *writer_;
  std::vector<absl::Status> results(batch.size());
  size_t ran = 0;
  // Fails what has not failed on its own yet: nothing of the batch is durable.
  auto fail_all = [&](const absl::Status& s) {
    w.Rollback();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (i >= ran || results[i].ok()) results[i] = s;
    }
  };
  absl::Status s = w.Begin();
  if (!s.ok()) {
    fail_all(s);
  } else {
    for (; ran < batch.size(); ++ran) {
      // Each write in a savepoint: a refused update (or a constraint error)
      // undoes only itself, not its neighbours in the batch.
      s = w.Savepoint();
      if (!s.ok()) break;
      results[ran] = batch[ran]->apply(w);
      if (results[ran].ok()) {
        s = w.Release();
      } else if (w.InTransaction()) {
        s = w.RollbackToSavepoint();
      } else {
        // SQLite rolled the whole transaction back (I/O error, disk full):
        // the writes before this one are gone too.
        s = results[ran];
        ++ran;
      }
      if (!s.ok()) break;
    }
    if (s.ok()) s = w.Commit();
    if (!s.ok()) {
      fail_all(s);
    } else {
      uint64_t messages = 0;
      for (size_t i = 0; i < batch.size(); ++i) messages += batch[i]->is_commit && results[i].ok() ? 1 : 0;
      commits_.fetch_add(messages);
      commit_batches_.fetch_add(1);
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i]->on_done) {  // Asynchronous: the op is ours to delete.
      std::function<void(absl::Status)> cb = std::move(batch[i]->on_done);
      delete batch[i];
      cb(std::move(results[i]));
      continue;
    }
    // The caller may return (and destroy its WriteOp) the moment its future
    // is ready, so the promise is moved out first and set from here.
    std::promise<absl::Status> done = std::move(batch[i]->done);
    done.set_value(std::move(results[i]));
  }
}

// ---------------------------------------------------------------------------
// Dead letters (operators). Statements prepared per call: these are rare
// operator actions, and keeping them here leaves the hot paths' statement
// lists alone.

namespace {

bool IsDeadLetter(v1::DeliveryState state) { return state == v1::FAILED || state == v1::EXPIRED; }

absl::Status DeliveryNotFound(const std::string& delivery_id) {
  return Refuse(absl::StatusCode::kNotFound, "DELIVERY_NOT_FOUND", "delivery_id",
                absl::StrCat("no delivery '", delivery_id, "'"));
}

absl::StatusOr<DeliveryRow> ReadDelivery(const Connection& conn, const std::string& delivery_id) {
  StmtPtr stmt;
  PORTCULLIS_RETURN_IF_ERROR(
      conn.Prepare(absl::StrCat("SELECT ", kDeliveryColumns, " FROM deliveries d WHERE delivery_id = ?1").c_str(),
                   &stmt));
  Query q(conn, stmt);
  q.Text(1, delivery_id);
  auto row = q.Step("reading a delivery");
  if (!row.ok()) return row.status();
  if (!*row) return DeliveryNotFound(delivery_id);
  return ReadDeliveryRow(q);
}

}  // namespace

absl::StatusOr<std::vector<DeliveryRow>> SqliteMessageStore::DeadLetters(const std::string& recipient,
                                                                        int64_t after_seq, size_t limit) const {
  std::vector<DeliveryRow> out;
  if (limit == 0) return out;
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  const Connection& conn = (*reader)->conn;
  // By recipient: the (recipient, state, seq) index; otherwise in seq order
  // over the seq index, skipping what is not a dead letter.
  const std::string sql =
      recipient.empty()
          ? absl::StrCat("SELECT ", kDeliveryColumns,
                         " FROM deliveries d WHERE state IN (?2, ?3) AND seq > ?4 ORDER BY seq LIMIT ?5")
          : absl::StrCat("SELECT ", kDeliveryColumns,
                         " FROM deliveries d WHERE recipient = ?1 AND state IN (?2, ?3) AND seq > ?4 "
                         "ORDER BY seq LIMIT ?5");
  StmtPtr stmt;
  PORTCULLIS_RETURN_IF_ERROR(conn.Prepare(sql.c_str(), &stmt));
  Query q(conn, stmt);
  if (!recipient.empty()) q.Text(1, recipient);
  q.Int(2, v1::FAILED).Int(3, v1::EXPIRED).Int(4, after_seq).Int(5, static_cast<int64_t>(limit));
  for (;;) {
    auto row = q.Step("listing dead letters");
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(ReadDeliveryRow(q));
  }
}

absl::StatusOr<DeliveryRow> SqliteMessageStore::GetDelivery(const std::string& delivery_id) const {
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  return ReadDelivery((*reader)->conn, delivery_id);
}

absl::StatusOr<DeliveryRow> SqliteMessageStore::RetryDeadLetter(const std::string& delivery_id,
                                                                int64_t max_age_micros,
                                                                const OfficerOnRecord& officer) {
  return ReviveOrCancel(delivery_id, v1::ACCEPTED, max_age_micros, officer, "");
}

absl::StatusOr<DeliveryRow> SqliteMessageStore::CancelDeadLetter(const std::string& delivery_id,
                                                                 const OfficerOnRecord& officer,
                                                                 const std::string& reason) {
  return ReviveOrCancel(delivery_id, v1::CANCELLED, 0, officer, reason);
}

absl::StatusOr<DeliveryRow> SqliteMessageStore::ReviveOrCancel(const std::string& delivery_id,
                                                               v1::DeliveryState state, int64_t max_age_micros,
                                                               const OfficerOnRecord& officer,
                                                               const std::string& reason) {
  DeliveryRow result;
  absl::Status status = Write(
      [&](Writer& w) -> absl::Status {
        const Connection& conn = w.conn();
        auto row = ReadDelivery(conn, delivery_id);
        if (!row.ok()) return row.status();
        DeliveryRow d = *std::move(row);
        if (!IsDeadLetter(d.state)) {
          return Refuse(absl::StatusCode::kFailedPrecondition, "NOT_A_DEAD_LETTER", "delivery_id",
                        absl::StrCat("delivery '", delivery_id, "' is ", v1::DeliveryState_Name(d.state),
                                     "; only FAILED or EXPIRED deliveries can be retried or cancelled"));
        }
        const int64_t now = NowMicros();
        // The dispatcher writes the latest delivery error to `reason` (what
        // Track shows): keep a copy in `last_error`. A retried delivery keeps
        // it in `reason` too (the retry's reason is in the audit log); a
        // cancelled one shows the operator's reason instead.
        if (!d.reason.empty()) d.last_error = d.reason;
        d.state = state;
        d.officer = officer.id;
        d.officer_verified = officer.verified;
        if (state == v1::CANCELLED) d.reason = reason;
        d.updated_micros = now;
        if (state == v1::ACCEPTED) {
          // A new seq puts it behind everything now waiting: destinations and
          // pull streams page by seq and have passed its old one. It gets a
          // fresh attempt budget (its history is in the audit log).
          auto seq = w.NextSeq();
          if (!seq.ok()) return seq.status();
          d.seq = *seq;
          d.attempts = 0;
          d.next_attempt_micros = now;
          d.expires_micros = max_age_micros > 0 ? now + max_age_micros : 0;
        } else {
          d.next_attempt_micros = 0;
        }
        StmtPtr stmt;
        PORTCULLIS_RETURN_IF_ERROR(conn.Prepare(
            "UPDATE deliveries SET state = ?2, next_attempt_micros = ?3, last_error = ?4, expires_micros = ?5, "
            "updated_micros = ?6, officer = ?7, reason = ?8, seq = ?9, attempts = ?10, officer_verified = ?11 "
            "WHERE delivery_id = ?1",
            &stmt));
        Query q(conn, stmt);
        q.Text(1, d.delivery_id)
            .Int(2, d.state)
            .Int(3, d.next_attempt_micros)
            .Text(4, d.last_error)
            .Int(5, d.expires_micros)
            .Int(6, d.updated_micros)
            .Text(7, d.officer)
            .Text(8, d.reason)
            .Int(9, d.seq)
            .Int(10, d.attempts)
            .Int(11, d.officer_verified ? 1 : 0);
        PORTCULLIS_RETURN_IF_ERROR(q.Run("updating a dead letter"));
        result = std::move(d);
        return absl::OkStatus();
      },
      /*is_commit=*/false);
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::vector<DeliveryCount>> SqliteMessageStore::CountDeliveries(
    const std::vector<v1::DeliveryState>& states) const {
  std::vector<DeliveryCount> out;
  if (states.empty()) return out;
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  const Connection& conn = (*reader)->conn;
  std::string in;
  for (size_t i = 0; i < states.size(); ++i) absl::StrAppend(&in, i == 0 ? "" : ", ", "?", i + 1);
  const std::string sql = absl::StrCat("SELECT recipient, state, count(*) FROM deliveries WHERE state IN (", in,
                                       ") GROUP BY recipient, state ORDER BY recipient, state");
  StmtPtr stmt;
  PORTCULLIS_RETURN_IF_ERROR(conn.Prepare(sql.c_str(), &stmt));
  Query q(conn, stmt);
  for (size_t i = 0; i < states.size(); ++i) q.Int(static_cast<int>(i + 1), states[i]);
  for (;;) {
    auto row = q.Step("counting deliveries");
    if (!row.ok()) return row.status();
    if (!*row) return out;
    DeliveryCount c;
    c.recipient = q.ColumnText(0);
    c.state = static_cast<v1::DeliveryState>(q.ColumnInt(1));
    c.count = static_cast<uint64_t>(q.ColumnInt(2));
    out.push_back(std::move(c));
  }
}

}  // namespace portcullis
