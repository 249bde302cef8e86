// SqliteMessageStore on real files: Reserve outcomes (also after a restart),
// durability of commits and recipient updates, group commit under 16
// concurrent committers, the scheduler's queries, a SIGKILL crash test, and
// refusal of files it must not open.
#include "gateway/store/sqlite_message_store.h"

#include "gateway/audit/audit_record.h"

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
#include <future>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gateway/audit/audit_record.h"
#include "gateway/common/digest.h"
#include "gateway/common/refusal.h"

namespace portcullis {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the build tree (like MakeTempDir in
// tests/support/harness.h, without linking the whole gateway).
std::string TempDir(const std::string& name) {
  std::string dir = std::string(PORTCULLIS_BINARY_DIR) + "/test-tmp/sqlite-store-" + name + "-" +
                    std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::unique_ptr<SqliteMessageStore> OpenOrDie(const std::string& path, int64_t max_age_micros = 0) {
  SqliteStoreOptions options;
  options.path = path;
  options.delivery_max_age_micros = max_age_micros;
  auto store = SqliteMessageStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

v1::Envelope MakeEnvelope(const std::string& sender, const std::string& id,
                          std::vector<std::string> recipients = {"eu/europol", "nl/politie"},
                          const std::string& payload = "payload") {
  v1::Envelope e;
  e.set_sender(sender);
  e.set_message_id(id);
  e.set_case_reference("BF-2026-004512");
  e.set_originating_officer("officer-7");
  for (auto& r : recipients) e.add_recipients(r);
  e.mutable_created_at()->set_seconds(1767225600);
  e.set_correlation_id(payload);  // Varies the content (and so the digest) in tests.
  return e;
}

std::string ShaOf(const v1::Envelope& e) { return Sha256Hex(DeterministicBytes(e)); }

v1::Receipt MakeReceipt(const v1::Envelope& e, uint64_t audit_index = 7) {
  v1::Receipt r;
  r.set_message_id(e.message_id());
  r.set_sender(e.sender());
  r.mutable_accepted_at()->set_seconds(1767225601);
  r.mutable_accepted_at()->set_nanos(123456000);
  r.set_envelope_sha256(ShaOf(e));
  r.set_audit_index(audit_index);
  *r.mutable_recipients() = e.recipients();
  return r;
}

// Reserve + Commit, as Submit does.
absl::Status Accept(SqliteMessageStore& store, const v1::Envelope& e, uint64_t audit_size = 0) {
  ReserveResult r = store.Reserve(e.sender(), e.message_id(), ShaOf(e));
  if (r.outcome != ReserveOutcome::kNew) return absl::AlreadyExistsError("not new");
  return store.CommitWithAuditSize(e, MakeReceipt(e), audit_size).status();
}

// Accept, then pair with its audit record: a deliverable message.
absl::Status AcceptAudited(SqliteMessageStore& store, const v1::Envelope& e) {
  static std::atomic<uint64_t> next_index{1};
  PORTCULLIS_RETURN_IF_ERROR(Accept(store, e));
  return store.MarkAudited(e.sender(), e.message_id(), next_index++);
}

TEST(SqliteStore, EveryReserveOutcome) {
  const std::string path = TempDir("reserve") + "/outbox.db";
  auto store = OpenOrDie(path);
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

TEST(SqliteStore, ReserveOutcomesSurviveReopen) {
  const std::string path = TempDir("reserve-reopen") + "/outbox.db";
  const v1::Envelope e = MakeEnvelope("uk/nca", "m-1");
  const v1::Receipt receipt = MakeReceipt(e, 41);
  {
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    ASSERT_EQ(store->Reserve("uk/nca", "m-1", ShaOf(e)).outcome, ReserveOutcome::kNew);
    ASSERT_TRUE(store->Commit(e, receipt).ok());
    ASSERT_TRUE(store->MarkAudited("uk/nca", "m-1", receipt.audit_index()).ok());
    // Reserved but never committed: a reservation does not outlive the process.
    ASSERT_EQ(store->Reserve("uk/nca", "m-pending", "abc").outcome, ReserveOutcome::kNew);
  }
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ReserveResult dup = store->Reserve("uk/nca", "m-1", ShaOf(e));
  EXPECT_EQ(dup.outcome, ReserveOutcome::kDuplicate);
  EXPECT_EQ(dup.receipt.SerializeAsString(), receipt.SerializeAsString());  // Byte-identical original.
  ReserveResult conflict = store->Reserve("uk/nca", "m-1", std::string(64, 'f'));
  EXPECT_EQ(conflict.outcome, ReserveOutcome::kConflict);
  EXPECT_EQ(conflict.receipt.SerializeAsString(), receipt.SerializeAsString());
  EXPECT_EQ(store->Reserve("uk/nca", "m-pending", "abc").outcome, ReserveOutcome::kNew);
}

TEST(SqliteStore, CommitReopenGetReturnsWhatWasStored) {
  const std::string path = TempDir("get") + "/outbox.db";
  v1::Envelope e = MakeEnvelope("uk/nca", "m-1", {"eu/europol", "nl/politie", "de/bka"});
  v1::Attachment* a = e.add_attachments();  // Binary content with NULs: a blob, not text.
  a->set_file_name("statement.pdf");
  a->set_media_type("application/pdf");
  a->set_content(std::string("%PDF\0\x01\xff\0tail", 13));
  a->set_sha256(Sha256Hex(a->content()));
  const v1::Receipt receipt = MakeReceipt(e);
  int64_t committed_at = 0;
  {
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    ASSERT_EQ(store->Reserve(e.sender(), e.message_id(), ShaOf(e)).outcome, ReserveOutcome::kNew);
    auto record = store->Commit(e, receipt);
    ASSERT_TRUE(record.ok()) << record.status();
    ASSERT_EQ((*record)->recipients.size(), 3u);
    committed_at = (*record)->recipients[0].updated_micros;
    EXPECT_GT(committed_at, 0);
  }
  auto store = OpenOrDie(path);
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

TEST(SqliteStore, UpdateRecipientIsDurableAndRefusesLikeTheInMemoryStore) {
  const std::string path = TempDir("update") + "/outbox.db";
  const v1::Envelope e = MakeEnvelope("uk/nca", "m-1");
  {
    auto store = OpenOrDie(path);
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
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  auto got = store->Get("uk/nca", "m-1");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ((*got)->recipients.size(), 2u);
  EXPECT_EQ((*got)->recipients[0].state, v1::ACKNOWLEDGED);
  EXPECT_EQ((*got)->recipients[0].attempts, 2u);
  EXPECT_EQ((*got)->recipients[0].officer, "insp-3");
  EXPECT_EQ((*got)->recipients[1].state, v1::ACCEPTED);  // The refused update left no trace.
}

TEST(SqliteStore, SixteenConcurrentCommittersShareFsyncs) {
  const std::string path = TempDir("group") + "/outbox.db";
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

TEST(SqliteStore, PendingDeliveriesInSeqOrderWithPaging) {
  const std::string path = TempDir("pending") + "/outbox.db";
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  // m-0..m-9 to europol; the even ones also to politie.
  for (int i = 0; i < 10; ++i) {
    std::vector<std::string> to = {"eu/europol"};
    if (i % 2 == 0) to.push_back("nl/politie");
    ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", absl::StrCat("m-", i), to)).ok());
  }
  ASSERT_TRUE(store
                  ->UpdateRecipient("uk/nca", "m-3", "eu/europol",
                                    [](RecipientRecord& r) {
                                      r.state = v1::DELIVERED;
                                      return absl::OkStatus();
                                    })
                  .ok());

  std::vector<std::string> seen;
  int64_t after = 0;
  int pages = 0;
  for (;;) {
    auto page = store->PendingDeliveries("eu/europol", after, 3);
    ASSERT_TRUE(page.ok()) << page.status();
    if (page->empty()) break;
    ++pages;
    EXPECT_LE(page->size(), 3u);
    for (const DeliveryRow& d : *page) {
      EXPECT_GT(d.seq, after);
      after = d.seq;
      EXPECT_EQ(d.recipient, "eu/europol");
      EXPECT_EQ(d.sender, "uk/nca");
      EXPECT_EQ(d.state, v1::ACCEPTED);
      EXPECT_EQ(d.case_reference, "BF-2026-004512");
      EXPECT_EQ(d.delivery_id, DeliveryIdFor("uk/nca", d.message_id, "eu/europol"));
      EXPECT_GT(d.updated_micros, 0);
      EXPECT_EQ(d.next_attempt_micros, d.updated_micros);  // Due at once.
      seen.push_back(d.message_id);
    }
  }
  EXPECT_EQ(pages, 3);  // 9 rows: 3 + 3 + 3.
  EXPECT_EQ(seen, (std::vector<std::string>{"m-0", "m-1", "m-2", "m-4", "m-5", "m-6", "m-7", "m-8", "m-9"}));

  auto politie = store->PendingDeliveries("nl/politie", 0, 100);
  ASSERT_TRUE(politie.ok());
  ASSERT_EQ(politie->size(), 5u);
  EXPECT_EQ((*politie)[4].message_id, "m-8");
  EXPECT_TRUE(store->PendingDeliveries("nl/politie", 0, 0)->empty());
  EXPECT_TRUE(store->PendingDeliveries("nobody", 0, 10)->empty());
}

TEST(SqliteStore, MarkAuditedAndUnaudited) {
  const std::string path = TempDir("audited") + "/outbox.db";
  {
    auto store = OpenOrDie(path);
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
  auto store = OpenOrDie(path);
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
  const std::string path = TempDir("crash") + "/outbox.db";
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
  const std::string path = TempDir("garbage") + "/outbox.db";
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
  const std::string path = TempDir("version") + "/outbox.db";
  {
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/nca", "m-1")).ok());
  }
  // Closing the last connection checkpointed the WAL into the file and removed
  // it, so the header is the whole truth: user_version is bytes 60-63, big-endian.
  ASSERT_FALSE(fs::exists(path + "-wal"));
  static_assert(SqliteMessageStore::kSchemaVersion == 2, "this test writes the version after the current one");
  Overwrite(path, 60, std::string("\0\0\0\3", 4));
  auto store = SqliteMessageStore::Open(SqliteStoreOptions{path});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status();
  EXPECT_NE(store.status().message().find("schema version 3"), std::string::npos) << store.status();

  // Version 0 with tables in it: some other database, also refused.
  Overwrite(path, 60, std::string("\0\0\0\0", 4));
  store = SqliteMessageStore::Open(SqliteStoreOptions{path});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("something else"), std::string::npos) << store.status();

  // Back to the current version: opens, data intact.
  Overwrite(path, 60, std::string("\0\0\0\2", 4));
  auto reopened = OpenOrDie(path);
  ASSERT_NE(reopened, nullptr);
  EXPECT_TRUE(reopened->Get("uk/nca", "m-1").ok());
}

TEST(SqliteStore, PendingDeliveriesStopBeforeAMessageNotYetAudited) {
  auto store = OpenOrDie(TempDir("pending-unaudited") + "/outbox.db");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", "m-1")).ok());
  ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/nca", "m-2")).ok());  // Stored, its audit record not yet written.
  ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", "m-3")).ok());
  auto page = store->PendingDeliveries("eu/europol", 0, 10);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 1u) << "a pager must not pass m-2 (it would never come back for it)";
  EXPECT_EQ((*page)[0].message_id, "m-1");
  ASSERT_TRUE(store->MarkAudited("uk/nca", "m-2", 99).ok());
  page = store->PendingDeliveries("eu/europol", (*page)[0].seq, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[1].message_id, "m-3");
}

TEST(SqliteStore, ConfirmPulledSettlesThroughOneDeliveryAndCountsTheBacklog) {
  auto store = OpenOrDie(TempDir("confirm") + "/outbox.db");
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", absl::StrCat("m-", i), {"eu/europol", "uk/bsc"})).ok());
  }
  auto before = store->BacklogCounts();
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ((*before)["eu/europol"].messages, 5u);
  EXPECT_EQ((*before)["uk/bsc"].messages, 5u);
  const uint64_t one = (*before)["eu/europol"].bytes / 5;
  EXPECT_GT(one, 0u);

  auto pending = store->PendingDeliveries("eu/europol", 0, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 5u);
  // Nothing was read for sending yet: nothing can be confirmed.
  auto early = store->ConfirmPulled("eu/europol", DeliveryIdFor("uk/nca", "m-2", "eu/europol"));
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_TRUE(early->changed.empty());
  // m-0 .. m-3 were read for sending; the party confirms through m-2.
  store->RecordPulled("eu/europol", (*pending)[3].seq);
  auto confirmed = store->ConfirmPulled("eu/europol", DeliveryIdFor("uk/nca", "m-2", "eu/europol"));
  ASSERT_TRUE(confirmed.ok()) << confirmed.status();
  EXPECT_EQ(confirmed->through_seq, (*pending)[2].seq);
  ASSERT_EQ(confirmed->changed.size(), 3u);  // m-0, m-1, m-2.
  EXPECT_EQ(confirmed->changed[2].row.message_id, "m-2");
  EXPECT_EQ(confirmed->changed[2].row.state, v1::DELIVERED);
  EXPECT_EQ(confirmed->changed[0].envelope_bytes, one);
  // Durable, and only Europol's.
  auto m0 = store->Get("uk/nca", "m-0");
  ASSERT_TRUE(m0.ok());
  EXPECT_EQ((*m0)->recipients[0].state, v1::DELIVERED);
  EXPECT_EQ((*m0)->recipients[1].state, v1::ACCEPTED);
  auto after = store->BacklogCounts();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)["eu/europol"].messages, 2u);  // m-3, m-4.
  EXPECT_EQ((*after)["uk/bsc"].messages, 5u);

  // Again: nothing new. Someone else's delivery, or none: NOT_FOUND.
  EXPECT_TRUE(store->ConfirmPulled("eu/europol", DeliveryIdFor("uk/nca", "m-1", "eu/europol"))->changed.empty());
  // An id beyond what was read for sending (e.g. a stale id of a re-sequenced
  // delivery) confirms no further than what was read: m-3, not m-4.
  auto capped = store->ConfirmPulled("eu/europol", DeliveryIdFor("uk/nca", "m-4", "eu/europol"));
  ASSERT_TRUE(capped.ok());
  ASSERT_EQ(capped->changed.size(), 1u);
  EXPECT_EQ(capped->changed[0].row.message_id, "m-3");
  EXPECT_EQ(store->ConfirmPulled("eu/europol", DeliveryIdFor("uk/nca", "m-3", "uk/bsc")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->ConfirmPulled("eu/europol", "nope").status().code(), absl::StatusCode::kNotFound);
}

TEST(SqliteStore, DeliveriesExpireAfterTheMaximumAgeWithTheirLastError) {
  // Accepted at MakeReceipt's time (2026-01-01), so long expired "now".
  auto store = OpenOrDie(TempDir("expire") + "/outbox.db", /*max_age_micros=*/3600LL * 1000000);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", absl::StrCat("m-", i), {"eu/europol"})).ok());
  }
  ASSERT_TRUE(store
                  ->UpdateRecipient("uk/nca", "m-1", "eu/europol",
                                    [](RecipientRecord& r) {
                                      r.reason = "connection refused";
                                      return absl::OkStatus();
                                    })
                  .ok());
  ASSERT_TRUE(store
                  ->UpdateRecipient("uk/nca", "m-2", "eu/europol",
                                    [](RecipientRecord& r) {
                                      r.state = v1::DELIVERED;
                                      return absl::OkStatus();
                                    })
                  .ok());
  const int64_t accepted = 1767225601123456;
  auto none = store->ExpireDue(accepted + 3600LL * 1000000 - 1, 10);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty()) << "expired before its time";
  auto expired = store->ExpireDue(NowMicros(), 1);  // Batches of one: two calls.
  ASSERT_TRUE(expired.ok()) << expired.status();
  ASSERT_EQ(expired->size(), 1u);
  auto rest = store->ExpireDue(NowMicros(), 10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u) << "the delivered one does not expire";
  EXPECT_EQ((*rest)[0].row.message_id, "m-1");
  auto m1 = store->Get("uk/nca", "m-1");
  ASSERT_TRUE(m1.ok());
  EXPECT_EQ((*m1)->recipients[0].state, v1::EXPIRED);
  EXPECT_EQ((*m1)->recipients[0].reason,
            "not delivered within the maximum age; last error: connection refused");
  EXPECT_TRUE(store->BacklogCounts()->empty());
}

TEST(SqliteStore, MissingDirectoryIsNamed) {
  const std::string path = TempDir("nodir") + "/no/such/dir/outbox.db";
  auto store = SqliteMessageStore::Open(SqliteStoreOptions{path});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status();
}

// ---------------------------------------------------------------------------
// Dead letters (operators).

// A message to eu/europol and nl/politie whose europol delivery gave up.
void MakeFailed(SqliteMessageStore& store, const std::string& id) {
  const v1::Envelope e = MakeEnvelope("uk/nca", id);
  ASSERT_TRUE(AcceptAudited(store, e).ok());
  auto failed = store.UpdateRecipient("uk/nca", id, "eu/europol", [](RecipientRecord& r) {
    r.state = v1::FAILED;
    r.attempts = 3;
    r.reason = "connection refused";
    return absl::OkStatus();
  });
  ASSERT_TRUE(failed.ok()) << failed.status();
}

TEST(SqliteStore, DeadLettersAreListedByDestinationInSeqOrder) {
  auto store = OpenOrDie(TempDir("dead-list") + "/outbox.db");
  ASSERT_NE(store, nullptr);
  MakeFailed(*store, "m-1");
  ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/nca", "m-2")).ok());  // Not a dead letter.
  MakeFailed(*store, "m-3");
  ASSERT_TRUE(store->UpdateRecipient("uk/nca", "m-3", "nl/politie", [](RecipientRecord& r) {
    r.state = v1::EXPIRED;
    return absl::OkStatus();
  }).ok());

  auto all = store->DeadLetters("", 0, 10);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].message_id, "m-1");
  EXPECT_EQ((*all)[1].message_id, "m-3");
  EXPECT_EQ((*all)[2].state, v1::EXPIRED);
  EXPECT_LT((*all)[0].seq, (*all)[1].seq);

  auto europol = store->DeadLetters("eu/europol", 0, 10);
  ASSERT_TRUE(europol.ok());
  ASSERT_EQ(europol->size(), 2u);
  EXPECT_EQ((*europol)[0].attempts, 3u);
  EXPECT_EQ((*europol)[0].reason, "connection refused");
  auto page2 = store->DeadLetters("eu/europol", (*europol)[0].seq, 1);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->size(), 1u);
  EXPECT_EQ((*page2)[0].message_id, "m-3");

