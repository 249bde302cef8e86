// Sends acknowledgements (Exchange.Acknowledge) to the gateway from one worker
// thread, so the partner endpoint's Deliver handler never waits on the
// gateway. Requests are sent in order; each is retried with exponential
// backoff while the gateway answers UNAVAILABLE, DEADLINE_EXCEEDED or
// NOT_FOUND (the gateway may not yet have recorded the delivery), which is
// safe because the gateway treats a repeated acknowledgement as idempotent.
//
// Every enqueued request is reported exactly once to `done`, on the worker
// thread: with the gateway's final answer, or CANCELLED if Shutdown gave up on
// it. `done` must be thread-safe and must not call back into the Acknowledger.
//
// Thread-safe. The destructor calls Shutdown(0).
#ifndef PORTCULLIS_ADAPTERS_COMMON_ACKNOWLEDGER_H_
#define PORTCULLIS_ADAPTERS_COMMON_ACKNOWLEDGER_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include "portcullis/v1/exchange.grpc.pb.h"

namespace portcullis::adapters {

struct AcknowledgerOptions {
  int max_attempts = 6;  // 0.2 + 0.4 + 0.8 + 1.6 + 3.2 s of backoff in all.
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  std::chrono::milliseconds call_timeout{10000};
  size_t max_queue = 10000;
};

class Acknowledger {
 public:
  using Done = std::function<void(const v1::AcknowledgeRequest&, const grpc::Status&)>;

  Acknowledger(std::unique_ptr<v1::Exchange::StubInterface> stub, AcknowledgerOptions options, Done done);
  ~Acknowledger();
  Acknowledger(const Acknowledger&) = delete;
  Acknowledger& operator=(const Acknowledger&) = delete;

  // Queues `request`. false (and `done` is not called) if the queue is full
  // or Shutdown has begun.
  bool Enqueue(v1::AcknowledgeRequest request);

  // Stops taking requests, lets the queue drain for up to `drain`, then
  // cancels the call in flight and reports the rest as CANCELLED. Blocks
  // until the worker has exited (a concurrent second call returns at once).
  void Shutdown(std::chrono::milliseconds drain);

 private:
  void Run();
  grpc::Status SendWithRetries(const v1::AcknowledgeRequest& request);

  const std::unique_ptr<v1::Exchange::StubInterface> stub_;
  const AcknowledgerOptions options_;
  const Done done_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::AcknowledgeRequest> queue_;
  bool stopping_ = false;  // No new requests; the worker exits once the queue is empty.
  bool abort_ = false;     // Give up now.
  bool busy_ = false;      // The worker holds a request.
  bool shut_down_ = false;  // Shutdown has been called.
  grpc::ClientContext* in_flight_ = nullptr;
  std::thread worker_;     // Last: started once everything above is set.
};

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_ACKNOWLEDGER_H_
