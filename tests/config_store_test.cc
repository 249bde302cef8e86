// Config loader: the store section (backend sqlite | postgres, dsn, pool) and
// what it changes in the audit section; the DSN's redaction (gateway/config/dsn.h).
#include <string>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/config/dsn.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/config_test_support.h"

namespace portcullis::config_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// kHeader without audit.path (lines 1-10), then `store` from line 11.
std::string HeaderWithoutAuditPath() {
  std::string header = kHeader;
  const std::string with_path = "audit: {signing_key: pki/audit/signing.key,\n  path: state/audit.log}\n";
  header.replace(header.find(with_path), with_path.size(), "audit: {signing_key: pki/audit/signing.key}\n");
  return header;
}

std::string WithStore(const std::string& header, const std::string& store) {
  return header + store + kParties;
}

TEST(ConfigStoreTest, DefaultIsSqliteNextToTheAuditLog) {
  Workspace ws;
  auto config = Load(ws, std::string(kHeader) + kParties);
  ASSERT_TRUE(config.ok()) << config.status();
  const StoreConfig& store = (*config)->store;
  EXPECT_EQ(store.backend, StoreBackend::kSqlite);
  EXPECT_EQ(store.path, ws.Path("state/outbox.db"));
  EXPECT_EQ(store.dsn, "");
  EXPECT_EQ(store.pool_size, 8);
  EXPECT_EQ(store.connect_timeout_seconds, 5);
  EXPECT_STREQ(StoreBackendName(store.backend), "sqlite");
}

TEST(ConfigStoreTest, SqliteSectionPathIsOptional) {
  Workspace ws;
  auto defaulted = Load(ws, WithStore(kHeader, "store: {backend: sqlite}\n"));
  ASSERT_TRUE(defaulted.ok()) << defaulted.status();
  EXPECT_EQ((*defaulted)->store.path, ws.Path("state/outbox.db"));
  auto given = Load(ws, WithStore(kHeader, "store: {path: state/other.db}\n"));
  ASSERT_TRUE(given.ok()) << given.status();
  EXPECT_EQ((*given)->store.backend, StoreBackend::kSqlite);
  EXPECT_EQ((*given)->store.path, ws.Path("state/other.db"));
  const std::string bad = WithStore(kHeader, "store: {path: nowhere/outbox.db}\n");
  EXPECT_THAT(ErrorLines(Load(ws, bad)),
              ElementsAre(At(bad, "nowhere/") + ": store.path: parent directory does not exist: " + ws.Path("nowhere")));
}