  auto counts = store->CountDeliveries({v1::FAILED, v1::EXPIRED});
  ASSERT_TRUE(counts.ok()) << counts.status();
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ((*counts)[0].recipient, "eu/europol");
  EXPECT_EQ((*counts)[0].state, v1::FAILED);
  EXPECT_EQ((*counts)[0].count, 2u);
  EXPECT_EQ((*counts)[1].recipient, "nl/politie");
  EXPECT_EQ((*counts)[1].state, v1::EXPIRED);
  EXPECT_EQ((*counts)[1].count, 1u);
}

TEST(SqliteStore, RetryMakesADeadLetterDueAgainLastInLineWithAFreshAttemptBudget) {
  const std::string path = TempDir("dead-retry") + "/outbox.db";
  const std::string id = DeliveryIdFor("uk/nca", "m-1", "eu/europol");
  {
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    MakeFailed(*store, "m-1");
    auto failed = store->GetDelivery(id);
    ASSERT_TRUE(failed.ok());
    const int64_t seq_before = failed->seq;
    ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", "m-later", {"eu/europol"})).ok());
    const int64_t before = NowMicros();
    auto row = store->RetryDeadLetter(id, 60 * 1000000LL, "OPS-7");
    ASSERT_TRUE(row.ok()) << row.status();
    EXPECT_EQ(row->state, v1::ACCEPTED);
    EXPECT_EQ(row->attempts, 0u);  // A fresh budget of delivery.max_attempts; the history is in the audit log.
    EXPECT_GT(row->seq, seq_before) << "a retried delivery must come after every destination's position";
    EXPECT_EQ(row->last_error, "connection refused");
    EXPECT_EQ(row->officer, "OPS-7");
    EXPECT_EQ(row->reason, "connection refused");  // What Track shows until the next attempt.
    EXPECT_GE(row->next_attempt_micros, before);
    EXPECT_GE(row->expires_micros, before + 60 * 1000000LL);
    EXPECT_LE(row->expires_micros, NowMicros() + 60 * 1000000LL);

    // Not a dead letter any more: a second retry or a cancel is refused.
    auto again = store->RetryDeadLetter(id, 0, "OPS-7");
    EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(RefusalOf(again.status()).reason(), "NOT_A_DEAD_LETTER");
    EXPECT_EQ(store->CancelDeadLetter(id, "OPS-7", "no").status().code(), absl::StatusCode::kFailedPrecondition);
    auto unknown = store->RetryDeadLetter("0123456789abcdef0123456789abcdef", 0, "OPS-7");
    EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(RefusalOf(unknown.status()).reason(), "DELIVERY_NOT_FOUND");
  }
  // Durable, and the recipient's view (what Track shows) is the same row.
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  auto record = store->Get("uk/nca", "m-1");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ((*record)->recipients[0].state, v1::ACCEPTED);
  EXPECT_EQ((*record)->recipients[0].officer, "OPS-7");
  auto pending = store->PendingDeliveries("eu/europol", 0, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].message_id, "m-later");
  EXPECT_EQ((*pending)[1].delivery_id, id) << "the retried delivery is last in line";
  auto dead = store->DeadLetters("", 0, 10);
  ASSERT_TRUE(dead.ok());
  EXPECT_TRUE(dead->empty());
}

