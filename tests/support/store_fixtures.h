// What the SqliteMessageStore tests share: a fresh store file, envelopes and
// receipts, and Reserve + Commit (+ MarkAudited) as Submit does them.
#ifndef PORTCULLIS_TESTS_SUPPORT_STORE_FIXTURES_H_
#define PORTCULLIS_TESTS_SUPPORT_STORE_FIXTURES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gateway/store/sqlite_message_store.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis::testing {

// A fresh directory for one store test (MakeTempDir("sqlite-store-" + name)).
std::string StoreTempDir(const std::string& name);

// Opens the store at `path`; a test failure and nullptr if it cannot.
std::unique_ptr<SqliteMessageStore> OpenOrDie(const std::string& path, int64_t max_age_micros = 0);

// A minimal envelope; `payload` varies the content (and so the digest).
v1::Envelope MakeEnvelope(const std::string& sender, const std::string& id,
                          std::vector<std::string> recipients = {"eu/europol", "nl/politie"},
                          const std::string& payload = "payload");
std::string ShaOf(const v1::Envelope& e);
v1::Receipt MakeReceipt(const v1::Envelope& e, uint64_t audit_index = 7);

// Reserve + Commit, as Submit does.
absl::Status Accept(SqliteMessageStore& store, const v1::Envelope& e, uint64_t audit_size = 0);
// Accept, then pair with its audit record: a deliverable message.
absl::Status AcceptAudited(SqliteMessageStore& store, const v1::Envelope& e);

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_STORE_FIXTURES_H_
