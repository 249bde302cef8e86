// The throw-away PostgreSQL cluster the storage tests start (tests/support/pg_cluster.h):
// a real server, reached with libpq; stopped, restarted, removed.
#include "tests/support/pg_cluster.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "libpq-fe.h"
#include "tests/support/poll.h"
#include "tests/support/ports.h"

namespace portcullis::testing {
namespace {

// The first column of the first row of `sql` on `dsn`, or nullopt (with the
// reason in *error) if it cannot connect or the statement fails.
std::optional<std::string> QueryOne(const std::string& dsn, const std::string& sql, std::string* error = nullptr) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  std::optional<std::string> value;
  std::string why;
  if (PQstatus(conn) != CONNECTION_OK) {
    why = PQerrorMessage(conn);
  } else {
    PGresult* result = PQexec(conn, sql.c_str());
    ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_TUPLES_OK && PQntuples(result) > 0) {
      value = PQgetvalue(result, 0, 0);
    } else if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      value = "";
    } else {
      why = PQresultErrorMessage(result);
    }
    PQclear(result);
  }
  PQfinish(conn);
  if (error != nullptr) *error = why;
  return value;
}

TEST(PgCluster, StartsConnectsCreatesStopsRestartsAndRemovesItsDir) {
  auto started_at = std::chrono::steady_clock::now();
  auto pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_at);
  std::cout << "PgCluster::Start took " << took.count() << " ms\n";
  ::testing::Test::RecordProperty("start_ms", static_cast<int>(took.count()));
  PgCluster& cluster = **pg;
  const std::string dir = cluster.dir();
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/data"));
  EXPECT_NE(cluster.port(), 5432);
  EXPECT_EQ(cluster.dsn("x"), "host=127.0.0.1 port=" + std::to_string(cluster.port()) + " user=portcullis dbname=x");

  std::string error;
  EXPECT_EQ(QueryOne(cluster.dsn(), "SELECT 1", &error), "1") << error;

  auto db = cluster.CreateDatabase("outbox_test");
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(*db, cluster.dsn("outbox_test"));
  ASSERT_TRUE(QueryOne(*db, "CREATE TABLE kept(v TEXT); INSERT INTO kept VALUES ('receipt-1')", &error)) << error;
  // Creating it twice is an error that says what failed.
  auto again = cluster.CreateDatabase("outbox_test");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("already exists"), std::string::npos) << again.status();

  // A crash: the server goes away and connections are refused.
  ASSERT_TRUE(cluster.Stop().ok());
  EXPECT_FALSE(cluster.running());
  EXPECT_EQ(QueryOne(*db, "SELECT 1", &error), std::nullopt);
  EXPECT_NE(error.find("connect"), std::string::npos) << error;

  // Back on the same port with the same data (recovered from the crash).
  const int port = cluster.port();
  absl::Status restarted = cluster.Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_EQ(cluster.port(), port);
  EXPECT_EQ(QueryOne(*db, "SELECT v FROM kept", &error), "receipt-1") << error;
  EXPECT_FALSE(cluster.Restart().ok()) << "already running";

  pg->reset();
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
  // And the server is gone with it.
  EXPECT_EQ(QueryOne("host=127.0.0.1 port=" + std::to_string(port) + " user=portcullis dbname=postgres", "SELECT 1"),
            std::nullopt);
}

