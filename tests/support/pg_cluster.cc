#include "tests/support/pg_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libpq-fe.h"
#include "tests/support/poll.h"

namespace portcullis::testing {
namespace {

constexpr int kStartAttempts = 5;
constexpr char kDefaultBinDir[] = "/usr/lib/postgresql/15/bin";

std::string Errno(const std::string& what) { return absl::StrCat(what, ": ", std::strerror(errno)); }

// A loopback port nobody listens on now (bind to 0, read it, close), never 5432.
absl::StatusOr<int> FreeLoopbackPort() {
  for (int tries = 0; tries < 10; ++tries) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::InternalError(Errno("socket"));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::string error = Errno("bind 127.0.0.1:0");
      ::close(fd);
      return absl::InternalError(error);
    }
    ::close(fd);
    int port = ntohs(addr.sin_port);
    if (port != 5432) return port;
  }
  return absl::InternalError("no free loopback port other than 5432");
}

std::string Tail(const std::string& path, size_t max_bytes = 4000) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  return text;
}

std::string Quoted(const std::string& value) {  // a libpq conninfo / postgresql.conf value
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

bool IsRoot() { return ::geteuid() == 0; }

std::string RunuserPath() {
  for (const char* path : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "runuser";
}

// One libpq connection attempt; "" when it worked, libpq's message otherwise.
std::string TryConnect(const std::string& dsn, const char* sql = "SELECT 1") {
  PGconn* conn = PQconnectdb(dsn.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else if (sql != nullptr) {
    PGresult* result = PQexec(conn, sql);
    if (PQresultStatus(result) != PGRES_TUPLES_OK && PQresultStatus(result) != PGRES_COMMAND_OK) {
      error = PQresultErrorMessage(result);
    }
    PQclear(result);
  }
  PQfinish(conn);
  return error;
}

}  // namespace

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& cwd) {
  if (argv.empty()) return absl::InvalidArgumentError("RunCommand: no command");
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return absl::InternalError(Errno("pipe2"));
  const long max_fd = ::sysconf(_SC_OPEN_MAX) > 0 ? ::sysconf(_SC_OPEN_MAX) : 1024;
  pid_t pid = ::fork();
  if (pid < 0) {
    std::string error = Errno("fork");
    ::close(out[0]);
    ::close(out[1]);
    return absl::InternalError(error);
  }
  if (pid == 0) {  // the child: only async-signal-safe calls from here
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    for (long fd = 3; fd < max_fd && fd < 65536; ++fd) ::close(static_cast<int>(fd));
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execv(args[0], args.data());
    static const char kFailed[] = "exec failed\n";
    ssize_t ignored = ::write(2, kFailed, sizeof(kFailed) - 1);
    (void)ignored;
    ::_exit(127);
  }
  ::close(out[1]);
  CommandResult result;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(out[0], buffer, sizeof(buffer));
    if (n > 0) {
      result.output.append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::InternalError(Errno("waitpid " + argv[0]));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string PgCluster::Bin(const std::string& name) const {
  std::string dir = options_.bin_dir;
  if (dir.empty()) {
    const char* env = std::getenv("PORTCULLIS_PG_BIN");
    dir = env != nullptr && *env != '\0' ? env : kDefaultBinDir;
  }
  return dir + "/" + name;
}

absl::StatusOr<CommandResult> PgCluster::RunPg(std::vector<std::string> argv) const {
  argv[0] = Bin(argv[0]);
  if (IsRoot()) argv.insert(argv.begin(), {RunuserPath(), "-u", "postgres", "--"});
  return RunCommand(argv, dir_);
}

absl::StatusOr<std::unique_ptr<PgCluster>> PgCluster::Start(PgClusterOptions options) {
  std::unique_ptr<PgCluster> cluster(new PgCluster(std::move(options)));
  if (::access(cluster->Bin("initdb").c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("PostgreSQL is not installed: no ", cluster->Bin("initdb"),
                                                      " (apt-get install postgresql; scripts/setup.sh does)"));
  }
  // /tmp, not the build tree: the socket path must stay short, and user
  // postgres must be able to reach the directory.
  char pattern[] = "/tmp/portcullis-pg-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) return absl::InternalError(Errno("mkdtemp /tmp/portcullis-pg-XXXXXX"));
  cluster->dir_ = pattern;  // from here on the destructor removes it
  if (IsRoot()) {
    struct passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) return absl::FailedPreconditionError("no user postgres (the Debian postgresql package creates it)");
    if (::chown(cluster->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError(Errno("chown postgres " + cluster->dir_));
    }
  }
  if (absl::Status watchdog = cluster->StartWatchdog(); !watchdog.ok()) return watchdog;
  std::vector<std::string> initdb = {"initdb", "-D", cluster->dir_ + "/data", "-A", "trust", "-U", "portcullis",
                                     "-E", "UTF8", "--locale=C"};
  if (!cluster->options_.durable_init) initdb.push_back("--no-sync");
  absl::StatusOr<CommandResult> ran = cluster->RunPg(initdb);
  if (!ran.ok()) return ran.status();
  if (ran->exit_code != 0) {
    return absl::InternalError(absl::StrCat("initdb failed (exit ", ran->exit_code, ", ", absl::StrJoin(initdb, " "),
                                            "):\n", ran->output));
  }
  // The settings every start uses (the port is given per start).
  {
    std::ofstream conf(cluster->dir_ + "/data/postgresql.conf", std::ios::app);
    conf << "\n# tests/support/pg_cluster.cc\n"
         << "listen_addresses = '127.0.0.1'\n"
         << "unix_socket_directories = " << Quoted(cluster->dir_) << "\n"
         << "fsync = on\nsynchronous_commit = on\n"
         // After a crash (Stop(true)) the server syncs the data dir before recovery: one syncfs
         // instead of an fsync per file (4 s -> 0.4 s on a loaded machine), as durable.
         << "recovery_init_sync_method = syncfs\n";
    for (const std::string& setting : cluster->options_.settings) {
      size_t eq = setting.find('=');
      if (eq == std::string::npos) return absl::InvalidArgumentError("PgClusterOptions.settings: not name=value: " + setting);
      conf << setting.substr(0, eq) << " = " << Quoted(setting.substr(eq + 1)) << "\n";
    }
    if (!conf.flush()) return absl::InternalError("cannot append to " + cluster->dir_ + "/data/postgresql.conf");
  }
  std::string failures;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    absl::StatusOr<int> port = FreeLoopbackPort();
    if (!port.ok()) return port.status();
    cluster->port_ = attempt == 0 && cluster->options_.first_port != 0 ? cluster->options_.first_port : *port;
    absl::Status started = cluster->StartServer();
    if (started.ok()) return cluster;
    // Another process took the port between bind(0) and the server's bind: try another.
    if (!absl::IsAborted(started)) return started;
    absl::StrAppend(&failures, "\n", started.message());
  }
  return absl::InternalError(absl::StrCat("PostgreSQL did not start on a free port in ", kStartAttempts,
                                          " attempts:", failures));
}

absl::Status PgCluster::StartServer() {
  if (running_) return absl::FailedPreconditionError("PostgreSQL is already running on port " + std::to_string(port_));
  std::vector<std::string> argv = {"pg_ctl", "-D", dir_ + "/data", "-l", log_path(), "-w", "-t", "60",
                                   "-o", absl::StrCat("-p ", port_), "start"};
  // What the log said before this start: a port collision is judged on what follows.
  size_t log_before = Tail(log_path(), SIZE_MAX).size();
  absl::StatusOr<CommandResult> ran = RunPg(argv);
  if (!ran.ok()) return ran.status();
  if (ran->exit_code != 0) {
    std::string log = Tail(log_path(), SIZE_MAX);
    log = log.size() > log_before ? log.substr(log_before) : log;
    // A server that failed to come up in time may still be starting: make sure it is gone.
    (void)RunPg({"pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "-w", "stop"});
    std::string message = absl::StrCat("pg_ctl start on 127.0.0.1:", port_, " failed (exit ", ran->exit_code,
                                       "):\n", ran->output, "\nserver log ", log_path(), ":\n", log);
    if (log.find("could not bind") != std::string::npos || log.find("already in use") != std::string::npos) {
      return absl::AbortedError(message);
    }
    return absl::InternalError(message);
  }
  running_ = true;
  // pg_ctl -w waits for the server; a real connection confirms it answers on TCP.
  std::string last_error;
  bool up = WaitUntil([&] { return (last_error = TryConnect(dsn())).empty(); }, std::chrono::seconds(30),
                      std::chrono::milliseconds(20));
  if (!up) {
    return absl::InternalError(absl::StrCat("PostgreSQL started on port ", port_, " but refuses connections: ",
                                            last_error, "\nserver log:\n", Tail(log_path())));
  }
  return absl::OkStatus();
}

absl::Status PgCluster::StartWatchdog() {
  std::vector<std::string> argv = {"/bin/sh", "-c",
                                   "dir=$1; shift; read -r _ <&3; \"$@\" >/dev/null 2>&1; rm -rf -- \"$dir\"",
                                   "pg-cluster-watchdog", dir_, Bin("pg_ctl"), "-D", dir_ + "/data", "-m",
                                   "immediate", "-w", "stop"};
  if (IsRoot()) argv.insert(argv.begin() + 5, {RunuserPath(), "-u", "postgres", "--"});
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError(Errno("pipe2"));
  const long max_fd = ::sysconf(_SC_OPEN_MAX) > 0 ? ::sysconf(_SC_OPEN_MAX) : 1024;
  pid_t pid = ::fork();
  if (pid < 0) {
    std::string error = Errno("fork");
    ::close(fds[0]);
    ::close(fds[1]);
    return absl::InternalError(error);
  }
  if (pid == 0) {  // async-signal-safe calls only
    ::setsid();    // out of the test's process group: a group kill leaves it to clean up
    int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      ::dup2(null_fd, 0);
      ::dup2(null_fd, 1);
      ::dup2(null_fd, 2);
    }
    if (fds[0] == 3) {
      ::fcntl(3, F_SETFD, 0);  // keep it across exec
    } else {
      ::dup2(fds[0], 3);
    }
    for (long fd = 4; fd < max_fd && fd < 65536; ++fd) ::close(static_cast<int>(fd));
    if (::chdir("/") != 0) ::_exit(126);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[0]);
  watchdog_fd_ = fds[1];
  watchdog_pid_ = pid;
  return absl::OkStatus();
}

PgCluster::~PgCluster() {
  if (running_) {
    absl::Status stopped = Stop(true);
    if (!stopped.ok()) std::cerr << "PgCluster: " << stopped << "\n";
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (ec) std::cerr << "PgCluster: cannot remove " << dir_ << ": " << ec.message() << "\n";
  }
  if (watchdog_fd_ >= 0) ::close(watchdog_fd_);  // the watchdog finds nothing left to do, and exits
  if (watchdog_pid_ > 0) {
    while (::waitpid(watchdog_pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

std::string PgCluster::dsn(const std::string& database) const {
  bool plain = !database.empty() && database.find_first_of(" '\\=") == std::string::npos;
  return absl::StrCat("host=127.0.0.1 port=", port_, " user=portcullis dbname=", plain ? database : Quoted(database));
}

absl::StatusOr<std::string> PgCluster::CreateDatabase(const std::string& name) {
  PGconn* conn = PQconnectdb(dsn().c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string error = PQerrorMessage(conn);
    PQfinish(conn);
    return absl::UnavailableError(absl::StrCat("CreateDatabase ", name, ": cannot connect: ", error));
  }
  char* identifier = PQescapeIdentifier(conn, name.c_str(), name.size());
  if (identifier == nullptr) {
    std::string error = PQerrorMessage(conn);
    PQfinish(conn);
    return absl::InvalidArgumentError(absl::StrCat("CreateDatabase ", name, ": ", error));
  }
  std::string sql = absl::StrCat("CREATE DATABASE ", identifier);
  PQfreemem(identifier);
  PGresult* result = PQexec(conn, sql.c_str());
  std::string error = PQresultStatus(result) == PGRES_COMMAND_OK ? "" : PQresultErrorMessage(result);
  PQclear(result);
  PQfinish(conn);
  if (!error.empty()) return absl::InternalError(absl::StrCat(sql, ": ", error));
  return dsn(name);
}

absl::Status PgCluster::Stop(bool immediate) {
  if (!running_) return absl::FailedPreconditionError("PostgreSQL is not running");
  std::vector<std::string> argv = {"pg_ctl", "-D", dir_ + "/data", "-m", immediate ? "immediate" : "fast", "-w",
                                   "-t", "60", "stop"};
  absl::StatusOr<CommandResult> ran = RunPg(argv);
  if (!ran.ok()) return ran.status();
  if (ran->exit_code != 0) {
    return absl::InternalError(absl::StrCat("pg_ctl stop failed (exit ", ran->exit_code, "):\n", ran->output,
                                            "\nserver log:\n", Tail(log_path())));
  }
  running_ = false;
  return absl::OkStatus();
}

absl::Status PgCluster::Restart() { return StartServer(); }

}  // namespace portcullis::testing
