// A real, throw-away PostgreSQL 15 cluster for tests (issue 14): initdb into a
// fresh temp dir, the server on a free loopback port (never 5432), its socket
// in that dir, removed afterwards. A test that cannot start it fails loudly:
//   auto pg = PgCluster::Start(); ASSERT_TRUE(pg.ok()) << pg.status();
// Debian's binaries (/usr/lib/postgresql/15/bin); as root, every server
// command runs as user `postgres` (runuser), which owns the temp dir.
#ifndef PORTCULLIS_TESTS_SUPPORT_PG_CLUSTER_H_
#define PORTCULLIS_TESTS_SUPPORT_PG_CLUSTER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace portcullis::testing {

struct PgClusterOptions {
  // initdb syncs its files to disk. Off (--no-sync) is faster; the server
  // itself always runs with fsync=on and synchronous_commit=on, so a crash of
  // the server (Stop(true)) keeps every committed transaction either way. On
  // for tests that must survive a machine crash, not only a server crash.
  bool durable_init = false;
  // Extra server settings, `name=value` each (passed as -c).
  std::vector<std::string> settings;
  // The binaries; "" means $PORTCULLIS_PG_BIN or /usr/lib/postgresql/15/bin.
  std::string bin_dir;
  // The port of the first start attempt (0: a free one). A taken port makes
  // Start try free ones (tests of that retry use it).
  int first_port = 0;
};

// The output and exit status of a command run without a shell.
struct CommandResult {
  int exit_code = -1;  // -1 if it did not exit normally (signal, exec failure)
  std::string output;  // stdout and stderr, interleaved
};
// Runs argv[0] (a path) with its arguments, in `cwd` if not empty.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& cwd = "");

class PgCluster {
 public:
  static absl::StatusOr<std::unique_ptr<PgCluster>> Start(PgClusterOptions options = {});
  // pg_ctl stop -m immediate (if running), removes the temp dir. If the test
  // process dies without it (a crash, SIGKILL, a CTest timeout), a watchdog
  // process does the same when the process is gone.
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // host=127.0.0.1 port=N user=portcullis dbname=<database> (trust: no password)
  std::string dsn(const std::string& database = "postgres") const;
  // CREATE DATABASE <name>; returns its dsn.
  absl::StatusOr<std::string> CreateDatabase(const std::string& name);
  // The server goes away: `immediate` is a crash (no checkpoint, recovery on
  // the next start), otherwise a clean (fast) shutdown.
  absl::Status Stop(bool immediate = true);
  // Starts again on the same port and data (an error if already running).
  absl::Status Restart();

  int port() const { return port_; }
  bool running() const { return running_; }
  const std::string& dir() const { return dir_; }  // the temp dir (data in dir()/data)
  std::string log_path() const { return dir_ + "/server.log"; }

 private:
  explicit PgCluster(PgClusterOptions options) : options_(std::move(options)) {}
  // pg_ctl start on port_, waiting until it accepts connections.
  absl::Status StartServer();
  // argv with the binary dir prepended to argv[0], run as postgres when root.
  absl::StatusOr<CommandResult> RunPg(std::vector<std::string> argv) const;
  std::string Bin(const std::string& name) const;

  PgClusterOptions options_;
  std::string dir_;
  // Starts the watchdog: a shell in its own session that waits for EOF on a
  // pipe whose write end only this process holds, then stops the server and
  // removes dir_.
  absl::Status StartWatchdog();

  int port_ = 0;
  bool running_ = false;
  int watchdog_fd_ = -1;      // the pipe's write end
  pid_t watchdog_pid_ = -1;
};

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_PG_CLUSTER_H_
