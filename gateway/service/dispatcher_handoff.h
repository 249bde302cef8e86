// The gateway's DeliveryHandoff (acceptance.h): the Dispatcher's backlog and
// dispatch, as the acceptance pipeline sees them. Thread-safe as the
// Dispatcher is.
#ifndef PORTCULLIS_GATEWAY_SERVICE_DISPATCHER_HANDOFF_H_
#define PORTCULLIS_GATEWAY_SERVICE_DISPATCHER_HANDOFF_H_

#include <memory>
#include <string>

#include "gateway/delivery/dispatcher.h"
#include "gateway/service/acceptance.h"

namespace portcullis {

class DispatcherHandoff final : public DeliveryHandoff {
 public:
  explicit DispatcherHandoff(Dispatcher* dispatcher) : dispatcher_(dispatcher) {}  // Must outlive this.

  absl::Status ReserveRoom(const google::protobuf::RepeatedPtrField<std::string>& recipients,
                           uint64_t bytes) override {
    return dispatcher_->backlog()->Reserve(recipients, bytes);
  }
  void ReleaseRoom(const std::string& recipient, uint64_t bytes) override {
    dispatcher_->backlog()->Release(recipient, bytes);
  }
  void Dispatch(const MessageRecord& message) override { dispatcher_->Dispatch(message); }
  void RetryPairing(std::shared_ptr<const MessageRecord> message, uint64_t audit_index) override {
    dispatcher_->RetryPairing(std::move(message), audit_index);
  }

 private:
  Dispatcher* dispatcher_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_DISPATCHER_HANDOFF_H_
