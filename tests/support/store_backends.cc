#include "tests/support/store_backends.h"

#include <algorithm>
#include <map>
#include <mutex>

namespace portcullis::testing {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, StoreBackendFactory> factories;
};

Registry& TheRegistry() {
  static Registry* registry = new Registry();  // Never destroyed: registrations run during static initialisation.
  return *registry;
}

}  // namespace

bool RegisterStoreBackend(const std::string& name, StoreBackendFactory factory) {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.factories.emplace(name, factory).second;
}

std::vector<std::string> StoreBackendNames() {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> names;
  for (const auto& [name, factory] : r.factories) names.push_back(name);
  return names;
}

std::unique_ptr<StoreBackend> MakeStoreBackend(const std::string& name) {
  Registry& r = TheRegistry();
  StoreBackendFactory factory = nullptr;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.factories.find(name);
    if (it != r.factories.end()) factory = it->second;
  }
  return factory == nullptr ? nullptr : factory();
}

void StoreConformanceTest::SetUp() {
  backend_ = MakeStoreBackend(GetParam());
  ASSERT_NE(backend_, nullptr) << "no store backend '" << GetParam() << "'";
}

std::unique_ptr<MessageStore> StoreConformanceTest::Fresh(int64_t delivery_max_age_micros) {
  auto store = backend_->OpenFresh(delivery_max_age_micros);
  EXPECT_TRUE(store.ok()) << backend_->name() << ": " << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

std::unique_ptr<MessageStore> StoreConformanceTest::Reopen() {
  auto store = backend_->Reopen();
  EXPECT_TRUE(store.ok()) << backend_->name() << ": " << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

std::string BackendName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace portcullis::testing
