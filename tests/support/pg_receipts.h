// What the PostgreSQL crash and restart tests (tests/pg_crash_test.cc,
// tests/pg_restart_test.cc) check in the database after the fact: every
// receipt a client holds names a stored message whose acceptance record sits
// at the receipt's audit index, no message is accepted twice, and the chain,
// exported the way `portcullis-audit export` writes it, passes the offline
// verifier.
#ifndef PORTCULLIS_TESTS_SUPPORT_PG_RECEIPTS_H_
#define PORTCULLIS_TESTS_SUPPORT_PG_RECEIPTS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gateway/audit/log_verifier.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis::testing {

// (sender, message_id)
using MessageKey = std::pair<std::string, std::string>;

// The database's view of the messages, read once.
struct StoredMessages {
  std::map<MessageKey, uint64_t> audit_index;          // messages.audit_index per message
  std::map<uint64_t, std::string> line;                // audit_records: idx -> line
  std::map<MessageKey, int> accepted_records;          // "submit"/"accepted" records per message
  std::vector<std::string> checkpoints;                // audit_checkpoints lines, by tree size
};
StoredMessages ReadStoredMessages(const std::string& dsn);

struct ReceiptCheck {
  size_t receipts = 0;
  size_t lost = 0;          // no message row
  size_t wrong_index = 0;   // the row's audit_index differs from the receipt's
  size_t wrong_record = 0;  // the record at that index is not this message's acceptance
  size_t accepted_twice = 0;  // messages with more than one acceptance record (any message)
  std::vector<std::string> problems;  // the first few, in words
};
// Checks every receipt against `db`.
ReceiptCheck CheckReceipts(const StoredMessages& db, const std::map<MessageKey, v1::Receipt>& receipts);

// Writes the records and checkpoints to `dir`/audit.log(.checkpoints), as an
// export does, and runs the offline verifier on them (signatures with the dev
// PKI's audit key, and the witness copies given).
VerifyReport VerifyExportedLog(const StoredMessages& db, const std::string& dir,
                               const std::vector<std::string>& witness_paths);

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_PG_RECEIPTS_H_
