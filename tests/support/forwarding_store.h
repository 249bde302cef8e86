// A MessageStore that forwards every call to another (a real store), for
// tests to derive from and override only the calls they make fail or watch.
#ifndef PORTCULLIS_TESTS_SUPPORT_FORWARDING_STORE_H_
#define PORTCULLIS_TESTS_SUPPORT_FORWARDING_STORE_H_

#include <memory>
#include <utility>

#include "gateway/store/message_store.h"

namespace portcullis::testing {

class ForwardingStore : public MessageStore {
 public:
  explicit ForwardingStore(std::unique_ptr<MessageStore> inner) : inner_(std::move(inner)) {}

  ReserveResult Reserve(const std::string& sender, const std::string& message_id, const std::string& sha) override {
    return inner_->Reserve(sender, message_id, sha);
  }
  void CommitAsync(std::shared_ptr<const v1::Envelope> envelope, const v1::Receipt& receipt, uint64_t audit_size,
                   CommitDone done) override {
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
    return inner_->ListCase(case_reference, party, after_position, limit);
  }
  absl::StatusOr<std::vector<std::string>> CorrelatedSenders(const std::string& party, const std::string& message_id,
                                                             size_t limit) const override {
    return inner_->CorrelatedSenders(party, message_id, limit);
  }
  absl::StatusOr<std::shared_ptr<const MessageRecord>> Get(const std::string& sender,
                                                           const std::string& message_id) const override {
    return inner_->Get(sender, message_id);
  }
  void UpdateRecipientAsync(const std::string& sender, const std::string& message_id, const std::string& party,
                            std::function<absl::Status(RecipientRecord&)> update, RecipientDone done) override {
    inner_->UpdateRecipientAsync(sender, message_id, party, std::move(update), std::move(done));
  }
  absl::StatusOr<RecipientRecord> UpdateRecipient(const std::string& sender, const std::string& message_id,
                                                  const std::string& party,
                                                  const std::function<absl::Status(RecipientRecord&)>& update) override {
    return inner_->UpdateRecipient(sender, message_id, party, update);
  }
  absl::StatusOr<std::vector<DeliveryRow>> DeadLetters(const std::string& recipient, int64_t after_seq,
                                                       size_t limit) const override {
    return inner_->DeadLetters(recipient, after_seq, limit);
  }
  absl::StatusOr<DeliveryRow> GetDelivery(const std::string& delivery_id) const override {
    return inner_->GetDelivery(delivery_id);
  }
  absl::StatusOr<DeliveryRow> RetryDeadLetter(const std::string& delivery_id, int64_t max_age_micros,
                                              const OfficerOnRecord& officer) override {
    return inner_->RetryDeadLetter(delivery_id, max_age_micros, officer);
  }
  absl::StatusOr<DeliveryRow> CancelDeadLetter(const std::string& delivery_id, const OfficerOnRecord& officer,
                                               const std::string& reason) override {
    return inner_->CancelDeadLetter(delivery_id, officer, reason);
  }
  absl::StatusOr<std::vector<DeliveryCount>> CountDeliveries(
      const std::vector<v1::DeliveryState>& states) const override {
    return inner_->CountDeliveries(states);
  }

 protected:
  MessageStore& inner() const { return *inner_; }

 private:
  std::unique_ptr<MessageStore> inner_;
};

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_FORWARDING_STORE_H_
