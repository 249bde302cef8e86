// SqliteMessageStore only (what every backend does is in the conformance
// suites, tests/store_*_test.cc): its blocking Commit, group commit under 16
// concurrent committers, a write from an update callback, a SIGKILL crash
// test, and refusal of files it must not open. ListCase's in-memory pairings
// and the schema's versions: sqlite_store_case_test.cc.
#include "gateway/store/sqlite_message_store.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_split.h"
#include "gateway/common/digest.h"
#include "gateway/common/refusal.h"
#include "tests/support/store_fixtures.h"

namespace portcullis::testing {
namespace {

namespace fs = std::filesystem;

// A callback that writes to the store gets an error instead of a deadlock
// (the writer thread would wait for itself).
TEST(SqliteStore, AnUpdateCallbackThatWritesGetsAnErrorNotADeadlock) {
  auto store = OpenOrDie(StoreTempDir("reentrant") + "/outbox.db");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/nca", "m-1")).ok());
  auto reentrant = store->UpdateRecipient("uk/nca", "m-1", "nl/politie", [&](RecipientRecord&) {
    return store->MarkAudited("uk/nca", "m-1", 1);
  });
  EXPECT_EQ(reentrant.status().code(), absl::StatusCode::kFailedPrecondition);
  auto got = store->Get("uk/nca", "m-1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->recipients[1].state, v1::ACCEPTED);
}

// The blocking Commit (tests, tools): one commit counted; a second Commit, or
// one without a reservation, refused.
TEST(SqliteStore, BlockingCommitCountsAndRefusesWithoutAReservation) {
  auto store = OpenOrDie(StoreTempDir("blocking-commit") + "/outbox.db");
  ASSERT_NE(store, nullptr);
  const v1::Envelope e = MakeEnvelope("uk/nca", "m-1");
  ASSERT_EQ(store->Reserve("uk/nca", "m-1", ShaOf(e)).outcome, ReserveOutcome::kNew);
  ASSERT_TRUE(store->Commit(e, MakeReceipt(e)).ok());
  EXPECT_EQ(store->Commit(e, MakeReceipt(e)).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->commits(), 1u);
}

TEST(SqliteStore, SixteenConcurrentCommittersShareFsyncs) {
  const std::string path = StoreTempDir("group") + "/outbox.db";
  constexpr int kThreads = 16;
  constexpr int kPerThread = 125;  // 2,000 messages.
  double seconds = 0;
  {
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    std::atomic<int> failures{0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const v1::Envelope e = MakeEnvelope("uk/nca", absl::StrCat("t", t, "-", i));
          absl::Status s = AcceptAudited(*store, e);
          // Reads run alongside the writer (more threads than read connections).
          if (s.ok()) s = store->Get(e.sender(), e.message_id()).status();
          if (!s.ok()) {
            ++failures;
            ADD_FAILURE() << s;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(store->commits(), uint64_t{kThreads * kPerThread});
    EXPECT_LT(store->commit_batches(), store->commits());
    std::printf("[ sqlite   ] %d committers: %llu commits in %.3f s = %.0f commits/s; %llu transactions "
                "(%.1f commits per fsync)\n",
                kThreads, static_cast<unsigned long long>(store->commits()), seconds,
                static_cast<double>(store->commits()) / seconds,
                static_cast<unsigned long long>(store->commit_batches()),
                static_cast<double>(store->commits()) / static_cast<double>(store->commit_batches()));
  }
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      ASSERT_TRUE(store->Get("uk/nca", absl::StrCat("t", t, "-", i)).ok()) << t << "-" << i;
    }
  }
  // Every delivery row, exactly once, in strictly increasing seq.
  std::set<std::string> ids;
  int64_t after = 0;
  for (;;) {
    auto page = store->PendingDeliveries("eu/europol", after, 500);
    ASSERT_TRUE(page.ok()) << page.status();
    if (page->empty()) break;
    for (const auto& d : *page) {
      EXPECT_GT(d.seq, after);
      after = d.seq;
      ids.insert(d.message_id);
    }
  }
  EXPECT_EQ(ids.size(), size_t{kThreads * kPerThread});
}

// The child: commits in a loop from 4 threads and writes each id to the pipe
// only after Commit returned. Runs until killed.
[[noreturn]] void CommitUntilKilled(const std::string& path, int round, int out_fd) {
  auto store = SqliteMessageStore::Open(SqliteStoreOptions{path});
  if (!store.ok()) {
    std::fprintf(stderr, "child: %s\n", store.status().ToString().c_str());
    ::_exit(2);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      for (int i = 0; std::chrono::steady_clock::now() < give_up; ++i) {
        const v1::Envelope e = MakeEnvelope("uk/nca", absl::StrCat("r", round, "-t", t, "-", i));
        absl::Status s = Accept(**store, e);
        if (!s.ok()) {
          std::fprintf(stderr, "child: %s\n", s.ToString().c_str());
          ::_exit(3);
        }
        const std::string line = e.message_id() + "\n";  // Shorter than PIPE_BUF: one atomic write.
        if (::write(out_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(4);
      }
    });
  }
  for (auto& th : threads) th.join();
  ::_exit(0);
}

TEST(SqliteStoreCrash, EveryAcknowledgedCommitSurvivesSigkill) {
  const std::string path = StoreTempDir("crash") + "/outbox.db";
  std::mt19937 rng(std::random_device{}());
  // Counted from the child's first acknowledged commit, so that every round
  // kills it mid-stream however slow its start (sanitizer builds).
  std::uniform_int_distribution<int> kill_after_ms(0, 300);
  size_t total = 0;
  for (int round = 0; round < 5; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      CommitUntilKilled(path, round, fds[1]);
    }
    ::close(fds[1]);
    std::string out;
    char buf[4096];
    const auto kill_after = std::chrono::milliseconds(kill_after_ms(rng));
    auto kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(60);  // Until the first commit.
    bool started = false;
    for (;;) {  // Keep the pipe drained so the child never blocks on it.
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(kill_at - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) > 0) {
        ssize_t n = ::read(fds[0], buf, sizeof(buf));
        if (n <= 0) break;  // The child died on its own: its status says why.
        out.append(buf, static_cast<size_t>(n));
        if (!started && out.find('\n') != std::string::npos) {
          started = true;
          kill_at = std::chrono::steady_clock::now() + kill_after;
        }
      }
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the child exited early, status " << status;
    EXPECT_TRUE(started) << "round " << round << ": no commit within 60 s";
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);

    std::vector<std::string> ids;
    for (absl::string_view line : absl::StrSplit(out, '\n')) {
      if (!line.empty()) ids.emplace_back(line);
    }
    if (!out.empty() && out.back() != '\n') ids.pop_back();  // Cannot happen (atomic writes), but never trust a torn line.

    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    for (const std::string& id : ids) {
      auto got = store->Get("uk/nca", id);
      ASSERT_TRUE(got.ok()) << "round " << round << ": acknowledged " << id << " is missing: " << got.status();
      EXPECT_EQ((*got)->recipients.size(), 2u);
    }
    std::printf("[ sqlite   ] crash round %d: killed %lld ms after the first commit; %zu acknowledged commits, all "
                "present\n",
                round, static_cast<long long>(kill_after.count()), ids.size());
    total += ids.size();
  }
  EXPECT_GE(total, 5u);  // At least the first commit of every round.
}

void Overwrite(const std::string& path, long offset, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.is_open());
  f.seekp(offset);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good());
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(SqliteStore, GarbageFileIsRefusedByName) {
  const std::string path = StoreTempDir("garbage") + "/outbox.db";
  std::string garbage(8192, '\0');
  std::mt19937 rng(42);
  for (char& c : garbage) c = static_cast<char>(rng());
  {
    std::ofstream(path, std::ios::binary) << garbage;
  }
  auto store = SqliteMessageStore::Open(SqliteStoreOptions{path});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status();
  EXPECT_NE(store.status().message().find("not a database"), std::string::npos) << store.status();
  EXPECT_EQ(ReadAll(path), garbage);  // Refused without changing it.
}

