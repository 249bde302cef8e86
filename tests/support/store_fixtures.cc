#include "tests/support/store_fixtures.h"

#include <gtest/gtest.h>

#include "tests/support/files.h"

namespace portcullis::testing {

std::string StoreTempDir(const std::string& name) { return MakeTempDir("sqlite-store-" + name); }

std::unique_ptr<SqliteMessageStore> OpenOrDie(const std::string& path, int64_t max_age_micros) {
  SqliteStoreOptions options;
  options.path = path;
  options.delivery_max_age_micros = max_age_micros;
  auto store = SqliteMessageStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

}  // namespace portcullis::testing