TEST(SqliteStore, CancelMakesADeadLetterCancelledForGood) {
  auto store = OpenOrDie(TempDir("dead-cancel") + "/outbox.db");
  ASSERT_NE(store, nullptr);
  MakeFailed(*store, "m-1");
  const std::string id = DeliveryIdFor("uk/nca", "m-1", "eu/europol");
  const std::string other = DeliveryIdFor("uk/nca", "m-1", "nl/politie");
  // ACCEPTED is not a dead letter.
  auto refused = store->CancelDeadLetter(other, "OPS-7", "no");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("ACCEPTED"), absl::string_view::npos) << refused.status();

  auto row = store->CancelDeadLetter(id, "OPS-7", "superseded by BF-REF-2");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->state, v1::CANCELLED);
  EXPECT_EQ(row->last_error, "connection refused");
  auto again = store->GetDelivery(id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->state, v1::CANCELLED);
  EXPECT_EQ(again->reason, "superseded by BF-REF-2");
  EXPECT_EQ(store->GetDelivery("nope").status().code(), absl::StatusCode::kNotFound);
  auto record = store->Get("uk/nca", "m-1");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ((*record)->recipients[0].state, v1::CANCELLED);
  EXPECT_EQ((*record)->recipients[0].reason, "superseded by BF-REF-2");
  EXPECT_EQ(store->RetryDeadLetter(id, 0, "OPS-7").status().code(), absl::StatusCode::kFailedPrecondition);
  auto pending = store->PendingDeliveries("eu/europol", 0, 10);
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
}

