// SqliteMessageStore: the schema, its migrations, and Open (what the file
// must be before anything is written to it); the store's start and stop.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/common/log.h"
#include "gateway/common/sync_dir.h"
#include "gateway/store/sqlite_store_internal.h"
#include "util/status_macros.h"

namespace portcullis {

using sqlite_store::Connection;
using sqlite_store::QueryInt;
using sqlite_store::QueryText;
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
    return absl::FailedPreconditionError(
        absl::StrCat("message store ", path, " is an SQLite database of something else (application_id ", *app_id,
                     ", user_version ", *version, "). Refusing to open it as the message store"));
  }

  // WAL: readers proceed during a write, and a commit is one append and one
  // fsync of the WAL. The mode is stored in the file; asking again is a no-op.
  auto mode = QueryText(conn, "PRAGMA journal_mode=WAL");
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") {
    return absl::UnavailableError(absl::StrCat("message store ", path, ": cannot use WAL mode (journal mode is ", *mode,
                                               "); is the file on a network filesystem?"));
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
    LogLine("message store %s: schema upgraded from version %lld to %d\n", path.c_str(),
                 static_cast<long long>(*from), SqliteMessageStore::kSchemaVersion);
  }
  return s;
}

}  // namespace

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
  PORTCULLIS_RETURN_IF_ERROR(
      conn->Exec("CREATE INDEX IF NOT EXISTS deliveries_by_message ON deliveries(message_id, recipient)",
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

}  // namespace portcullis