TEST(ConfigStoreTest, PostgresNeedsNoStoreOrAuditPath) {
  Workspace ws;
  auto config = Load(ws, WithStore(HeaderWithoutAuditPath(), R"(store:
  backend: postgres
  dsn: "host=db.internal port=5432 dbname=portcullis user=gateway"
  pool_size: 16
  connect_timeout_seconds: 10
)"));
  ASSERT_TRUE(config.ok()) << config.status();
  const StoreConfig& store = (*config)->store;
  EXPECT_EQ(store.backend, StoreBackend::kPostgres);
  EXPECT_EQ(store.dsn, "host=db.internal port=5432 dbname=portcullis user=gateway");
  EXPECT_EQ(store.pool_size, 16);
  EXPECT_EQ(store.connect_timeout_seconds, 10);
  EXPECT_EQ(store.path, "");
  EXPECT_EQ((*config)->audit.path, "");
  EXPECT_STREQ(StoreBackendName(store.backend), "postgres");
  // A URI is a connection string too; defaults for the pool.
  auto uri = Load(ws, WithStore(HeaderWithoutAuditPath(),
                                "store: {backend: postgres, dsn: \"postgresql://gateway@db:5432/portcullis\"}\n"));
  ASSERT_TRUE(uri.ok()) << uri.status();
  EXPECT_EQ((*uri)->store.dsn, "postgresql://gateway@db:5432/portcullis");
  EXPECT_EQ((*uri)->store.pool_size, 8);
  EXPECT_EQ((*uri)->store.connect_timeout_seconds, 5);
}

TEST(ConfigStoreTest, AuditPathIsStillRequiredWithSqlite) {
  Workspace ws;
  for (const std::string store : {"", "store: {backend: sqlite, path: state/outbox.db}\n"}) {
    const std::string yaml = WithStore(HeaderWithoutAuditPath(), store);
    EXPECT_THAT(ErrorLines(Load(ws, yaml)), ElementsAre(At(yaml, "{signing_key") + ": audit.path: is required"))
        << store;
  }
}

// With postgres the state folder holds nothing: its paths are read but not
// checked, so a replica whose state folder was wiped starts (docs/cluster.md);
// with sqlite they are checked.
TEST(ConfigStoreTest, PostgresPathsGivenAreNotCheckedSqlitePathsAre) {
  Workspace ws;
  std::string header = kHeader;
  header.replace(header.find("path: state/audit.log}"), 22, "path: gone/audit.log}");
  auto config = Load(ws, WithStore(header, "store: {backend: postgres, dsn: \"host=db\", path: nowhere/x.db}\n"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->audit.path, ws.Path("gone/audit.log"));
  const std::string yaml = WithStore(header, "store: {backend: sqlite, path: nowhere/x.db}\n");
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre(At(yaml, "gone/") + ": audit.path: parent directory does not exist: " + ws.Path("gone"),
                          At(yaml, "nowhere/") + ": store.path: parent directory does not exist: " + ws.Path("nowhere")));
}

TEST(ConfigStoreTest, PostgresRequiresADsn) {
  Workspace ws;
  const std::string yaml = WithStore(HeaderWithoutAuditPath(), "store:\n  backend: postgres\n");
  EXPECT_THAT(ErrorLines(Load(ws, yaml)), ElementsAre(At(yaml, "backend") + ": store.dsn: is required"));
  const std::string empty = WithStore(HeaderWithoutAuditPath(), "store:\n  backend: postgres\n  dsn: \"\"\n");
  EXPECT_THAT(ErrorLines(Load(ws, empty)), ElementsAre(At(empty, "\"\"") + ": store.dsn: must not be empty"));
}

TEST(ConfigStoreTest, DsnWithoutPostgresIsRefused) {
  Workspace ws;
  for (const std::string backend : {"", "  backend: sqlite\n"}) {
    const std::string yaml = WithStore(kHeader, "store:\n" + backend + "  dsn: \"host=db password=hunter2\"\n");
    EXPECT_THAT(ErrorLines(Load(ws, yaml)),
                ElementsAre(At(yaml, "\"host=db") + ": store.dsn: is only used with 'backend: postgres'"))
        << backend;
  }
}

// The shipped config carries `dsn: ${PORTCULLIS_STORE_DSN:-}` for either backend.
TEST(ConfigStoreTest, AnEmptyDsnIsNoneWithSqlite) {
  Workspace ws;
  const std::string yaml = WithStore(kHeader, "store:\n  backend: sqlite\n  dsn: ${PORTCULLIS_TEST_UNSET_DSN:-}\n");
  auto config = Load(ws, yaml);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->store.backend, StoreBackend::kSqlite);
  EXPECT_EQ((*config)->store.dsn, "");
}

TEST(ConfigStoreTest, UnknownBackendNamesTheLine) {
  Workspace ws;
  const std::string yaml = WithStore(kHeader, "store:\n  backend: mysql\n  dsn: \"host=db\"\n");
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre("test.yaml:13:12: store.backend: unknown store backend 'mysql' (allowed: sqlite, postgres)"));
}

