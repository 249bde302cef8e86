// Which storage the tests' gateways run on (docs/storage.md): SQLite + the
// file audit log by default; PostgreSQL when PORTCULLIS_TEST_PG_DIR names the
// shared throw-away cluster that ctest starts for the "postgres:" runs of the
// gateway suites (scripts/pg-test-cluster.sh, fixture pg_shared). Each
// config then gets a fresh database of its own on that cluster.
#ifndef PORTCULLIS_TESTS_SUPPORT_TEST_STORAGE_H_
#define PORTCULLIS_TESTS_SUPPORT_TEST_STORAGE_H_

#include <gtest/gtest.h>

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
// The log as stored in the database at `dsn` written as the file log's files
// (`path`: one record a line; `path`.checkpoints: the signed checkpoints),
// for the offline verifier. A failure fails the test.
void WriteAuditFilesFrom(const std::string& dsn, const std::string& path);
// Runs `sql` (no parameters) on the database at `dsn`; a failure fails the test.
void ExecIn(const std::string& dsn, const std::string& sql);

// What the file log's "write"/"sync" fault injection (GatewayTestHooks::
// audit_fault_injector) stands for, done to the real database at `dsn` (a
// database of the shared cluster):
// - CutOffDatabase(dsn, true): the database is gone for the gateway (its
//   connections are ended and new ones refused) until CutOffDatabase(dsn,
//   false): the writer's connection breaks, storage reports UNAVAILABLE;
// - RefuseAuditWrites(dsn, true): the database refuses to insert audit
//   records (a trigger raises an error) while every other write succeeds,
//   until RefuseAuditWrites(dsn, false).
void CutOffDatabase(const std::string& dsn, bool cut);
void RefuseAuditWrites(const std::string& dsn, bool refuse);

// For the few tests whose point is the file audit log or the SQLite file
// itself (tampered files, .leaves, FileAuditLog fault injection): in a
// PostgreSQL run they say so and skip, naming why. Use at the top of a test:
//   SkipUnlessFileStorage("the tampered audit.log is refused at start-up");
#define SkipUnlessFileStorage(why)                                             \
  do {                                                                         \
    if (::portcullis::testing::TestsOnPostgres()) {                            \
      GTEST_SKIP() << "file audit log only: " << (why);                        \
    }                                                                          \
  } while (0)

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_TEST_STORAGE_H_
