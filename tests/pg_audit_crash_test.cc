// Crash test of PgAuditLog, as audit_crash_test.cc's of the file log: a
// child process appends from several threads (checkpoints every 40 records,
// a witness) and reports each acknowledged index through a pipe; it is
// killed with SIGKILL under load, again and again. After every kill the log
// opens (Open's checks pass), every acknowledged record is at its index, and
// the export verifies with the witness.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "tests/pg_audit_test_support.h"
#include "tests/support/poll.h"

namespace portcullis::testing {
namespace {

// The child: appends until killed; writes "<index> <message id>\n" per
// acknowledged record (one write(2) each, shorter than PIPE_BUF: atomic).
[[noreturn]] void AppendUntilKilled(const std::string& dsn, const std::string& witness_dir, int round, int fd) {
  pg::Pool pool(dsn, 4, 5);
  pg::GroupWriter::Options wo;
  wo.dsn = dsn;
  auto writer = pg::GroupWriter::Start(wo);
  if (!writer.ok()) _exit(3);
  PgAuditLogOptions o = SignedOptions(witness_dir, 40);
  o.writer = writer->get();
  o.pool = &pool;
  auto log = PgAuditLog::Open(o);
  if (!log.ok()) {
    std::fprintf(stderr, "child: %s\n", log.status().ToString().c_str());
    _exit(4);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int seq = 0;; ++seq) {
        AuditRecord r = PgSample(seq);
        r.message_id = "CRASH-" + std::to_string(round) + "-" + std::to_string(t) + "-" + std::to_string(seq);
        auto index = (*log)->AppendAndWait(r);
        if (!index.ok()) continue;
        const std::string line = std::to_string(*index) + " " + r.message_id + "\n";
        if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
      }
    });
  }
  for (auto& t : threads) t.join();
  _exit(0);
}

TEST(PgAuditCrash, EveryAcknowledgedRecordSurvivesKillNineAndTheLogVerifies) {
  auto pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << "PostgreSQL could not be started: " << pg.status();
  const std::string dsn = FreshDatabase(**pg, "audit");
  {
    auto conn = pg::Connection::Open(dsn);
    ASSERT_TRUE(conn.ok()) << conn.status();
    ASSERT_TRUE(pg::PrepareSchema(**conn).ok());
  }
  const std::string dir = MakeTempDir("pg-audit-crash");
  const std::string witness_dir = dir + "/witness";
  std::filesystem::create_directories(witness_dir);
  constexpr int kRounds = 6;
  std::mt19937 rng(20261207);
  std::map<uint64_t, std::string> acked;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::fflush(nullptr);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      AppendUntilKilled(dsn, witness_dir, round, fds[1]);
    }
    ::close(fds[1]);
    // Read acknowledgements until this round has some, then a random number more, then kill.
    std::string pending;
    size_t round_acks = 0;
    const size_t kill_after = 50 + std::uniform_int_distribution<size_t>(0, 400)(rng);
    auto take = [&](const char* data, ssize_t n) {
      pending.append(data, static_cast<size_t>(n));
      for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
        const std::string line = pending.substr(0, nl);
        const size_t sp = line.find(' ');
        EXPECT_TRUE(acked.emplace(std::stoull(line.substr(0, sp)), line.substr(sp + 1)).second)
            << "index acknowledged twice: " << line;
        ++round_acks;
      }
    };
    char buf[4096];
    while (round_acks < kill_after) {
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;  // The child died by itself: the wait below says how.
      take(buf, n);
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the child ended by itself: " << status;
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) take(buf, n);
    ::close(fds[0]);
    EXPECT_GE(round_acks, kill_after);

    // The crashed database opens; everything acknowledged is there; the export verifies.
    PgGateway g = OpenGateway(dsn, SignedOptions(witness_dir));
    ASSERT_TRUE(g.log) << "the log refused to open after a crash: " << g.open_status;
    ASSERT_TRUE(g.log->CheckpointNow().ok());
    Exported e = Export(*g.log, dir + "/export-" + std::to_string(round));
    const auto lines = LinesOf(e.log);
    uint64_t lost = 0;
    for (const auto& [index, id] : acked) {
      if (index >= lines.size() || lines[index].find("\"message_id\":\"" + id + "\"") == std::string::npos) {
        ++lost;
        ADD_FAILURE() << "acknowledged record " << id << " (index " << index << ") is gone";
      }
    }
    ASSERT_EQ(lost, 0u);
    g.log.reset();  // The witness gets the final copy.
    VerifyReport report = VerifyExport(e, {witness_dir + "/checkpoints.log"});
    ASSERT_FALSE(report.problem.has_value()) << report.problem->message;
    EXPECT_EQ(report.signed_size, report.records);
  }
  std::printf("[ crash ] rounds %d, kills %d, acknowledged %zu, lost 0\n", kRounds, kRounds, acked.size());
}

}  // namespace
}  // namespace portcullis::testing
