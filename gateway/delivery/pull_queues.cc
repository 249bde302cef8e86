#include "gateway/delivery/pull_queues.h"

#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"

namespace portcullis {

class ReceiveStream;

struct PullQueues::Queue {
  std::mutex mu;
  std::deque<v1::Delivery> items;
  ReceiveStream* stream = nullptr;  // Guarded by mu.
};

// One Receive stream. Its state is guarded by the queue's mutex. gRPC never
// runs OnWriteDone inline inside StartWrite, so starting a write under the
// mutex is safe.
class ReceiveStream final : public grpc::ServerWriteReactor<v1::Delivery> {
 public:
  ReceiveStream(PullQueues::Queue* queue, std::string party, const PullQueues::OnWritten* on_written)
      : queue_(queue), party_(std::move(party)), on_written_(on_written) {
    std::unique_lock<std::mutex> lock(queue_->mu);
    if (queue_->stream != nullptr) {
      finished_ = true;
      lock.unlock();
      Finish(ToGrpcStatus(Refuse(absl::StatusCode::kFailedPrecondition, "RECEIVE_STREAM_ALREADY_OPEN", "",
                                 absl::StrCat("party '", party_, "' already has an open Receive stream"))));
      return;
    }
    queue_->stream = this;
    MaybeWriteLocked();
  }

  // Requires queue_->mu.
  void MaybeWriteLocked() {
    if (finished_ || writing_ || queue_->items.empty()) return;
    writing_ = true;
    current_ = queue_->items.front();
    StartWrite(&current_);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(queue_->mu);
    writing_ = false;
    if (!ok) {
      // The stream broke: the delivery stays at the head of the queue.
      DetachLocked();
      lock.unlock();
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream write failed"));
      return;
    }
    v1::Delivery written = std::move(current_);
    if (!queue_->items.empty() && queue_->items.front().delivery_id() == written.delivery_id()) {
      queue_->items.pop_front();
    }
    MaybeWriteLocked();
    lock.unlock();
    (*on_written_)(party_, written);
  }

  void OnCancel() override {
    std::unique_lock<std::mutex> lock(queue_->mu);
    if (finished_) return;
    DetachLocked();
    lock.unlock();
    Finish(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    {
      std::lock_guard<std::mutex> lock(queue_->mu);
      if (queue_->stream == this) queue_->stream = nullptr;
    }
    delete this;
  }

 private:
  void DetachLocked() {
    finished_ = true;
    if (queue_->stream == this) queue_->stream = nullptr;
  }

  PullQueues::Queue* const queue_;
  const std::string party_;
  const PullQueues::OnWritten* const on_written_;
  bool finished_ = false;
  bool writing_ = false;
  v1::Delivery current_;
};

PullQueues::PullQueues(const Config& config, OnWritten on_written) : on_written_(std::move(on_written)) {
  for (const Party& p : config.parties) {
    if (p.delivery.mode == DeliveryMode::kPull) queues_[p.id] = std::make_unique<Queue>();
  }
}

PullQueues::~PullQueues() = default;

absl::Status PullQueues::Enqueue(const std::string& party, v1::Delivery delivery) {
  auto it = queues_.find(party);
  if (it == queues_.end()) return absl::NotFoundError(absl::StrCat("'", party, "' is not a pull-mode party"));
  Queue& q = *it->second;
  std::lock_guard<std::mutex> lock(q.mu);
  q.items.push_back(std::move(delivery));
  if (q.stream != nullptr) q.stream->MaybeWriteLocked();
  return absl::OkStatus();
}

grpc::ServerWriteReactor<v1::Delivery>* PullQueues::OpenStream(const std::string& party) {
  auto it = queues_.find(party);
  if (it == queues_.end()) return nullptr;
  return new ReceiveStream(it->second.get(), party, &on_written_);
}

size_t PullQueues::depth(const std::string& party) const {
  auto it = queues_.find(party);
  if (it == queues_.end()) return 0;
  std::lock_guard<std::mutex> lock(it->second->mu);
  return it->second->items.size();
}

}  // namespace portcullis