// ---------------------------------------------------------------------------
// ListCase and the version-2 schema.

v1::Envelope InCase(v1::Envelope e, const std::string& case_reference) {
  e.set_case_reference(case_reference);
  return e;
}

std::vector<std::string> IdsOf(const CasePage& page) {
  std::vector<std::string> out;
  for (const CaseEntry& c : page.messages) out.push_back(c.message_id);
  return out;
}

std::vector<std::string> PartiesOf(const CaseEntry& c) {
  std::vector<std::string> out;
  for (const RecipientRecord& r : c.recipients) out.push_back(r.party);
  return out;
}

TEST(SqliteStore, ListCaseShowsEachPartyItsShareOfTheCaseInCommitOrder) {
  auto store = OpenOrDie(TempDir("list-case") + "/outbox.db");
  ASSERT_NE(store, nullptr);
  const std::string kCase = "BF-2026-000777";
  ASSERT_TRUE(AcceptAudited(*store, InCase(MakeEnvelope("uk/nca", "a-1", {"eu/europol", "nl/politie"}), kCase)).ok());
  ASSERT_TRUE(AcceptAudited(*store, InCase(MakeEnvelope("uk/nca", "b-1", {"eu/europol"}), "BF-2026-OTHER")).ok());
  ASSERT_TRUE(AcceptAudited(*store, InCase(MakeEnvelope("eu/europol", "a-2", {"uk/nca"}), kCase)).ok());
  ASSERT_TRUE(AcceptAudited(*store, InCase(MakeEnvelope("uk/nca", "a-3", {"nl/politie"}), kCase)).ok());
  ASSERT_TRUE(store
                  ->UpdateRecipient("uk/nca", "a-1", "nl/politie",
                                    [](RecipientRecord& r) {
                                      r.state = v1::REJECTED;
                                      r.reason = "not our jurisdiction";
                                      r.officer = "KMAR-5";
                                      return absl::OkStatus();
                                    })
                  .ok());

  auto nca = store->ListCase(kCase, "uk/nca", 0, 10);
  ASSERT_TRUE(nca.ok()) << nca.status();
  EXPECT_FALSE(nca->more);
  ASSERT_EQ(IdsOf(*nca), (std::vector<std::string>{"a-1", "a-2", "a-3"}));
  const CaseEntry& a1 = nca->messages[0];
  EXPECT_EQ(a1.sender, "uk/nca");
  EXPECT_EQ(a1.originating_officer, "officer-7");
  EXPECT_EQ(a1.correlation_id, "payload");
  EXPECT_EQ(a1.body_type, "");  // MakeEnvelope sets no body.
  EXPECT_EQ(a1.accepted_micros, 1767225601123456);
  ASSERT_EQ(PartiesOf(a1), (std::vector<std::string>{"eu/europol", "nl/politie"}));  // The sender: all, in order.
  EXPECT_EQ(a1.recipients[0].state, v1::ACCEPTED);
  EXPECT_EQ(a1.recipients[1].state, v1::REJECTED);
  EXPECT_EQ(a1.recipients[1].reason, "not our jurisdiction");
  EXPECT_EQ(a1.recipients[1].officer, "KMAR-5");
  EXPECT_EQ(PartiesOf(nca->messages[1]), (std::vector<std::string>{"uk/nca"}));  // Received.
  EXPECT_LT(nca->messages[0].position, nca->messages[1].position);
  EXPECT_LT(nca->messages[1].position, nca->messages[2].position);
  EXPECT_EQ(nca->resume_after, nca->messages[2].position);

  auto europol = store->ListCase(kCase, "eu/europol", 0, 10);
  ASSERT_TRUE(europol.ok());
  ASSERT_EQ(IdsOf(*europol), (std::vector<std::string>{"a-1", "a-2"}));
  EXPECT_EQ(PartiesOf(europol->messages[0]), (std::vector<std::string>{"eu/europol"}));  // Its own only.
  EXPECT_EQ(PartiesOf(europol->messages[1]), (std::vector<std::string>{"uk/nca"}));

  auto politie = store->ListCase(kCase, "nl/politie", 0, 10);
  ASSERT_TRUE(politie.ok());
  ASSERT_EQ(IdsOf(*politie), (std::vector<std::string>{"a-1", "a-3"}));
  ASSERT_EQ(PartiesOf(politie->messages[0]), (std::vector<std::string>{"nl/politie"}));
  EXPECT_EQ(politie->messages[0].recipients[0].state, v1::REJECTED);

  for (const std::string& party : {std::string("fr/police"), std::string("")}) {
    auto none = store->ListCase(kCase, party, 0, 10);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->messages.empty());
    EXPECT_FALSE(none->more);
  }
  EXPECT_EQ(IdsOf(*store->ListCase("BF-2026-OTHER", "eu/europol", 0, 10)), (std::vector<std::string>{"b-1"}));
  EXPECT_TRUE(store->ListCase("BF-2026-NONE", "uk/nca", 0, 10)->messages.empty());

  // Paging: two, then the rest.
  auto first = store->ListCase(kCase, "uk/nca", 0, 2);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(IdsOf(*first), (std::vector<std::string>{"a-1", "a-2"}));
  EXPECT_TRUE(first->more);
  auto second = store->ListCase(kCase, "uk/nca", first->resume_after, 2);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(IdsOf(*second), (std::vector<std::string>{"a-3"}));
  EXPECT_FALSE(second->more);
  ASSERT_EQ(PartiesOf(second->messages[0]), (std::vector<std::string>{"nl/politie"}));
  EXPECT_EQ(second->messages[0].recipients[0].state, v1::ACCEPTED);
  EXPECT_TRUE(store->ListCase(kCase, "uk/nca", 0, 0)->messages.empty());
}

