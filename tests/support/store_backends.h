// The backends the store conformance suites (tests/store_*_test.cc) run
// against: each registers a factory under a name, and every suite runs once
// per registered backend, named StoreConformance/<Suite>.<Test>/<backend>.
// SQLite registers itself in sqlite_store_backend.cc; another backend adds
// its own file to the store_conformance_test target the same way, with no
// edit of the suites.
#ifndef PORTCULLIS_TESTS_SUPPORT_STORE_BACKENDS_H_
#define PORTCULLIS_TESTS_SUPPORT_STORE_BACKENDS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/status/statusor.h"
#include "gateway/store/message_store.h"

namespace portcullis::testing {

struct StoreBackend {  // One per backend; one instance per test.
  virtual ~StoreBackend() = default;
  virtual std::string name() const = 0;
  // A fresh, empty store (each call a new database); options: delivery_max_age_micros.
  virtual absl::StatusOr<std::unique_ptr<MessageStore>> OpenFresh(int64_t delivery_max_age_micros = 0) = 0;
  // The same data opened again (after the previous instance was destroyed): restart tests.
  virtual absl::StatusOr<std::unique_ptr<MessageStore>> Reopen() = 0;
};

using StoreBackendFactory = std::unique_ptr<StoreBackend> (*)();

// Registers `factory` under `name` (letters, digits and '_': it ends each
// test's name). Call it from a static initialiser in the backend's own file:
//   const bool kRegistered = RegisterStoreBackend("sqlite", &MakeSqliteBackend);
bool RegisterStoreBackend(const std::string& name, StoreBackendFactory factory);
// The registered names, sorted.
std::vector<std::string> StoreBackendNames();
// A new backend of that name; nullptr if none is registered.
std::unique_ptr<StoreBackend> MakeStoreBackend(const std::string& name);

// The fixture of the conformance suites: the parameter is the backend's name.
class StoreConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  // A fresh store, or a test failure and nullptr.
  std::unique_ptr<MessageStore> Fresh(int64_t delivery_max_age_micros = 0);
  // The same data again (destroy the previous instance first), or a test failure and nullptr.
  std::unique_ptr<MessageStore> Reopen();

  std::unique_ptr<StoreBackend> backend_;
};

// The test-name suffix of a backend (its name).
std::string BackendName(const ::testing::TestParamInfo<std::string>& info);

}  // namespace portcullis::testing

// Runs every TEST_P of `suite` (a class derived from StoreConformanceTest)
// against every registered backend.
#define PORTCULLIS_STORE_CONFORMANCE(suite)                                                                    \
  INSTANTIATE_TEST_SUITE_P(StoreConformance, suite,                                                           \
                           ::testing::ValuesIn(::portcullis::testing::StoreBackendNames()),                   \
                           ::portcullis::testing::BackendName)

#endif  // PORTCULLIS_TESTS_SUPPORT_STORE_BACKENDS_H_
