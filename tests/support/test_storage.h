// Which storage the tests' gateways run on (docs/storage.md): SQLite + the
// file audit log by default; PostgreSQL when PORTCULLIS_TEST_PG_DIR names the
// shared throw-away cluster that ctest starts for the "postgres:" runs of the
// gateway suites (scripts/pg-test-cluster.sh, fixture pg_shared). Each
// config then gets a fresh database of its own on that cluster.
#ifndef PORTCULLIS_TESTS_SUPPORT_TEST_STORAGE_H_
#define PORTCULLIS_TESTS_SUPPORT_TEST_STORAGE_H_

#include <string>
#include <vector>

namespace portcullis::testing {

// True when this test process runs its gateways on PostgreSQL.
bool TestsOnPostgres();
// A fresh, empty database on the shared cluster; its DSN. A cluster that
// cannot be reached fails the test loudly (and aborts: nothing after it
// could mean anything).
std::string FreshTestDatabase();
// The audit record lines stored in the database at `dsn`, in index order.
std::vector<std::string> AuditLinesIn(const std::string& dsn);

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_TEST_STORAGE_H_
