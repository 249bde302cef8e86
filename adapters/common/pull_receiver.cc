#include "adapters/common/pull_receiver.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "adapters/common/describe.h"
#include "portcullis/v1/refusal_status.h"

namespace portcullis::adapters {

PullReceiver::PullReceiver(PullReceiverOptions options) : options_(std::move(options)) {}

PullReceiver::~PullReceiver() { Stop(); }

void PullReceiver::Start() { worker_ = std::thread([this] { Run(); }); }

void PullReceiver::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (stream_context_ != nullptr) stream_context_->TryCancel();
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void PullReceiver::Event(const std::string& what) const {
  if (options_.on_event) options_.on_event(what);
}

void PullReceiver::Run() {
  v1::Exchange::Stub stub(options_.channel);
  std::chrono::milliseconds backoff = options_.initial_backoff;
  while (true) {
    if (RunStream(stub)) backoff = options_.initial_backoff;
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, backoff, [this] { return stopping_; })) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

bool PullReceiver::Reject(v1::Exchange::Stub& stub, const v1::Delivery& delivery, const absl::Status& why) {
  v1::AcknowledgeRequest reject;
  reject.set_sender(delivery.envelope().sender());
  reject.set_message_id(delivery.envelope().message_id());
  reject.set_decision(v1::REJECT);
  reject.set_officer(options_.officer);
  reject.set_reason(absl::StrCat("UNRENDERABLE: ", why.message()).substr(0, 4096));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (options_.credentials) {
    if (std::shared_ptr<grpc::CallCredentials> c = options_.credentials(options_.officer)) context.set_credentials(c);
  }
  v1::AcknowledgeResponse response;
  grpc::Status status = stub.Acknowledge(&context, reject, &response);
  // Decided before (e.g. rejected on an earlier stream whose confirm was
  // lost, or by an officer): nothing more to record.
  std::optional<v1::Refusal> refusal = v1::RefusalInStatus(status);
  const bool decided = status.ok() || (refusal.has_value() && refusal->reason() == "ALREADY_DECIDED");
  Event(absl::StrCat("delivery ", delivery.delivery_id(), " cannot be rendered (", why.message(), "): ",
                     decided ? "rejected" : absl::StrCat("rejection failed: ", DescribeStatus(status))));
  return decided;
}

bool PullReceiver::RunStream(v1::Exchange::Stub& stub) {
  grpc::ClientContext context;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    stream_context_ = &context;
  }
  v1::ReceiveRequest request;
  request.set_resume_after_delivery_id(last_stored_);
  request.set_max_unconfirmed(options_.max_unconfirmed);
  std::unique_ptr<grpc::ClientReader<v1::Delivery>> reader = stub.Receive(&context, request);
  bool received = false;
  v1::Delivery delivery;
  while (reader->Read(&delivery)) {
    absl::StatusOr<bool> stored = options_.inbox->Store(delivery);
    bool rejected = false;
    if (!stored.ok() && IsUnrenderable(stored.status())) {
      if (!Reject(stub, delivery, stored.status())) {
        context.TryCancel();  // Not recorded: the next stream brings it again.
        break;
      }
      rejected = true;
      rejected_.fetch_add(1);
      if (options_.on_rejected) options_.on_rejected(delivery);
      stored = false;  // Decided: confirmed below like any delivery it holds, so the stream goes on.
    }
    if (!stored.ok()) {
      // Not confirmed: the gateway sends it again on the next stream.
      Event(absl::StrCat("cannot store delivery ", delivery.delivery_id(), ": ", stored.status().ToString()));
      context.TryCancel();
      break;
    }
    received = true;  // Progress: the next reconnect starts from the shortest backoff.
    last_stored_ = delivery.delivery_id();
    if (*stored) {
      stored_.fetch_add(1);
      if (options_.on_stored) options_.on_stored(delivery);
    } else if (!rejected) {
      duplicates_.fetch_add(1);
    }
    grpc::ClientContext confirm_context;
    confirm_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ConfirmRequest confirm;
    confirm.set_through_delivery_id(delivery.delivery_id());
    v1::ConfirmResponse confirmed;
    grpc::Status status = stub.Confirm(&confirm_context, confirm, &confirmed);
    // A lost confirm is repaired by the next stream's resume_after_delivery_id.
    if (!status.ok()) Event(absl::StrCat("confirm of ", delivery.delivery_id(), " failed: ", DescribeStatus(status)));
  }
  grpc::Status status = reader->Finish();
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stream_context_ = nullptr;
    stopping = stopping_;
  }
  if (!stopping) Event(absl::StrCat("receive stream ended: ", DescribeStatus(status), "; reconnecting"));
  return received;
}

}  // namespace portcullis::adapters
