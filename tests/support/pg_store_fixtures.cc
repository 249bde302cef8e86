#include "tests/support/pg_store_fixtures.h"

#include <atomic>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "gateway/pg/pg_schema.h"
#include "util/status_macros.h"

namespace portcullis::testing {

absl::StatusOr<PgCluster*> SharedPgCluster() {
  static std::mutex mu;
  static std::unique_ptr<PgCluster> cluster;  // Stopped and removed at exit.
  static absl::Status failed;
  std::lock_guard<std::mutex> lock(mu);
  if (cluster == nullptr && failed.ok()) {
    auto started = PgCluster::Start();
    if (!started.ok()) {
      failed = started.status();
    } else {
      cluster = *std::move(started);
    }
  }
  if (!failed.ok()) return absl::Status(failed.code(), absl::StrCat("cannot start PostgreSQL: ", failed.message()));
  return cluster.get();
}

absl::StatusOr<std::string> FreshPgDatabase() {
  static std::atomic<int> next{1};
  auto cluster = SharedPgCluster();
  if (!cluster.ok()) return cluster.status();
  auto dsn = (*cluster)->CreateDatabase(absl::StrCat("store_", next++));
  if (!dsn.ok()) return dsn.status();
  auto conn = pg::Connection::Open(*dsn);
  if (!conn.ok()) return conn.status();
  PORTCULLIS_RETURN_IF_ERROR(pg::PrepareSchema(**conn));
  return *dsn;
}

PgStoreParts::~PgStoreParts() {
  store.reset();
  writer.reset();
  pool.reset();
}

absl::StatusOr<std::unique_ptr<PgStoreParts>> OpenPgStoreParts(const std::string& dsn, int64_t max_age_micros,
                                                               std::function<void()> after_case_snapshot,
                                                               size_t pool_size) {
  auto parts = std::make_unique<PgStoreParts>();
  pg::GroupWriter::Options w;
  w.dsn = dsn;
  w.reconnect_min = std::chrono::milliseconds(20);
  w.reconnect_max = std::chrono::milliseconds(200);
  auto writer = pg::GroupWriter::Start(w);
  if (!writer.ok()) return writer.status();
  parts->writer = *std::move(writer);
  parts->pool = std::make_unique<pg::Pool>(dsn, pool_size, 5);
  PgStoreOptions options;
  options.writer = parts->writer.get();
  options.pool = parts->pool.get();
  options.delivery_max_age_micros = max_age_micros;
  options.after_case_snapshot = std::move(after_case_snapshot);
  auto store = PgMessageStore::Open(options);
  if (!store.ok()) return store.status();
  parts->store = *std::move(store);
  return parts;
}

absl::StatusOr<PgStorePtr> OpenPgStore(const std::string& dsn, int64_t max_age_micros,
                                       std::function<void()> after_case_snapshot) {
  auto parts = OpenPgStoreParts(dsn, max_age_micros, std::move(after_case_snapshot));
  if (!parts.ok()) return parts.status();
  std::shared_ptr<PgStoreParts> owner = *std::move(parts);
  PgMessageStore* store = owner->store.get();
  return PgStorePtr(store, [owner](PgMessageStore*) mutable { owner.reset(); });
}

}  // namespace portcullis::testing
