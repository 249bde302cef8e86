// A test rig for the Exchange's gRPC-free parts (gateway/service/acceptance.h,
// decision.h): the harness's parties and routes, a real SQLite store in a
// fresh folder whose calls can be made to fail, an in-memory audit log and a
// delivery handoff that records what it is told.
#ifndef PORTCULLIS_TESTS_SUPPORT_EXCHANGE_RIG_H_
#define PORTCULLIS_TESTS_SUPPORT_EXCHANGE_RIG_H_

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "gateway/config/config_loader.h"
#include "gateway/service/acceptance.h"
#include "gateway/store/sqlite_message_store.h"
#include "tests/support/fake_audit_log.h"
#include "tests/support/forwarding_store.h"
#include "tests/support/harness.h"

namespace portcullis::testing {

inline constexpr char kSender[] = "uk/border-force";

// The real store, with the calls the pipeline makes failing on demand.
class FlakyStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::atomic<bool> fail_commit{false}, fail_discard{false}, fail_pairing{false}, fail_correlation{false};
  std::atomic<int> reservations{0};  // Reserve calls: the pipeline reached the store.

  ReserveResult Reserve(const std::string& sender, const std::string& message_id, const std::string& sha) override {
    ++reservations;
    return ForwardingStore::Reserve(sender, message_id, sha);
  }
  void CommitAsync(std::shared_ptr<const v1::Envelope> envelope, const v1::Receipt& receipt, uint64_t audit_size,
                   CommitDone done) override {
    if (!fail_commit) return ForwardingStore::CommitAsync(std::move(envelope), receipt, audit_size, std::move(done));
    inner().Abandon(envelope->sender(), envelope->message_id());  // As a real failed commit: nothing kept.
    done(absl::UnavailableError("injected: commit failed"));
  }
  void DiscardAsync(const std::string& sender, const std::string& message_id,
                    std::function<void(absl::Status)> done) override {
    if (!fail_discard) return ForwardingStore::DiscardAsync(sender, message_id, std::move(done));
    done(absl::UnavailableError("injected: discard failed"));
  }
  void MarkAuditedAsync(const std::string& sender, const std::string& message_id, uint64_t index,
                        std::function<void(absl::Status)> done) override {
    if (!fail_pairing) return ForwardingStore::MarkAuditedAsync(sender, message_id, index, std::move(done));
    done(absl::UnavailableError("injected: pairing failed"));
  }
  absl::StatusOr<std::vector<std::string>> CorrelatedSenders(const std::string& party, const std::string& message_id,
                                                             size_t limit) const override {
    if (fail_correlation) return absl::UnavailableError("injected: read failed");
    return ForwardingStore::CorrelatedSenders(party, message_id, limit);
  }
};

// What delivery is told: backlog room held per recipient, dispatches, pairing retries.
class RecordingDelivery final : public DeliveryHandoff {
 public:
  absl::Status refuse_room;  // Set before submitting: ReserveRoom's answer.

  absl::Status ReserveRoom(const google::protobuf::RepeatedPtrField<std::string>& recipients,
                           uint64_t bytes) override {
    if (!refuse_room.ok()) return refuse_room;
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& r : recipients) room_[r] += static_cast<int64_t>(bytes);
    return absl::OkStatus();
  }
  void ReleaseRoom(const std::string& recipient, uint64_t bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    room_[recipient] -= static_cast<int64_t>(bytes);
  }
  void Dispatch(const MessageRecord& message) override {
    std::lock_guard<std::mutex> lock(mu_);
    dispatched_.push_back(message.envelope.message_id());
  }
  void RetryPairing(std::shared_ptr<const MessageRecord> message, uint64_t audit_index) override {
    std::lock_guard<std::mutex> lock(mu_);
    retried_.emplace_back(message->envelope.message_id(), audit_index);
  }

  int64_t room(const std::string& recipient) {
    std::lock_guard<std::mutex> lock(mu_);
    return room_[recipient];
  }
  std::vector<std::string> dispatched() {
    std::lock_guard<std::mutex> lock(mu_);
    return dispatched_;
  }
  std::vector<std::pair<std::string, uint64_t>> retried() {
    std::lock_guard<std::mutex> lock(mu_);
    return retried_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, int64_t> room_;
  std::vector<std::string> dispatched_;
  std::vector<std::pair<std::string, uint64_t>> retried_;
};

// One pipeline over a fresh store in its own folder, the harness's parties and routes.
struct ExchangeRig {
  explicit ExchangeRig(const std::string& name, AcceptancePipeline::Clock clock = NowMicros) {
    const std::string dir = MakeTempDir("acceptance-" + name);
    auto loaded = LoadConfigFile(WriteTestConfig(dir, {}));
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    config = *loaded;
    auto sqlite = SqliteMessageStore::Open({dir + "/messages.db"});
    EXPECT_TRUE(sqlite.ok()) << sqlite.status();
    store = std::make_unique<FlakyStore>(*std::move(sqlite));
    pipeline = std::make_unique<AcceptancePipeline>(config, store.get(), &log, &delivery, std::move(clock));
  }
  ~ExchangeRig() { store->Flush(); }  // No store callback into a destroyed pipeline.

  Submission From(const std::string& party) const { return {config->FindParty(party), "ipv4:127.0.0.1:1", "req-1", std::nullopt, party}; }

  // Submits and waits for the answer (up to 10 s), then for the store's
  // callbacks (pairing, dispatch).
  absl::StatusOr<v1::Receipt> Submit(const v1::SubmitRequest& request, const Submission& who) {
    auto answered = std::make_shared<std::promise<absl::StatusOr<v1::Receipt>>>();
    auto future = answered->get_future();
    pipeline->Submit(who, request, [answered](absl::StatusOr<v1::Receipt> a) { answered->set_value(std::move(a)); });
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return absl::DeadlineExceededError("no answer");
    }
    store->Flush();
    return future.get();
  }
  absl::StatusOr<v1::Receipt> Submit(const v1::Envelope& envelope, const std::string& as = kSender) {
    v1::SubmitRequest request;
    *request.mutable_envelope() = envelope;
    return Submit(request, From(as));
  }
  bool Stored(const std::string& message_id) const { return store->Get(kSender, message_id).ok(); }

  std::shared_ptr<const Config> config;
  FakeAuditLog log;
  std::unique_ptr<FlakyStore> store;
  RecordingDelivery delivery;
  std::unique_ptr<AcceptancePipeline> pipeline;
};

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_EXCHANGE_RIG_H_
