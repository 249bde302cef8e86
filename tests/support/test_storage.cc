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

}  // namespace portcullis::testing
