// The SQLite backend of the store conformance suites: each OpenFresh a new
// file in a new temporary directory; Reopen opens that file again.
#include <atomic>

#include "absl/strings/str_cat.h"
#include "gateway/store/sqlite_message_store.h"
#include "tests/support/files.h"
#include "tests/support/store_backends.h"

namespace portcullis::testing {
namespace {

class SqliteBackend final : public StoreBackend {
 public:
  std::string name() const override { return "sqlite"; }

  absl::StatusOr<std::unique_ptr<MessageStore>> OpenFresh(int64_t delivery_max_age_micros) override {
    static std::atomic<int> next{0};
    options_ = SqliteStoreOptions{};
    options_.path = MakeTempDir(absl::StrCat("store-sqlite-", next++)) + "/outbox.db";
    options_.delivery_max_age_micros = delivery_max_age_micros;
    return Reopen();
  }

  absl::StatusOr<std::unique_ptr<MessageStore>> Reopen() override {
    if (options_.path.empty()) return absl::FailedPreconditionError("Reopen before OpenFresh");
    auto store = SqliteMessageStore::Open(options_);
    if (!store.ok()) return store.status();
    return std::unique_ptr<MessageStore>(*std::move(store));
  }

 private:
  SqliteStoreOptions options_;
};

std::unique_ptr<StoreBackend> MakeSqliteBackend() { return std::make_unique<SqliteBackend>(); }

[[maybe_unused]] const bool kRegistered = RegisterStoreBackend("sqlite", &MakeSqliteBackend);

}  // namespace
}  // namespace portcullis::testing