TEST(SqliteStore, ListCaseEndsAPageBeforeAMessageNotYetAudited) {
  auto store = OpenOrDie(TempDir("list-case-unaudited") + "/outbox.db");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", "m-1")).ok());
  ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/nca", "m-2")).ok());  // Stored, not yet audited.
  ASSERT_TRUE(AcceptAudited(*store, MakeEnvelope("uk/nca", "m-3")).ok());
  auto page = store->ListCase("BF-2026-004512", "eu/europol", 0, 10);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(IdsOf(*page), (std::vector<std::string>{"m-1"}));
  EXPECT_TRUE(page->more) << "a pager must come back for m-2, not skip it";
  auto stuck = store->ListCase("BF-2026-004512", "eu/europol", page->resume_after, 10);
  ASSERT_TRUE(stuck.ok());
  EXPECT_TRUE(stuck->messages.empty());
  EXPECT_TRUE(stuck->more);
  EXPECT_EQ(stuck->resume_after, page->resume_after);

  // Audited, its pairing still being written: listed (its sender holds the receipt).
  std::promise<absl::Status> paired;
  store->MarkAuditedAsync("uk/nca", "m-2", 42, [&paired](absl::Status s) { paired.set_value(s); });
  auto rest = store->ListCase("BF-2026-004512", "eu/europol", page->resume_after, 10);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(IdsOf(*rest), (std::vector<std::string>{"m-2", "m-3"}));
  EXPECT_FALSE(rest->more);
  EXPECT_TRUE(paired.get_future().get().ok());
}

