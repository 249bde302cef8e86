#include "adapters/common/acknowledger.h"

#include <algorithm>
#include <utility>

namespace portcullis::adapters {
namespace {

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::NOT_FOUND;
}

grpc::Status Abandoned() {
  return grpc::Status(grpc::StatusCode::CANCELLED, "the endpoint shut down before the gateway confirmed");
}

}  // namespace

Acknowledger::Acknowledger(std::unique_ptr<v1::Exchange::StubInterface> stub, AcknowledgerOptions options, Done done)
    : stub_(std::move(stub)), options_(options), done_(std::move(done)), worker_([this] { Run(); }) {}

Acknowledger::~Acknowledger() { Shutdown(std::chrono::milliseconds(0)); }

bool Acknowledger::Enqueue(v1::AcknowledgeRequest request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || queue_.size() >= options_.max_queue) return false;
  queue_.push_back(std::move(request));
  cv_.notify_all();
  return true;
}

void Acknowledger::Shutdown(std::chrono::milliseconds drain) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    stopping_ = true;
    cv_.notify_all();
    cv_.wait_for(lock, drain, [this] { return queue_.empty() && !busy_; });
    abort_ = true;
    if (in_flight_ != nullptr) in_flight_->TryCancel();
    cv_.notify_all();
  }
  worker_.join();
}

void Acknowledger::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return abort_ || stopping_ || !queue_.empty(); });
    if (abort_ || queue_.empty()) break;
    v1::AcknowledgeRequest request = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    grpc::Status status = SendWithRetries(request);
    done_(request, status);
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
  std::deque<v1::AcknowledgeRequest> dropped;
  dropped.swap(queue_);
  lock.unlock();
  for (const auto& request : dropped) done_(request, Abandoned());
}

grpc::Status Acknowledger::SendWithRetries(const v1::AcknowledgeRequest& request) {
  std::chrono::milliseconds backoff = options_.initial_backoff;
  grpc::Status status;
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (abort_) return Abandoned();
      in_flight_ = &context;
    }
    v1::AcknowledgeResponse response;
    status = stub_->Acknowledge(&context, request, &response);
    std::unique_lock<std::mutex> lock(mu_);
    in_flight_ = nullptr;
    if (status.ok() || !Retryable(status.error_code()) || attempt >= options_.max_attempts) return status;
    if (cv_.wait_for(lock, backoff, [this] { return abort_; })) return Abandoned();
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace portcullis::adapters
