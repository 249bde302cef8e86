#include "tests/support/test_storage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gateway/pg/pg_connection.h"

namespace portcullis::testing {
namespace {

std::string SharedClusterDsn(const std::string& database) {
  const char* dir = std::getenv("PORTCULLIS_TEST_PG_DIR");
  std::ifstream in(absl::StrCat(dir == nullptr ? "" : dir, "/port"));
  std::string port;
  std::getline(in, port);
  if (port.empty()) {
    ADD_FAILURE() << "PORTCULLIS_TEST_PG_DIR=" << (dir == nullptr ? "" : dir)
                  << " has no running test cluster (no port file): did the pg_shared fixture start?";
    std::abort();
  }
  return absl::StrCat("host=127.0.0.1 port=", absl::StripAsciiWhitespace(port), " user=portcullis dbname=",
                      database);
}

}  // namespace

bool TestsOnPostgres() {
  const char* dir = std::getenv("PORTCULLIS_TEST_PG_DIR");
  return dir != nullptr && *dir != '\0';
}

std::string FreshTestDatabase() {
  static std::atomic<int> n{0};
  const std::string name = absl::StrCat("t", ::getpid(), "_", ++n);
  auto admin = pg::Connection::Open(SharedClusterDsn("postgres"), 10);
  if (!admin.ok()) {
    ADD_FAILURE() << "the shared PostgreSQL test cluster is unreachable: " << admin.status();
    std::abort();
  }
  // CREATE DATABASE takes no parameters; the name is ours (digits and '_').
  absl::Status s = (*admin)->RunScript(absl::StrCat("CREATE DATABASE ", name).c_str());
  if (!s.ok()) {
    ADD_FAILURE() << "cannot create a test database: " << s;
    std::abort();
  }
  return SharedClusterDsn(name);
}

std::vector<std::string> AuditLinesIn(const std::string& dsn) {
  std::vector<std::string> lines;
  auto conn = pg::Connection::Open(dsn, 10);
  if (!conn.ok()) {
    ADD_FAILURE() << "cannot read the audit records: " << conn.status();
    return lines;
  }
  auto rows = (*conn)->Exec("SELECT line FROM audit_records ORDER BY idx");
  if (!rows.ok()) {
    ADD_FAILURE() << "cannot read the audit records: " << rows.status();
    return lines;
  }
  for (int i = 0; i < rows->rows(); ++i) lines.emplace_back(rows->Text(i, 0));
  return lines;
}

void WriteAuditFilesFrom(const std::string& dsn, const std::string& path) {
  auto conn = pg::Connection::Open(dsn, 10);
  ASSERT_TRUE(conn.ok()) << "cannot read the audit log: " << conn.status();
  auto records = (*conn)->Exec("SELECT line FROM audit_records ORDER BY idx");
  ASSERT_TRUE(records.ok()) << records.status();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (int i = 0; i < records->rows(); ++i) out << records->Text(i, 0) << '\n';
  auto checkpoints = (*conn)->Exec("SELECT line FROM audit_checkpoints ORDER BY tree_size");
  ASSERT_TRUE(checkpoints.ok()) << checkpoints.status();
  std::ofstream cps(path + ".checkpoints", std::ios::binary | std::ios::trunc);
  for (int i = 0; i < checkpoints->rows(); ++i) cps << checkpoints->Text(i, 0) << '\n';
  ASSERT_TRUE(out.good() && cps.good()) << "cannot write " << path;
}

void ExecIn(const std::string& dsn, const std::string& sql) {
  auto conn = pg::Connection::Open(dsn, 10);
  ASSERT_TRUE(conn.ok()) << conn.status();
  absl::Status s = (*conn)->RunScript(sql.c_str());
  ASSERT_TRUE(s.ok()) << sql << ": " << s;
}

void CutOffDatabase(const std::string& dsn, bool cut) {
  const size_t at = dsn.find("dbname=");
  ASSERT_NE(at, std::string::npos) << dsn;
  const std::string name = dsn.substr(at + 7, dsn.find(' ', at) - at - 7);
  const std::string admin = SharedClusterDsn("postgres");
  ExecIn(admin, absl::StrCat("ALTER DATABASE ", name, " ALLOW_CONNECTIONS ", cut ? "false" : "true"));
  if (cut) {
    ExecIn(admin, absl::StrCat("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '", name,
                               "' AND pid <> pg_backend_pid()"));
  }
}

void RefuseAuditWrites(const std::string& dsn, bool refuse) {
  if (refuse) {
    ExecIn(dsn,
           "CREATE OR REPLACE FUNCTION portcullis_test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
           "$$ BEGIN RAISE EXCEPTION 'injected: audit_records refuses writes'; END $$; "
           "CREATE TRIGGER portcullis_test_refuse BEFORE INSERT ON audit_records "
           "FOR EACH ROW EXECUTE FUNCTION portcullis_test_refuse()");
  } else {
    ExecIn(dsn, "DROP TRIGGER IF EXISTS portcullis_test_refuse ON audit_records");
  }
}

}  // namespace portcullis::testing