// Version 1 of the schema as it was released (frozen: a fixture of an old file).
constexpr const char* kFrozenSchemaV1 = R"sql(
CREATE TABLE messages(
  sender TEXT NOT NULL, message_id TEXT NOT NULL, envelope_sha256 TEXT NOT NULL, envelope BLOB NOT NULL,
  receipt BLOB NOT NULL, accepted_micros INTEGER NOT NULL, audit_index INTEGER,
  audit_size_at_commit INTEGER NOT NULL, PRIMARY KEY(sender, message_id)) STRICT;
CREATE INDEX messages_unaudited ON messages(audit_index) WHERE audit_index IS NULL;
CREATE TABLE deliveries(
  delivery_id TEXT PRIMARY KEY NOT NULL, seq INTEGER NOT NULL UNIQUE, sender TEXT NOT NULL,
  message_id TEXT NOT NULL, recipient TEXT NOT NULL, case_reference TEXT NOT NULL, state INTEGER NOT NULL,
  attempts INTEGER NOT NULL, next_attempt_micros INTEGER NOT NULL, last_error TEXT NOT NULL,
  expires_micros INTEGER NOT NULL, updated_micros INTEGER NOT NULL, officer TEXT NOT NULL,
  reason TEXT NOT NULL) STRICT;
CREATE INDEX deliveries_by_recipient ON deliveries(recipient, state, seq);
CREATE TABLE pull_cursors(recipient TEXT PRIMARY KEY NOT NULL, acked_seq INTEGER NOT NULL) STRICT;
CREATE INDEX deliveries_by_expiry ON deliveries(state, expires_micros) WHERE expires_micros > 0;
PRAGMA application_id=1346589524;
PRAGMA user_version=1;
)sql";