TEST(ConfigStoreTest, PoolSizeAndConnectTimeoutAreBounded) {
  Workspace ws;
  const std::string yaml = WithStore(HeaderWithoutAuditPath(), R"(store:
  backend: postgres
  dsn: "host=db"
  pool_size: 0
  connect_timeout_seconds: 61
)");
  EXPECT_THAT(ErrorLines(Load(ws, yaml)),
              ElementsAre(At(yaml, "0\n") + ": store.pool_size: must be between 1 and 64, got 0",
                          At(yaml, "61") + ": store.connect_timeout_seconds: must be between 1 and 60, got 61"));
  const std::string high = WithStore(HeaderWithoutAuditPath(), R"(store:
  backend: postgres
  dsn: "host=db"
  pool_size: 65
  connect_timeout_seconds: 0
)");
  EXPECT_THAT(ErrorLines(Load(ws, high)),
              ElementsAre(At(high, "65") + ": store.pool_size: must be between 1 and 64, got 65",
                          At(high, "0\n") + ": store.connect_timeout_seconds: must be between 1 and 60, got 0"));
  // One connection is not enough for the audit log (the signer holds one while reads need another).
  const std::string one = WithStore(HeaderWithoutAuditPath(), R"(store:
  backend: postgres
  dsn: "host=db"
  pool_size: 1
)");
  EXPECT_THAT(ErrorLines(Load(ws, one)),
              ElementsAre(At(one, "1\n") + ": store.pool_size: must be at least 2 with 'backend: postgres' (the "
                                            "audit checkpoint signer holds one connection while audit reads need "
                                            "another), got 1"));
  auto two = Load(ws, WithStore(HeaderWithoutAuditPath(), "store: {backend: postgres, dsn: \"host=db\", pool_size: 2}\n"));
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ((*two)->store.pool_size, 2);
  auto edges = Load(ws, WithStore(HeaderWithoutAuditPath(), R"(store:
  backend: postgres
  dsn: "host=db"
  pool_size: 64
  connect_timeout_seconds: 1
)"));
  ASSERT_TRUE(edges.ok()) << edges.status();
  EXPECT_EQ((*edges)->store.pool_size, 64);
  EXPECT_EQ((*edges)->store.connect_timeout_seconds, 1);
}

TEST(ConfigStoreTest, DsnIsExpandedFromTheEnvironment) {
  Workspace ws;
  ScopedEnv password("PORTCULLIS_TEST_PG_PASSWORD", "s3cret");
  const std::string yaml = WithStore(
      HeaderWithoutAuditPath(),
      "store:\n  backend: ${PORTCULLIS_TEST_BACKEND:-postgres}\n"
      "  dsn: \"host=${PORTCULLIS_TEST_PG_HOST:-localhost} password=${PORTCULLIS_TEST_PG_PASSWORD}\"\n");
  auto config = Load(ws, yaml);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->store.backend, StoreBackend::kPostgres);
  EXPECT_EQ((*config)->store.dsn, "host=localhost password=s3cret");
  const std::string unset = WithStore(HeaderWithoutAuditPath(),
                                      "store:\n  backend: postgres\n  dsn: \"host=db password=${PORTCULLIS_TEST_UNSET_PW}\"\n");
  std::vector<std::string> lines = ErrorLines(Load(ws, unset));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr(At(unset, "\"host=db") + ": store.dsn: "));
  EXPECT_THAT(lines[0], HasSubstr("PORTCULLIS_TEST_UNSET_PW"));
}

TEST(ConfigStoreTest, AnInvalidDsnIsRefusedWithoutItsPassword) {
  Workspace ws;
  // No secret in it: libpq's own words.
  const std::string plain = WithStore(HeaderWithoutAuditPath(),
                                      "store: {backend: postgres, dsn: \"host=db colour=blue\"}\n");
  EXPECT_THAT(ErrorLines(Load(ws, plain)),
              ElementsAre(At(plain, "\"host=db") +
                          ": store.dsn: invalid PostgreSQL connection string: invalid connection option \"colour\""));
  // With a password, nothing quoted from the DSN.
  for (const std::string dsn : {"password=hunter2 hunter3", "password='hunter2' colour=hunter3",
                                "postgresql://gw:hunter2@db/portcullis?hunter3=1",
                                "postgresql://gw@db/portcullis?password=hunter2&hunter3=1"}) {
    const std::string yaml =
        WithStore(HeaderWithoutAuditPath(), "store: {backend: postgres, dsn: \"" + dsn + "\"}\n");
    std::vector<std::string> lines = ErrorLines(Load(ws, yaml));
    ASSERT_EQ(lines.size(), 1u) << dsn;
    EXPECT_THAT(lines[0], HasSubstr("store.dsn: invalid PostgreSQL connection string: ")) << dsn;
    EXPECT_THAT(lines[0], Not(HasSubstr("hunter"))) << lines[0];
  }
}

TEST(RedactDsnTest, HidesPasswordsInKeywordValueForm) {
  EXPECT_EQ(RedactDsn("host=db port=5432 user=gw dbname=portcullis"), "host=db port=5432 user=gw dbname=portcullis");
  EXPECT_EQ(RedactDsn("host=db password=hunter2 user=gw"), "host=db password=*** user=gw");
  EXPECT_EQ(RedactDsn("password = 'hunter 2\\' x' host=db"), "password=*** host=db");
  EXPECT_EQ(RedactDsn("sslpassword=hunter2 password=x\\ y"), "sslpassword=*** password=***");
  EXPECT_EQ(RedactDsn("  host=db\tpassword=hunter2"), "  host=db\tpassword=***");
  // Where it stops parsing, the rest is hidden.
  EXPECT_EQ(RedactDsn("host=db password='hunter2"), "host=db password=...");
  EXPECT_EQ(RedactDsn("host=db hunter2"), "host=db ...");
  EXPECT_EQ(RedactDsn(""), "");
}

