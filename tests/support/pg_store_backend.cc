// The PostgreSQL backend of the store conformance suites ("postgres"): one
// cluster per test binary (started on first use; a test fails if it cannot),
// a fresh database per OpenFresh, and each store on its own writer and pool
// as a gateway has; Reopen is a new writer, pool and store on the same
// database.
#include <memory>
#include <vector>

#include "tests/support/pg_store_fixtures.h"
#include "tests/support/store_backends.h"

namespace portcullis::testing {
namespace {

class PgBackend final : public StoreBackend {
 public:
  ~PgBackend() override {
    // The stores handed out are gone by now (they were the test's); their
    // writers and pools go last, newest first.
    while (!parts_.empty()) parts_.pop_back();
  }

  std::string name() const override { return "postgres"; }

  absl::StatusOr<std::unique_ptr<MessageStore>> OpenFresh(int64_t delivery_max_age_micros) override {
    auto dsn = FreshPgDatabase();
    if (!dsn.ok()) return dsn.status();
    dsn_ = *dsn;
    max_age_micros_ = delivery_max_age_micros;
    return Reopen();
  }

  absl::StatusOr<std::unique_ptr<MessageStore>> Reopen() override {
    if (dsn_.empty()) return absl::FailedPreconditionError("Reopen before OpenFresh");
    auto parts = OpenPgStoreParts(dsn_, max_age_micros_);
    if (!parts.ok()) return parts.status();
    std::unique_ptr<MessageStore> store((*parts)->store.release());
    parts_.push_back(*std::move(parts));  // Its writer and pool outlive the store.
    return store;
  }

 private:
  std::string dsn_;
  int64_t max_age_micros_ = 0;
  std::vector<std::unique_ptr<PgStoreParts>> parts_;
};

std::unique_ptr<StoreBackend> MakePgBackend() { return std::make_unique<PgBackend>(); }

[[maybe_unused]] const bool kRegistered = RegisterStoreBackend("postgres", &MakePgBackend);

}  // namespace
}  // namespace portcullis::testing