// A raw connection for the test's own SQL.
struct RawDb {
  explicit RawDb(const std::string& path) { EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK); }
  ~RawDb() { sqlite3_close(db); }
  void Exec(const std::string& sql) {
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "") << sql;
    sqlite3_free(error);
  }
  // Every row's columns joined by '|', rows by '\n'.
  std::string Query(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    std::string out;
    while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const unsigned char* t = sqlite3_column_text(stmt, i);
        absl::StrAppend(&out, i ? "|" : "", t ? reinterpret_cast<const char*>(t) : "");
      }
      out.push_back('\n');
    }
    sqlite3_finalize(stmt);
    return out;
  }
  // A version-1 message row and its delivery rows, as version 1 wrote them.
  void InsertV1(const v1::Envelope& e, int64_t* seq, v1::DeliveryState state = v1::ACCEPTED) {
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "INSERT INTO messages VALUES(?1, ?2, ?3, ?4, ?5, 1767225601123456, 7, 0)", -1,
                                 &stmt, nullptr),
              SQLITE_OK);
    const std::string envelope = e.SerializeAsString();
    const std::string receipt = MakeReceipt(e).SerializeAsString();
    const std::string sha = ShaOf(e);
    sqlite3_bind_text(stmt, 1, e.sender().c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, e.message_id().c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 3, sha.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(stmt, 4, envelope.data(), static_cast<int>(envelope.size()), SQLITE_TRANSIENT);
    sqlite3_bind_blob(stmt, 5, receipt.data(), static_cast<int>(receipt.size()), SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_finalize(stmt);
    for (const std::string& r : e.recipients()) {
      Exec(absl::StrCat("INSERT INTO deliveries VALUES('", DeliveryIdFor(e.sender(), e.message_id(), r), "', ",
                        (*seq)++, ", '", e.sender(), "', '", e.message_id(), "', '", r, "', '", e.case_reference(),
                        "', ", static_cast<int>(state), ", 1, 0, '', 0, 1767225602000000, '', '')"));
    }
  }
  sqlite3* db = nullptr;
};

