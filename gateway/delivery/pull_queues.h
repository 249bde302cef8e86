// Per-party queues for pull-mode recipients, drained by their Receive stream.
//
// Rule for concurrent streams (documented in docs/architecture.md): a party
// has at most one open Receive stream; a second one is refused with
// FAILED_PRECONDITION / RECEIVE_STREAM_ALREADY_OPEN while the first is open.
// A delivery leaves the queue only when its write on the stream completed;
// if the stream breaks first it stays queued for the next stream.
//
// The set of queues is fixed at construction (one per pull-mode party), so
// lookups take no global lock. Thread-safe.
#ifndef PORTCULLIS_GATEWAY_DELIVERY_PULL_QUEUES_H_
#define PORTCULLIS_GATEWAY_DELIVERY_PULL_QUEUES_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/support/server_callback.h>

#include "absl/status/status.h"
#include "gateway/config/config.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis {

class PullQueues {
 public:
  // Called (outside any lock) when a delivery has been written to a stream.
  using OnWritten = std::function<void(const std::string& party, const v1::Delivery& delivery)>;

  PullQueues(const Config& config, OnWritten on_written);
  ~PullQueues();

  // NOT_FOUND if `party` is not a pull-mode party.
  absl::Status Enqueue(const std::string& party, v1::Delivery delivery);

  // A reactor for a new Receive stream of `party`. It refuses itself
  // (FAILED_PRECONDITION) if the party already has an open stream.
  grpc::ServerWriteReactor<v1::Delivery>* OpenStream(const std::string& party);

  size_t depth(const std::string& party) const;

  struct Queue;  // Internal.

 private:
  std::map<std::string, std::unique_ptr<Queue>> queues_;
  OnWritten on_written_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_DELIVERY_PULL_QUEUES_H_
