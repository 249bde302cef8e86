// A MessageStore decorator for tests (a ForwardingStore): forwards every call
// to the real store until armed with a status code, then fails reads and writes with that code
// and the kind of text a real store failure carries (an SQL error and a file
// path), so tests can check that none of it reaches a caller.
#ifndef PORTCULLIS_TESTS_SUPPORT_FAULTY_STORE_H_
#define PORTCULLIS_TESTS_SUPPORT_FAULTY_STORE_H_

#include <atomic>
#include <memory>

#include "gateway/store/message_store.h"
#include "tests/support/forwarding_store.h"

namespace portcullis::testing {

// The words every injected failure carries; never to be seen by a caller.
inline constexpr char kInjectedStoreError[] =
    "sqlite3_step: disk I/O error (SQLITE_IOERR) on /var/lib/portcullis/secret-store.db";

// Fails only asynchronous recipient updates (a delivery's outcome being
// recorded) while `armed`, counting them; everything else works.
struct RecipientUpdateFaults {
  std::atomic<bool> armed{false};
  std::atomic<int> failed{0};
};

class FaultyStore final : public ForwardingStore {
 public:
  FaultyStore(std::unique_ptr<MessageStore> inner, std::shared_ptr<std::atomic<int>> armed,
              std::shared_ptr<RecipientUpdateFaults> update_faults = nullptr)
      : ForwardingStore(std::move(inner)), armed_(std::move(armed)), update_faults_(std::move(update_faults)) {}

  // What fails while armed; every other call is forwarded (ForwardingStore).
  void CommitAsync(std::shared_ptr<const v1::Envelope> envelope, const v1::Receipt& receipt, uint64_t audit_size,
                   CommitDone done) override {
    if (*armed_ != 0) {
      inner().Abandon(envelope->sender(), envelope->message_id());
      done(Fault());
      return;
    }
    inner().CommitAsync(std::move(envelope), receipt, audit_size, std::move(done));
  }
  absl::StatusOr<ConfirmResult> ConfirmPulled(const std::string& recipient, const std::string& id) override {
    if (*armed_ != 0) return Fault();
    return inner().ConfirmPulled(recipient, id);
  }
  absl::StatusOr<CasePage> ListCase(const std::string& case_reference, const std::string& party,
                                    int64_t after_position, size_t limit) const override {
    if (*armed_ != 0) return Fault();
    return inner().ListCase(case_reference, party, after_position, limit);
  }
  absl::StatusOr<std::shared_ptr<const MessageRecord>> Get(const std::string& sender,
                                                           const std::string& message_id) const override {
    if (*armed_ != 0) return Fault();
    return inner().Get(sender, message_id);
  }
  void UpdateRecipientAsync(const std::string& sender, const std::string& message_id, const std::string& party,
                            std::function<absl::Status(RecipientRecord&)> update, RecipientDone done) override {
    if (update_faults_ != nullptr && update_faults_->armed.load()) {
      update_faults_->failed.fetch_add(1);
      done(absl::Status(absl::StatusCode::kUnavailable, kInjectedStoreError));
      return;
    }
    inner().UpdateRecipientAsync(sender, message_id, party, std::move(update), std::move(done));
  }
  absl::StatusOr<RecipientRecord> UpdateRecipient(const std::string& sender, const std::string& message_id,
                                                  const std::string& party,
                                                  const std::function<absl::Status(RecipientRecord&)>& update) override {
    if (*armed_ != 0) return Fault();
    return inner().UpdateRecipient(sender, message_id, party, update);
  }
  absl::StatusOr<std::vector<std::string>> CorrelatedSenders(const std::string& party, const std::string& message_id,
                                                             size_t limit) const override {
    if (*armed_ != 0) return Fault();
    return inner().CorrelatedSenders(party, message_id, limit);
  }
  absl::StatusOr<std::vector<DeliveryRow>> DeadLetters(const std::string& recipient, int64_t after_seq,
                                                       size_t limit) const override {
    if (*armed_ != 0) return Fault();
    return inner().DeadLetters(recipient, after_seq, limit);
  }
  absl::StatusOr<DeliveryRow> GetDelivery(const std::string& delivery_id) const override {
    if (*armed_ != 0) return Fault();
    return inner().GetDelivery(delivery_id);
  }
  absl::StatusOr<DeliveryRow> RetryDeadLetter(const std::string& delivery_id, int64_t max_age_micros,
                                              const OfficerOnRecord& officer) override {
    if (*armed_ != 0) return Fault();
    return inner().RetryDeadLetter(delivery_id, max_age_micros, officer);
  }
  absl::StatusOr<DeliveryRow> CancelDeadLetter(const std::string& delivery_id, const OfficerOnRecord& officer,
                                               const std::string& reason) override {
    if (*armed_ != 0) return Fault();
    return inner().CancelDeadLetter(delivery_id, officer, reason);
  }
  absl::StatusOr<std::vector<DeliveryCount>> CountDeliveries(
      const std::vector<v1::DeliveryState>& states) const override {
    if (*armed_ != 0) return Fault();
    return inner().CountDeliveries(states);
  }

 private:
  absl::Status Fault() const {
    return absl::Status(static_cast<absl::StatusCode>(armed_->load()), kInjectedStoreError);
  }
  std::shared_ptr<std::atomic<int>> armed_;
  std::shared_ptr<RecipientUpdateFaults> update_faults_;
};

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_FAULTY_STORE_H_