TEST(RedactDsnTest, HidesPasswordsInUris) {
  EXPECT_EQ(RedactDsn("postgresql://gw@db:5432/portcullis"), "postgresql://gw@db:5432/portcullis");
  EXPECT_EQ(RedactDsn("postgresql://gw:hunter2@db:5432/portcullis"), "postgresql://gw:***@db:5432/portcullis");
  EXPECT_EQ(RedactDsn("postgres://gw:hun@ter/2@db/portcullis"), "postgres://gw:***@db/portcullis");
  EXPECT_EQ(RedactDsn("postgresql://db/portcullis?user=gw&password=hunter2&sslmode=require"),
            "postgresql://db/portcullis?user=gw&password=***&sslmode=require");
  EXPECT_EQ(RedactDsn("postgresql://db?sslpassword=hunter2"), "postgresql://db?sslpassword=***");
}


// cluster: the replica's id (or audit.replica_id's older spelling), the lease
// and the polling net (docs/cluster.md).
TEST(ConfigClusterTest, ReplicaIdLeaseAndPollAreRead) {
  Workspace ws;
  auto config = Load(ws, WithStore(HeaderWithoutAuditPath(), R"(store: {backend: postgres, dsn: "dbname=p"}
cluster: {replica_id: gw-london-2, lease_ms: 8000, poll_ms: 250}
)"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->cluster.replica_id, "gw-london-2");
  EXPECT_FALSE((*config)->cluster.replica_id_generated);
  EXPECT_EQ((*config)->cluster.lease_ms, 8000);
  EXPECT_EQ((*config)->cluster.poll_ms, 250);
}

TEST(ConfigClusterTest, DefaultsAndTheOlderAuditSpelling) {
  Workspace ws;
  auto sqlite = Load(ws, std::string(kHeader) + kParties);
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  EXPECT_EQ((*sqlite)->cluster.replica_id, "");  // One gateway on SQLite: none.
  EXPECT_EQ((*sqlite)->cluster.lease_ms, 5000);
  EXPECT_EQ((*sqlite)->cluster.poll_ms, 1000);
  std::string header = kHeader;
  header.replace(header.find("path: state/audit.log}"), 22, "path: state/audit.log, replica_id: gw-old}");
  auto old = Load(ws, header + kParties);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ((*old)->cluster.replica_id, "gw-old");
  auto same = Load(ws, header + "cluster: {replica_id: gw-old}\n" + kParties);
  ASSERT_TRUE(same.ok()) << same.status();
  auto empty = Load(ws, std::string(kHeader) + "cluster: {replica_id: \"\"}\n" + kParties);  // ${VAR:-} unset: none.
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ((*empty)->cluster.replica_id, "");
  const std::string differ = header + "cluster: {replica_id: gw-new}\n" + kParties;
  EXPECT_THAT(ErrorLines(Load(ws, differ)),
              ElementsAre(HasSubstr("cluster.replica_id: differs from audit.replica_id ('gw-old')")));
}

TEST(ConfigClusterTest, PostgresWithoutAnIdMakesOneUpDistinctPerLoad) {
  Workspace ws;
  const std::string yaml = WithStore(HeaderWithoutAuditPath(), "store: {backend: postgres, dsn: \"dbname=p\"}\n");
  auto a = Load(ws, yaml);
  auto b = Load(ws, yaml);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE((*a)->cluster.replica_id.empty());
  EXPECT_LE((*a)->cluster.replica_id.size(), 64u);
  EXPECT_NE((*a)->cluster.replica_id, (*b)->cluster.replica_id);
  EXPECT_TRUE((*a)->cluster.replica_id_generated);
}

TEST(ConfigClusterTest, BadValuesNameTheFieldAndTheRule) {
  Workspace ws;
  const std::string bad = WithStore(kHeader, "cluster: {replica_id: \"gw 1\", lease_ms: 10, poll_ms: 99999999}\n");
  EXPECT_THAT(ErrorLines(Load(ws, bad)),
              ElementsAre(HasSubstr("cluster.replica_id: must be 1 to 64 characters"), HasSubstr("cluster.lease_ms"),
                          HasSubstr("cluster.poll_ms")));
  EXPECT_THAT(ErrorLines(Load(ws, WithStore(kHeader, "cluster: {leader: me}\n"))),
              ElementsAre(HasSubstr("cluster.leader")));
}

}  // namespace
}  // namespace portcullis::config_test
