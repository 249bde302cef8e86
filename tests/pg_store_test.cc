// SqliteMessageStore on real files: Reserve outcomes (also after a restart),
// durability of commits and recipient updates, group commit under 16
// concurrent committers, pairing with the audit log, a SIGKILL crash test, and
// refusal of files it must not open. The scheduler's queries and dead letters:
// sqlite_store_delivery_test.cc; ListCase and the schema's versions:
// sqlite_store_case_test.cc.
#include "gateway/store/pg_message_store.h"

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
#include "tests/support/pg_store_backend.h"
#include "tests/support/store_fixtures.h"

namespace portcullis::testing {
namespace {

namespace fs = std::filesystem;

TEST(PgStore, EveryReserveOutcome) {
  const std::string path = PgStoreKey("reserve") + "/outbox.db";
  auto store = OpenPgOrDie(path);
  ASSERT_NE(store, nullptr);
  const v1::Envelope e = MakeEnvelope("uk/nca", "m-1");
  const std::string sha = ShaOf(e);

  EXPECT_EQ(store->Reserve("uk/nca", "m-1", sha).outcome, ReserveOutcome::kNew);
  EXPECT_EQ(store->Reserve("uk/nca", "m-1", sha).outcome, ReserveOutcome::kInProgress);
  EXPECT_EQ(store->Reserve("uk/nca", "m-1", "other").outcome, ReserveOutcome::kInProgress);
  store->Abandon("uk/nca", "m-1");
  EXPECT_EQ(store->Reserve("uk/nca", "m-1", sha).outcome, ReserveOutcome::kNew);
  const v1::Receipt receipt = MakeReceipt(e);
  ASSERT_TRUE(store->Commit(e, receipt).ok());
  // Stored but its acceptance not yet audited: still being recorded.
  EXPECT_EQ(store->Reserve("uk/nca", "m-1", sha).outcome, ReserveOutcome::kInProgress);
  ASSERT_TRUE(store->MarkAudited("uk/nca", "m-1", receipt.audit_index()).ok());

  ReserveResult dup = store->Reserve("uk/nca", "m-1", sha);
  EXPECT_EQ(dup.outcome, ReserveOutcome::kDuplicate);
  EXPECT_EQ(dup.receipt.SerializeAsString(), receipt.SerializeAsString());
  ReserveResult conflict = store->Reserve("uk/nca", "m-1", ShaOf(MakeEnvelope("uk/nca", "m-1", {"eu/europol"})));
  EXPECT_EQ(conflict.outcome, ReserveOutcome::kConflict);
  // The same id from another sender is another key.
  EXPECT_EQ(store->Reserve("fr/police", "m-1", sha).outcome, ReserveOutcome::kNew);

  // A second Commit, or one without a reservation, is refused and writes nothing.
  EXPECT_EQ(store->Commit(e, receipt).status().code(), absl::StatusCode::kFailedPrecondition);
  const v1::Envelope unreserved = MakeEnvelope("uk/nca", "m-2");
  EXPECT_EQ(store->Commit(unreserved, MakeReceipt(unreserved)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->Get("uk/nca", "m-2").status().code(), absl::StatusCode::kNotFound);
  // Abandon after a commit changes nothing.
  store->Abandon("uk/nca", "m-1");
  EXPECT_EQ(store->Reserve("uk/nca", "m-1", sha).outcome, ReserveOutcome::kDuplicate);
  EXPECT_EQ(store->commits(), 1u);
}

TEST(PgStore, ReserveOutcomesSurviveReopen) {
  const std::string path = PgStoreKey("reserve-reopen") + "/outbox.db";
  const v1::Envelope e = MakeEnvelope("uk/nca", "m-1");
  const v1::Receipt receipt = MakeReceipt(e, 41);
  {
    auto store = OpenPgOrDie(path);
    ASSERT_NE(store, nullptr);
    ASSERT_EQ(store->Reserve("uk/nca", "m-1", ShaOf(e)).outcome, ReserveOutcome::kNew);
    ASSERT_TRUE(store->Commit(e, receipt).ok());
    ASSERT_TRUE(store->MarkAudited("uk/nca", "m-1", receipt.audit_index()).ok());
    // Reserved but never committed: a reservation does not outlive the process.
    ASSERT_EQ(store->Reserve("uk/nca", "m-pending", "abc").outcome, ReserveOutcome::kNew);
  }
  auto store = OpenPgOrDie(path);
  ASSERT_NE(store, nullptr);
  ReserveResult dup = store->Reserve("uk/nca", "m-1", ShaOf(e));
  EXPECT_EQ(dup.outcome, ReserveOutcome::kDuplicate);
  EXPECT_EQ(dup.receipt.SerializeAsString(), receipt.SerializeAsString());  // Byte-identical original.
  ReserveResult conflict = store->Reserve("uk/nca", "m-1", std::string(64, 'f'));
  EXPECT_EQ(conflict.outcome, ReserveOutcome::kConflict);
  EXPECT_EQ(conflict.receipt.SerializeAsString(), receipt.SerializeAsString());
  EXPECT_EQ(store->Reserve("uk/nca", "m-pending", "abc").outcome, ReserveOutcome::kNew);
}

TEST(PgStore, CommitReopenGetReturnsWhatWasStored) {
  const std::string path = PgStoreKey("get") + "/outbox.db";
  v1::Envelope e = MakeEnvelope("uk/nca", "m-1", {"eu/europol", "nl/politie", "de/bka"});
  v1::Attachment* a = e.add_attachments();  // Binary content with NULs: a blob, not text.
  a->set_file_name("statement.pdf");
  a->set_media_type("application/pdf");
  a->set_content(std::string("%PDF\0\x01\xff\0tail", 13));
  a->set_sha256(Sha256Hex(a->content()));
  const v1::Receipt receipt = MakeReceipt(e);
  int64_t committed_at = 0;
  {
    auto store = OpenPgOrDie(path);
    ASSERT_NE(store, nullptr);
    ASSERT_EQ(store->Reserve(e.sender(), e.message_id(), ShaOf(e)).outcome, ReserveOutcome::kNew);
    auto record = store->Commit(e, receipt);
    ASSERT_TRUE(record.ok()) << record.status();
    ASSERT_EQ((*record)->recipients.size(), 3u);
    committed_at = (*record)->recipients[0].updated_micros;
    EXPECT_GT(committed_at, 0);
  }
  auto store = OpenPgOrDie(path);
  ASSERT_NE(store, nullptr);
  auto got = store->Get("uk/nca", "m-1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)->envelope.SerializeAsString(), e.SerializeAsString());
  EXPECT_EQ((*got)->receipt.SerializeAsString(), receipt.SerializeAsString());
  ASSERT_EQ((*got)->recipients.size(), 3u);
  const std::vector<std::string> order = {"eu/europol", "nl/politie", "de/bka"};
  for (size_t i = 0; i < order.size(); ++i) {
    const RecipientRecord& r = (*got)->recipients[i];
    EXPECT_EQ(r.party, order[i]);  // Envelope order.
    EXPECT_EQ(r.state, v1::ACCEPTED);
    EXPECT_EQ(r.attempts, 0u);
    EXPECT_EQ(r.updated_micros, committed_at);
  }

  auto missing = store->Get("uk/nca", "nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(RefusalOf(missing.status()).reason(), "MESSAGE_NOT_FOUND");
  // Delivery ids follow the dispatcher's rule.
  EXPECT_EQ(DeliveryIdFor("uk/nca", "m-1", "eu/europol"),
            Sha256Hex("uk/nca\nm-1\neu/europol").substr(0, 32));
}

TEST(PgStore, UpdateRecipientIsDurableAndRefusesLikeTheInMemoryStore) {
  const std::string path = PgStoreKey("update") + "/outbox.db";
  const v1::Envelope e = MakeEnvelope("uk/nca", "m-1");
  {
    auto store = OpenPgOrDie(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(Accept(*store, e).ok());
    auto delivered = store->UpdateRecipient("uk/nca", "m-1", "eu/europol", [](RecipientRecord& r) {
      EXPECT_EQ(r.state, v1::ACCEPTED);
      r.state = v1::DELIVERED;
      r.attempts = 2;
      r.party = "someone/else";  // Ignored: the row's key stays.
      return absl::OkStatus();
    });
    ASSERT_TRUE(delivered.ok()) << delivered.status();
    EXPECT_EQ(delivered->party, "eu/europol");
    EXPECT_EQ(delivered->state, v1::DELIVERED);
    auto acked = store->UpdateRecipient("uk/nca", "m-1", "eu/europol", [](RecipientRecord& r) {
      EXPECT_EQ(r.state, v1::DELIVERED);  // Sees the previous update.
      r.state = v1::ACKNOWLEDGED;
      r.officer = "insp-3";
      return absl::OkStatus();
    });
    ASSERT_TRUE(acked.ok());

    // Refusals.
    auto not_found = store->UpdateRecipient("uk/nca", "nope", "eu/europol", [](RecipientRecord&) {
      ADD_FAILURE() << "update ran for a missing message";
      return absl::OkStatus();
    });
    EXPECT_EQ(not_found.status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(RefusalOf(not_found.status()).reason(), "MESSAGE_NOT_FOUND");
    auto stranger = store->UpdateRecipient("uk/nca", "m-1", "fr/police", [](RecipientRecord&) {
      ADD_FAILURE() << "update ran for a non-recipient";
      return absl::OkStatus();
    });
    EXPECT_EQ(stranger.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(RefusalOf(stranger.status()).reason(), "NOT_A_RECIPIENT");
    // An update that refuses is not kept, and its error comes back as is.
    auto refused = store->UpdateRecipient("uk/nca", "m-1", "nl/politie", [](RecipientRecord& r) {
      r.state = v1::FAILED;
      return Refuse(absl::StatusCode::kFailedPrecondition, "ALREADY_FINAL", "", "no");
    });
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(RefusalOf(refused.status()).reason(), "ALREADY_FINAL");
    // A callback that writes to the store gets an error instead of a deadlock.
    auto reentrant = store->UpdateRecipient("uk/nca", "m-1", "nl/politie", [&](RecipientRecord&) {
      return store->MarkAudited("uk/nca", "m-1", 1);
    });
    EXPECT_EQ(reentrant.status().code(), absl::StatusCode::kFailedPrecondition);
  }
  auto store = OpenPgOrDie(path);
  ASSERT_NE(store, nullptr);
  auto got = store->Get("uk/nca", "m-1");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ((*got)->recipients.size(), 2u);
  EXPECT_EQ((*got)->recipients[0].state, v1::ACKNOWLEDGED);
  EXPECT_EQ((*got)->recipients[0].attempts, 2u);
  EXPECT_EQ((*got)->recipients[0].officer, "insp-3");
  EXPECT_EQ((*got)->recipients[1].state, v1::ACCEPTED);  // The refused update left no trace.
}

TEST(PgStore, SixteenConcurrentCommittersShareFsyncs) {
  const std::string path = PgStoreKey("group") + "/outbox.db";
  constexpr int kThreads = 16;
  constexpr int kPerThread = 125;  // 2,000 messages.
  double seconds = 0;
  {
    auto store = OpenPgOrDie(path);
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
  auto store = OpenPgOrDie(path);
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

TEST(PgStore, MarkAuditedAndUnaudited) {
  const std::string path = PgStoreKey("audited") + "/outbox.db";
  {
    auto store = OpenPgOrDie(path);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/nca", absl::StrCat("m-", i)), 1000 + i).ok());
    }
    auto all = store->Unaudited();
    ASSERT_TRUE(all.ok()) << all.status();
    ASSERT_EQ(all->size(), 3u);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ((*all)[i].sender, "uk/nca");
      EXPECT_EQ((*all)[i].message_id, absl::StrCat("m-", i));  // Commit order.
      EXPECT_EQ((*all)[i].audit_size_at_commit, uint64_t(1000 + i));
      EXPECT_EQ((*all)[i].accepted_micros, int64_t{1767225601123456});
    }
    EXPECT_TRUE(store->MarkAudited("uk/nca", "m-1", 55).ok());
    EXPECT_TRUE(store->MarkAudited("uk/nca", "m-1", 55).ok());  // Same pairing again: fine.
    EXPECT_EQ(store->MarkAudited("uk/nca", "m-1", 56).code(), absl::StatusCode::kFailedPrecondition);
    absl::Status missing = store->MarkAudited("uk/nca", "nope", 1);
    EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(RefusalOf(missing).reason(), "MESSAGE_NOT_FOUND");
  }
  auto store = OpenPgOrDie(path);
  ASSERT_NE(store, nullptr);
  auto left = store->Unaudited();
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].message_id, "m-0");
  EXPECT_EQ((*left)[1].message_id, "m-2");
  EXPECT_EQ(store->MarkAudited("uk/nca", "m-1", 56).code(), absl::StatusCode::kFailedPrecondition);
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
  const std::string path = PgStoreKey("crash") + "/outbox.db";
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

    auto store = OpenPgOrDie(path);
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

TEST(PgStore, GarbageFileIsRefusedByName) {
  const std::string path = PgStoreKey("garbage") + "/outbox.db";
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

TEST(PgStore, NewerSchemaVersionIsRefused) {
  const std::string path = PgStoreKey("version") + "/outbox.db";
  {
    auto store = OpenPgOrDie(path);
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
  auto reopened = OpenPgOrDie(path);
  ASSERT_NE(reopened, nullptr);
  EXPECT_TRUE(reopened->Get("uk/nca", "m-1").ok());
}

TEST(PgStore, MissingDirectoryIsNamed) {
  const std::string path = PgStoreKey("nodir") + "/no/such/dir/outbox.db";
  auto store = SqliteMessageStore::Open(SqliteStoreOptions{path});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status();
}
}  // namespace
}  // namespace portcullis::testing
