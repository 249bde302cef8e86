#include "tests/support/pg_receipts.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gateway/audit/log_format.h"
#include "gateway/pg/pg_connection.h"
#include "tests/support/files.h"

namespace portcullis::testing {

StoredMessages ReadStoredMessages(const std::string& dsn) {
  StoredMessages db;
  auto conn = pg::Connection::Open(dsn, 10);
  if (!conn.ok()) {
    ADD_FAILURE() << "cannot read the database: " << conn.status();
    return db;
  }
  auto messages = (*conn)->Exec("SELECT sender, message_id, audit_index FROM messages");
  EXPECT_TRUE(messages.ok()) << messages.status();
  for (int r = 0; messages.ok() && r < messages->rows(); ++r) {
    db.audit_index[{std::string(messages->Text(r, 0)), std::string(messages->Text(r, 1))}] =
        static_cast<uint64_t>(messages->Int(r, 2));
  }
  auto records = (*conn)->Exec("SELECT idx, line FROM audit_records ORDER BY idx");
  EXPECT_TRUE(records.ok()) << records.status();
  for (int r = 0; records.ok() && r < records->rows(); ++r) {
    const std::string line(records->Text(r, 1));
    db.line[static_cast<uint64_t>(records->Int(r, 0))] = line;
    auto parsed = ParseLine(line);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    if (parsed.ok() && parsed->action == "submit" && parsed->outcome == "accepted") {
      ++db.accepted_records[{parsed->sender, parsed->message_id}];
    }
  }
  auto checkpoints = (*conn)->Exec("SELECT line FROM audit_checkpoints ORDER BY tree_size");
  EXPECT_TRUE(checkpoints.ok()) << checkpoints.status();
  for (int r = 0; checkpoints.ok() && r < checkpoints->rows(); ++r) {
    db.checkpoints.emplace_back(checkpoints->Text(r, 0));
  }
  return db;
}

ReceiptCheck CheckReceipts(const StoredMessages& db, const std::map<MessageKey, v1::Receipt>& receipts) {
  ReceiptCheck c;
  auto problem = [&](std::string words) {
    if (c.problems.size() < 10) c.problems.push_back(std::move(words));
  };
  for (const auto& [key, receipt] : receipts) {
    ++c.receipts;
    const std::string name = key.first + "/" + key.second;
    auto row = db.audit_index.find(key);
    if (row == db.audit_index.end()) {
      ++c.lost;
      problem(absl::StrCat(name, ": receipted (audit index ", receipt.audit_index(), ") but not in the database"));
      continue;
    }
    if (row->second != receipt.audit_index()) {
      ++c.wrong_index;
      problem(absl::StrCat(name, ": receipt says audit index ", receipt.audit_index(), ", the row ", row->second));
    }
    auto line = db.line.find(receipt.audit_index());
    auto record = line == db.line.end() ? absl::StatusOr<AuditRecord>(absl::NotFoundError("no record"))
                                        : ParseLine(line->second);
    if (!record.ok() || record->action != "submit" || record->outcome != "accepted" ||
        record->message_id != key.second || record->sender != key.first) {
      ++c.wrong_record;
      problem(absl::StrCat(name, ": the record at ", receipt.audit_index(), " is not its acceptance: ",
                           line == db.line.end() ? "missing" : line->second));
    }
  }
  for (const auto& [key, n] : db.accepted_records) {
    if (n > 1) {
      ++c.accepted_twice;
      problem(absl::StrCat(key.first, "/", key.second, ": ", n, " acceptance records"));
    }
  }
  return c;
}

VerifyReport VerifyExportedLog(const StoredMessages& db, const std::string& dir,
                               const std::vector<std::string>& witness_paths) {
  std::filesystem::create_directories(dir);
  VerifyOptions o;
  o.log_path = dir + "/audit.log";
  o.checkpoints_path = o.log_path + ".checkpoints";
  {
    std::ofstream out(o.log_path, std::ios::binary | std::ios::trunc);
    for (const auto& [idx, line] : db.line) out << line << '\n';
    std::ofstream cps(o.checkpoints_path, std::ios::binary | std::ios::trunc);
    for (const std::string& line : db.checkpoints) cps << line << '\n';
  }
  o.public_key_path = PkiDir() + "/audit/signing.pub";
  o.witness_paths = witness_paths;
  auto report = VerifyLog(o);
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? *report : VerifyReport{};
}

}  // namespace portcullis::testing