TEST(PgCluster, RunsDurablyOnLoopbackWithItsSocketInItsDir) {
  auto pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  const std::string dsn = (*pg)->dsn();
  EXPECT_EQ(QueryOne(dsn, "SHOW fsync"), "on");
  EXPECT_EQ(QueryOne(dsn, "SHOW synchronous_commit"), "on");
  EXPECT_EQ(QueryOne(dsn, "SHOW recovery_init_sync_method"), "syncfs");
  EXPECT_EQ(QueryOne(dsn, "SHOW listen_addresses"), "127.0.0.1");
  EXPECT_EQ(QueryOne(dsn, "SHOW unix_socket_directories"), (*pg)->dir());
  EXPECT_EQ(QueryOne(dsn, "SHOW port"), std::to_string((*pg)->port()));
  EXPECT_EQ(QueryOne(dsn, "SELECT current_user"), "portcullis");
  EXPECT_EQ(QueryOne(dsn, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"), "t");
  // The unix socket works too (what a DSN with host=<dir> would use).
  std::string error;
  EXPECT_EQ(QueryOne("host=" + (*pg)->dir() + " port=" + std::to_string((*pg)->port()) + " user=portcullis dbname=postgres",
                     "SELECT 2", &error),
            "2")
      << error;
}

TEST(PgCluster, TakesExtraSettingsAndADurableInit) {
  PgClusterOptions options;
  options.durable_init = true;
  options.settings = {"max_connections=20", "application_name=pg cluster test"};
  auto pg = PgCluster::Start(options);
  ASSERT_TRUE(pg.ok()) << pg.status();
  EXPECT_EQ(QueryOne((*pg)->dsn(), "SHOW max_connections"), "20");
  EXPECT_EQ(QueryOne((*pg)->dsn(), "SHOW application_name"), "pg cluster test");
}

TEST(PgCluster, TwoAtOnceHaveTheirOwnPortsAndDirs) {
  auto a = PgCluster::Start();
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = PgCluster::Start();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE((*a)->port(), (*b)->port());
  EXPECT_NE((*a)->dir(), (*b)->dir());
  ASSERT_TRUE((*a)->CreateDatabase("only_in_a").ok());
  EXPECT_EQ(QueryOne((*a)->dsn(), "SELECT count(*) FROM pg_database WHERE datname = 'only_in_a'"), "1");
  EXPECT_EQ(QueryOne((*b)->dsn(), "SELECT count(*) FROM pg_database WHERE datname = 'only_in_a'"), "0");
}

TEST(PgCluster, CleanStopKeepsDataAcrossRestart) {
  auto pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  std::string error;
  ASSERT_TRUE(QueryOne((*pg)->dsn(), "CREATE TABLE t(v INT); INSERT INTO t VALUES (7)", &error)) << error;
  absl::Status stopped = (*pg)->Stop(/*immediate=*/false);
  ASSERT_TRUE(stopped.ok()) << stopped;
  EXPECT_FALSE((*pg)->Stop().ok()) << "not running";
  ASSERT_TRUE((*pg)->Restart().ok());
  EXPECT_EQ(QueryOne((*pg)->dsn(), "SELECT v FROM t", &error), "7") << error;
}

TEST(PgCluster, TriesAnotherPortWhenItsPortIsTaken) {
  SilentListener taken;  // listens on 127.0.0.1:<port>
  ASSERT_NE(taken.port(), 0);
  PgClusterOptions options;
  options.first_port = taken.port();
  auto pg = PgCluster::Start(options);
  ASSERT_TRUE(pg.ok()) << pg.status();
  EXPECT_NE((*pg)->port(), taken.port());
  EXPECT_EQ(QueryOne((*pg)->dsn(), "SELECT 1"), "1");
  // The server log shows the first attempt met the taken port.
  std::ifstream log((*pg)->log_path());
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("could not bind"), std::string::npos) << text;
}

// A test process that dies without its destructor (SIGKILL, a CTest timeout)
// leaves no server and no folder behind.
TEST(PgCluster, AWatchdogCleansUpAfterAKilledTestProcess) {
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(out[0]);
    auto pg = PgCluster::Start();
    std::string line = pg.ok() ? (*pg)->dir() + " " + std::to_string((*pg)->port()) + "\n" : "failed\n";
    ssize_t written = ::write(out[1], line.data(), line.size());
    (void)written;
    for (;;) ::pause();  // until killed
  }
  ::close(out[1]);
  std::string line;
  char c;
  while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
  ::close(out[0]);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  const size_t space = line.find(' ');
  ASSERT_NE(space, std::string::npos) << "the child could not start PostgreSQL: " << line;
  const std::string dir = line.substr(0, space);
  const std::string dsn = "host=127.0.0.1 port=" + line.substr(space + 1) + " user=portcullis dbname=postgres";
  EXPECT_TRUE(WaitUntil([&] { return !std::filesystem::exists(dir); }, std::chrono::seconds(30))) << dir;
  EXPECT_TRUE(WaitUntil([&] { return !QueryOne(dsn, "SELECT 1").has_value(); }, std::chrono::seconds(30))) << dsn;
}

TEST(PgCluster, MissingBinariesAreALoudError) {
  PgClusterOptions options;
  options.bin_dir = "/nonexistent/postgresql/bin";
  auto pg = PgCluster::Start(options);
  ASSERT_FALSE(pg.ok());
  EXPECT_NE(pg.status().message().find("/nonexistent/postgresql/bin/initdb"), std::string::npos) << pg.status();
}

TEST(RunCommand, GivesOutputAndExitCode) {
  auto ran = RunCommand({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(ran.ok()) << ran.status();
  EXPECT_EQ(ran->exit_code, 3);
  EXPECT_EQ(ran->output, "out\nerr\n");
  auto in_dir = RunCommand({"/bin/pwd"}, "/tmp");
  ASSERT_TRUE(in_dir.ok()) << in_dir.status();
  EXPECT_EQ(in_dir->output, "/tmp\n");
  auto missing = RunCommand({"/nonexistent/binary"});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->exit_code, 127);
}

}  // namespace
}  // namespace portcullis::testing