TEST(SqliteStore, NewerSchemaVersionIsRefused) {
  const std::string path = StoreTempDir("version") + "/outbox.db";
  {
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/nca", "m-1")).ok());
  }
  // Closing the last connection checkpointed the WAL into the file and removed
  // it, so the header is the whole truth: user_version is bytes 60-63, big-endian.
  ASSERT_FALSE(fs::exists(path + "-wal"));
  static_assert(SqliteMessageStore::kSchemaVersion == 3, "this test writes the version after the current one");
  Overwrite(path, 60, std::string("\0\0\0\4", 4));
  auto store = SqliteMessageStore::Open(SqliteStoreOptions{path});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status();
  EXPECT_NE(store.status().message().find("schema version 4"), std::string::npos) << store.status();

  // Version 0 with tables in it: some other database, also refused.
  Overwrite(path, 60, std::string("\0\0\0\0", 4));
  store = SqliteMessageStore::Open(SqliteStoreOptions{path});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("something else"), std::string::npos) << store.status();

  // Back to the current version: opens, data intact.
  Overwrite(path, 60, std::string("\0\0\0\3", 4));
  auto reopened = OpenOrDie(path);
  ASSERT_NE(reopened, nullptr);
  EXPECT_TRUE(reopened->Get("uk/nca", "m-1").ok());
}

TEST(SqliteStore, MissingDirectoryIsNamed) {
  const std::string path = StoreTempDir("nodir") + "/no/such/dir/outbox.db";
  auto store = SqliteMessageStore::Open(SqliteStoreOptions{path});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status();
}
}  // namespace
}  // namespace portcullis::testing