TEST(SqliteStore, AVersion1StoreIsMigratedToVersion2WithTheCaseIndexes) {
  const std::string path = TempDir("migrate-v1") + "/outbox.db";
  {
    RawDb v1db(path);
    v1db.Exec("PRAGMA journal_mode=WAL");
    v1db.Exec(kFrozenSchemaV1);
    int64_t seq = 1;
    v1db.InsertV1(InCase(MakeEnvelope("uk/nca", "old-1", {"eu/europol", "nl/politie"}), "BF-2026-OLD"), &seq,
                  v1::DELIVERED);
    v1db.InsertV1(InCase(MakeEnvelope("uk/nca", "old-2", {"eu/europol"}), "BF-2026-ELSE"), &seq);
    v1db.InsertV1(InCase(MakeEnvelope("eu/europol", "old-3", {"uk/nca"}), "BF-2026-OLD"), &seq);
  }
  {
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    // The old rows learnt their case: listed like new ones, with their states.
    auto nca = store->ListCase("BF-2026-OLD", "uk/nca", 0, 10);
    ASSERT_TRUE(nca.ok()) << nca.status();
    ASSERT_EQ(IdsOf(*nca), (std::vector<std::string>{"old-1", "old-3"}));
    ASSERT_EQ(PartiesOf(nca->messages[0]), (std::vector<std::string>{"eu/europol", "nl/politie"}));
    EXPECT_EQ(nca->messages[0].recipients[0].state, v1::DELIVERED);
    EXPECT_EQ(nca->messages[0].recipients[0].attempts, 1u);
    EXPECT_EQ(IdsOf(*store->ListCase("BF-2026-ELSE", "eu/europol", 0, 10)), (std::vector<std::string>{"old-2"}));
    // Get and new commits work on the migrated file; a new message follows the old ones.
    EXPECT_TRUE(store->Get("uk/nca", "old-1").ok());
    ASSERT_TRUE(AcceptAudited(*store, InCase(MakeEnvelope("uk/nca", "new-1", {"eu/europol"}), "BF-2026-OLD")).ok());
    EXPECT_EQ(IdsOf(*store->ListCase("BF-2026-OLD", "nl/politie", 0, 10)), (std::vector<std::string>{"old-1"}));
    EXPECT_EQ(IdsOf(*store->ListCase("BF-2026-OLD", "eu/europol", 0, 10)),
              (std::vector<std::string>{"old-1", "old-3", "new-1"}));
  }
  RawDb after(path);
  EXPECT_EQ(after.Query("PRAGMA user_version"), "2\n");
  EXPECT_EQ(after.Query("SELECT name FROM sqlite_schema WHERE name IN ('messages_by_case', 'deliveries_by_case') "
                        "ORDER BY name"),
            "deliveries_by_case\nmessages_by_case\n");
  EXPECT_EQ(after.Query("SELECT message_id, case_reference FROM messages ORDER BY rowid"),
            "old-1|BF-2026-OLD\nold-2|BF-2026-ELSE\nold-3|BF-2026-OLD\nnew-1|BF-2026-OLD\n");
  // A case's messages are found through the index, not by reading every message.
  const std::string plan = after.Query(
      "EXPLAIN QUERY PLAN SELECT rowid FROM messages WHERE case_reference = 'BF-2026-OLD' AND rowid > 0 "
      "ORDER BY rowid");
  EXPECT_NE(plan.find("INDEX messages_by_case (case_reference=? AND rowid>?)"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
  // Opening again changes nothing.
  auto again = OpenOrDie(path);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(IdsOf(*again->ListCase("BF-2026-OLD", "uk/nca", 0, 10)),
            (std::vector<std::string>{"old-1", "old-3", "new-1"}));
}

TEST(SqliteStore, ANewStoreHasTheSameSchemaAsAMigratedOne) {
  const std::string fresh = TempDir("schema-fresh") + "/outbox.db";
  const std::string migrated = TempDir("schema-migrated") + "/outbox.db";
  { ASSERT_NE(OpenOrDie(fresh), nullptr); }
  {
    RawDb v1db(migrated);
    v1db.Exec("PRAGMA journal_mode=WAL");
    v1db.Exec(kFrozenSchemaV1);
  }
  { ASSERT_NE(OpenOrDie(migrated), nullptr); }
  // Objects, every table's columns and every index's keys (the SQL text
  // differs in layout: the fixture's is compacted).
  for (const char* sql :
       {"SELECT type, name, tbl_name FROM sqlite_schema ORDER BY name",
        "SELECT m.name, p.* FROM sqlite_schema m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' "
        "ORDER BY m.name, p.cid",
        "SELECT m.name, p.* FROM sqlite_schema m JOIN pragma_index_xinfo(m.name) p WHERE m.type = 'index' "
        "ORDER BY m.name, p.seqno",
        "PRAGMA user_version", "PRAGMA application_id"}) {
    const std::string want = RawDb(fresh).Query(sql);
    EXPECT_FALSE(want.empty()) << sql;
    EXPECT_EQ(RawDb(migrated).Query(sql), want) << sql;
  }
}

// A reply's correlation: the messages with that id the party sent or
// received, whoever sent them; other parties' messages never count. Kept
// across a reopen (the index is created when missing).
TEST(SqliteStore, CorrelatedSendersAreThoseOfMessagesThePartySentOrReceived) {
  const std::string path = TempDir("correlated") + "/outbox.db";
  {
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/border-force", "SAME-ID", {"eu/europol"})).ok());
    ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/nca", "SAME-ID", {"eu/europol", "eu/fr-dnpaf"})).ok());
    ASSERT_TRUE(Accept(*store, MakeEnvelope("uk/bsc", "OTHER", {"eu/fr-dnpaf"})).ok());
  }
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  using Senders = std::vector<std::string>;
  auto senders = [&](const std::string& party, const std::string& id, size_t limit = 10) {
    auto s = store->CorrelatedSenders(party, id, limit);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : Senders{"error"};
  };
  EXPECT_EQ(senders("eu/europol", "SAME-ID"), (Senders{"uk/border-force", "uk/nca"}));
  EXPECT_EQ(senders("eu/europol", "SAME-ID", 1), (Senders{"uk/border-force"}));
  EXPECT_EQ(senders("eu/fr-dnpaf", "SAME-ID"), (Senders{"uk/nca"}));
  EXPECT_EQ(senders("uk/nca", "SAME-ID"), (Senders{"uk/nca"}));  // Its own.
  EXPECT_EQ(senders("uk/bsc", "SAME-ID"), Senders{});           // Others' messages.
  EXPECT_EQ(senders("eu/europol", "OTHER"), Senders{});
  EXPECT_EQ(senders("eu/fr-dnpaf", "OTHER"), (Senders{"uk/bsc"}));
  EXPECT_EQ(senders("eu/europol", "NONE"), Senders{});
}

}  // namespace
}  // namespace portcullis
