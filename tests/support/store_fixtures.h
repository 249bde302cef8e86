// What the SQLite-only store tests share: a fresh store file, opened; the
// envelopes, receipts and blocking Accept helpers are in store_test_util.h
// (over the MessageStore interface, for every backend).
#ifndef PORTCULLIS_TESTS_SUPPORT_STORE_FIXTURES_H_
#define PORTCULLIS_TESTS_SUPPORT_STORE_FIXTURES_H_

#include <cstdint>
#include <memory>
#include <string>

#include "gateway/store/sqlite_message_store.h"
#include "tests/support/store_test_util.h"

namespace portcullis::testing {

// A fresh directory for one store test (MakeTempDir("sqlite-store-" + name)).
std::string StoreTempDir(const std::string& name);

// Opens the store at `path`; a test failure and nullptr if it cannot.
std::unique_ptr<SqliteMessageStore> OpenOrDie(const std::string& path, int64_t max_age_micros = 0);

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_STORE_FIXTURES_H_
