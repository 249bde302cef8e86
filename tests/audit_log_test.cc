// FileAuditLog: group commit, crash recovery of a torn tail, one line per record.
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "gateway/audit/file_audit_log.h"
#include "gateway/audit/log_format.h"
#include "tests/support/harness.h"

namespace portcullis::testing {
namespace {

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

AuditRecord Record(const std::string& id) {
  AuditRecord r;
  r.time_micros = NowMicros();
  r.action = "submit";
  r.actor_party = "uk/nca";
  r.message_id = id;
  r.outcome = "accepted";
  return r;
}

TEST(FileAuditLog, ConcurrentAppendsShareFsyncs) {
  const std::string path = MakeTempDir("audit-group") + "/audit.log";
  auto log = FileAuditLog::Open(path);
  ASSERT_TRUE(log.ok()) << log.status();
  constexpr int kThreads = 8, kPerThread = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i)
        if (!(*log)->AppendAndWait(Record(std::to_string(t) + "-" + std::to_string(i))).ok()) ++failures;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ((*log)->size(), uint64_t{kThreads * kPerThread});
  // Eight writers waiting on each other's fsyncs must share some of them.
  EXPECT_LT((*log)->sync_count(), uint64_t{kThreads * kPerThread});
  EXPECT_EQ(Lines(path).size(), size_t{kThreads * kPerThread});
}

TEST(FileAuditLog, IndexesAreDenseAndSurviveReopen) {
  const std::string path = MakeTempDir("audit-reopen") + "/audit.log";
  {
    auto log = FileAuditLog::Open(path);
    ASSERT_TRUE(log.ok());
    for (uint64_t i = 0; i < 3; ++i) EXPECT_EQ(*(*log)->AppendAndWait(Record("m")), i);
  }
  auto log = FileAuditLog::Open(path);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(*(*log)->AppendAndWait(Record("m")), 3u);
}

TEST(FileAuditLog, TornTailIsTruncatedOnOpen) {
  const std::string path = MakeTempDir("audit-torn") + "/audit.log";
  {
    auto log = FileAuditLog::Open(path);
    ASSERT_TRUE(log.ok());
    (*log)->AppendAndWait(Record("a")).IgnoreError();
    (*log)->AppendAndWait(Record("b")).IgnoreError();
  }
  std::ofstream(path, std::ios::app) << "{\"index\":2,\"action\":\"sub";  // A crash mid-write.
  auto log = FileAuditLog::Open(path);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->size(), 2u);
  EXPECT_EQ(*(*log)->AppendAndWait(Record("c")), 2u);
  auto lines = Lines(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[2].find("\"message_id\":\"c\""), std::string::npos) << lines[2];
}

TEST(FileAuditLog, HostileStringsCannotForgeOrBreakARecord) {
  const std::string path = MakeTempDir("audit-hostile") + "/audit.log";
  auto log = FileAuditLog::Open(path);
  ASSERT_TRUE(log.ok());
  AuditRecord r = Record("x\n{\"index\":99,\"action\":\"forged\"}");
  r.justification = "bad\xff\xfe utf8 \r\t\x01 and \"quotes\" \\ \u2028";
  r.actor_officer = std::string("nul\0inside", 10);
  ASSERT_TRUE((*log)->AppendAndWait(r).ok());
  auto lines = Lines(path);
  ASSERT_EQ(lines.size(), 1u);
  for (unsigned char c : lines[0]) EXPECT_GE(c, 0x20) << "control character in the line";
  EXPECT_NE(lines[0].find("x\\u000a{\\\"index\\\":99"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\\ufffd"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("nul\\u0000inside"), std::string::npos) << lines[0];
}

TEST(FileAuditLog, HugeFieldsAndRecipientListsAreCutWithTheirSize) {
  const std::string path = MakeTempDir("audit-huge") + "/audit.log";
  auto log = FileAuditLog::Open(path);
  ASSERT_TRUE(log.ok());
  AuditRecord r = Record("huge");
  r.detail = std::string(3 * 1024 * 1024, 'A');
  r.justification = std::string(4095, 'j') + "\xc3\xa9" + "tail";  // A 2-byte character across the cut.
  for (int i = 0; i < 1000; ++i) r.recipients.push_back("eu/party-" + std::to_string(i));
  ASSERT_TRUE((*log)->AppendAndWait(r).ok());
  auto lines = Lines(path);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_LT(lines[0].size(), 16u * 1024) << "one request made a huge record";
  EXPECT_NE(lines[0].find("...[cut: 3145728 bytes in all]"), std::string::npos);
  EXPECT_NE(lines[0].find(std::string(4095, 'j') + "...[cut: 4101 bytes in all]"), std::string::npos)
      << "cut inside a UTF-8 character";
  EXPECT_NE(lines[0].find("\"...[cut: 1000 recipients in all]\"]"), std::string::npos);
  auto parsed = ParseLine(lines[0]);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->recipients.size(), kMaxRecipients + 1);
}

}  // namespace
}  // namespace portcullis::testing
