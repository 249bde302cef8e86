// PgMessageStore in tests: one real PostgreSQL cluster per test binary
// (started on first use; a test that cannot start it fails), a fresh
// database per store, and a store with its own writer and pool, as a gateway
// has. The "postgres" backend of the conformance suites (pg_store_backend.cc)
// and the PostgreSQL-only tests (tests/pg_store*_test.cc) use it.
#ifndef PORTCULLIS_TESTS_SUPPORT_PG_STORE_FIXTURES_H_
#define PORTCULLIS_TESTS_SUPPORT_PG_STORE_FIXTURES_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/pg/pg_pool.h"
#include "gateway/pg/pg_writer.h"
#include "gateway/store/pg_message_store.h"
#include "tests/support/pg_cluster.h"

namespace portcullis::testing {

// The binary's cluster, started on first call; an error (for the test to
// fail with) if it cannot start.
absl::StatusOr<PgCluster*> SharedPgCluster();

// A new database on the shared cluster with the schema prepared; its dsn.
absl::StatusOr<std::string> FreshPgDatabase();

// What one "gateway" holds: its writer, its pool and the store on them.
// Destroyed store first, then writer and pool.
struct PgStoreParts {
  std::unique_ptr<pg::GroupWriter> writer;
  std::unique_ptr<pg::Pool> pool;
  std::unique_ptr<PgMessageStore> store;
  ~PgStoreParts();
};
absl::StatusOr<std::unique_ptr<PgStoreParts>> OpenPgStoreParts(const std::string& dsn, int64_t max_age_micros = 0,
                                                               std::function<void()> after_case_snapshot = nullptr,
                                                               size_t pool_size = 4);

// A store that owns its writer and pool (deleting it closes all three).
using PgStorePtr = std::unique_ptr<PgMessageStore, std::function<void(PgMessageStore*)>>;
absl::StatusOr<PgStorePtr> OpenPgStore(const std::string& dsn, int64_t max_age_micros = 0,
                                       std::function<void()> after_case_snapshot = nullptr);

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_PG_STORE_FIXTURES_H_
