// A MessageStore decorator for tests: forwards every call to the real store
// until armed with a status code, then fails reads and writes with that code
// and the kind of text a real store failure carries (an SQL error and a file
// path), so tests can check that none of it reaches a caller.
#ifndef PORTCULLIS_TESTS_SUPPORT_FAULTY_STORE_H_
#define PORTCULLIS_TESTS_SUPPORT_FAULTY_STORE_H_

#include <atomic>
#include <memory>

#include "gateway/store/message_store.h"

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

class FaultyStore final : public MessageStore {
 public:
  FaultyStore(std::unique_ptr<MessageStore> inner, std::shared_ptr<std::atomic<int>> armed,
              std::shared_ptr<RecipientUpdateFaults> update_faults = nullptr)
      : inner_(std::move(inner)), armed_(std::move(armed)), update_faults_(std::move(update_faults)) {}

  ReserveResult Reserve(const std::string& sender, const std::string& message_id,
                        const std::string& sha) override {
    return inner_->Reserve(sender, message_id, sha);
  }
  void CommitAsync(std::shared_ptr<const v1::Envelope> envelope, const v1::Receipt& receipt, uint64_t audit_size,
                   CommitDone done) override {
    if (*armed_ != 0) {
      inner_->Abandon(envelope->sender(), envelope->message_id());
      done(Fault());
      return;
    }
    inner_->CommitAsync(std::move(envelope), receipt, audit_size, std::move(done));
  }
  void MarkAuditedAsync(const std::string& sender, const std::string& message_id, uint64_t index,
                        std::function<void(absl::Status)> done) override {
    inner_->MarkAuditedAsync(sender, message_id, index, std::move(done));
  }
  void DiscardAsync(const std::string& sender, const std::string& message_id,
                    std::function<void(absl::Status)> done) override {
    inner_->DiscardAsync(sender, message_id, std::move(done));
  }
  absl::Status MarkAudited(const std::string& sender, const std::string& message_id, uint64_t index) override {
    return inner_->MarkAudited(sender, message_id, index);
  }
  absl::StatusOr<std::vector<UnauditedMessage>> Unaudited() const override { return inner_->Unaudited(); }
  absl::StatusOr<std::vector<DeliveryRow>> PendingDeliveries(const std::string& recipient, int64_t after_seq,
                                                             size_t limit) const override {
    return inner_->PendingDeliveries(recipient, after_seq, limit);
  }
  absl::StatusOr<std::map<std::string, BacklogCount>> BacklogCounts() const override {
    return inner_->BacklogCounts();
  }
  absl::StatusOr<ConfirmResult> ConfirmPulled(const std::string& recipient, const std::string& id) override {
    if (*armed_ != 0) return Fault();
    return inner_->ConfirmPulled(recipient, id);
  }
  void RecordPulled(const std::string& recipient, int64_t seq) override { inner_->RecordPulled(recipient, seq); }
  absl::StatusOr<std::vector<ChangedDelivery>> ExpireDue(int64_t now_micros, size_t limit) override {
    return inner_->ExpireDue(now_micros, limit);
  }
  void Flush() override { inner_->Flush(); }
  void Abandon(const std::string& sender, const std::string& message_id) override {
    inner_->Abandon(sender, message_id);
  }
  absl::StatusOr<CasePage> ListCase(const std::string& case_reference, const std::string& party,
                                    int64_t after_position, size_t limit) const override {
    if (*armed_ != 0) return Fault();
    return inner_->ListCase(case_reference, party, after_position, limit);
  }
  absl::StatusOr<std::shared_ptr<const MessageRecord>> Get(const std::string& sender,
                                                           const std::string& message_id) const override {
    if (*armed_ != 0) return Fault();
    return inner_->Get(sender, message_id);
  }
  void UpdateRecipientAsync(const std::string& sender, const std::string& message_id, const std::string& party,
                            std::function<absl::Status(RecipientRecord&)> update, RecipientDone done) override {
    if (update_faults_ != nullptr && update_faults_->armed.load()) {
      update_faults_->failed.fetch_add(1);
      done(absl::Status(absl::StatusCode::kUnavailable, kInjectedStoreError));
      return;
    }
    inner_->UpdateRecipientAsync(sender, message_id, party, std::move(update), std::move(done));
  }
  absl::StatusOr<RecipientRecord> UpdateRecipient(const std::string& sender, const std::string& message_id,
                                                  const std::string& party,
                                                  const std::function<absl::Status(RecipientRecord&)>& update) override {
    if (*armed_ != 0) return Fault();
    return inner_->UpdateRecipient(sender, message_id, party, update);
  }
  absl::StatusOr<std::vector<std::string>> CorrelatedSenders(const std::string& party, const std::string& message_id,
                                                             size_t limit) const override {
    if (*armed_ != 0) return Fault();
    return inner_->CorrelatedSenders(party, message_id, limit);
  }
  absl::StatusOr<std::vector<DeliveryRow>> DeadLetters(const std::string& recipient, int64_t after_seq,
                                                       size_t limit) const override {
    if (*armed_ != 0) return Fault();
    return inner_->DeadLetters(recipient, after_seq, limit);
  }
  absl::StatusOr<DeliveryRow> GetDelivery(const std::string& delivery_id) const override {
    if (*armed_ != 0) return Fault();
    return inner_->GetDelivery(delivery_id);
  }
  absl::StatusOr<DeliveryRow> RetryDeadLetter(const std::string& delivery_id, int64_t max_age_micros,
                                              const std::string& officer) override {
    if (*armed_ != 0) return Fault();
    return inner_->RetryDeadLetter(delivery_id, max_age_micros, officer);
  }
  absl::StatusOr<DeliveryRow> CancelDeadLetter(const std::string& delivery_id, const std::string& officer,
                                               const std::string& reason) override {
    if (*armed_ != 0) return Fault();
    return inner_->CancelDeadLetter(delivery_id, officer, reason);
  }
  absl::StatusOr<std::vector<DeliveryCount>> CountDeliveries(
      const std::vector<v1::DeliveryState>& states) const override {
    if (*armed_ != 0) return Fault();
    return inner_->CountDeliveries(states);
  }

 private:
  absl::Status Fault() const {
    return absl::Status(static_cast<absl::StatusCode>(armed_->load()), kInjectedStoreError);
  }
  std::unique_ptr<MessageStore> inner_;
  std::shared_ptr<std::atomic<int>> armed_;
  std::shared_ptr<RecipientUpdateFaults> update_faults_;
};

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_FAULTY_STORE_H_
