// Pull mode for an adapter (docs/delivery.md, "Pull mode"): keeps one
// Exchange.Receive stream open, stores each delivery in the party's
// NativeInbox (durable, then rendered natively) and only then confirms it
// (Exchange.Confirm). A crash before the confirm gets the delivery again on
// the next stream; the inbox discards it by delivery id. When the stream
// ends (gateway restart, network, replaced by a newer stream) it reconnects
// with backoff, resuming after the last delivery it stored.
//
// A delivery the inbox can never render (NativeInbox: UnrenderableError) is
// kept with its reason and refused to the gateway: Exchange.Acknowledge
// REJECT with reason "UNRENDERABLE: ..." as `officer`, then confirmed, so it
// never holds up what follows (docs/delivery.md). If the rejection cannot be
// recorded now, the stream is ended and it is tried again on the next one.
//
// Thread-safe; one worker thread. Hooks run on it and must be quick.
#ifndef PORTCULLIS_ADAPTERS_COMMON_PULL_RECEIVER_H_
#define PORTCULLIS_ADAPTERS_COMMON_PULL_RECEIVER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "adapters/common/native_inbox.h"
#include "adapters/common/native_submit.h"
#include "portcullis/v1/exchange.grpc.pb.h"

namespace portcullis::adapters {

struct PullReceiverOptions {
  std::shared_ptr<grpc::Channel> channel;  // To the gateway, with the party's certificate.
  NativeInbox* inbox = nullptr;            // Not owned; outlives the receiver.
  uint32_t max_unconfirmed = 256;
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
  // Who rejects a delivery that can never be rendered (never a person: nobody read it).
  std::string officer = "system:adapter";
  // The officer assertion for `officer` on those rejections (never on Receive
  // or Confirm); nullptr: none.
  OfficerCredentials credentials;
  std::function<void(const v1::Delivery&)> on_stored;  // Newly stored (not for duplicates).
  std::function<void(const v1::Delivery&)> on_rejected;  // Rejected as unrenderable (the gateway recorded it).
  std::function<void(const std::string&)> on_event;    // Stream ended, store failed, ... in words.
};

class PullReceiver {
 public:
  explicit PullReceiver(PullReceiverOptions options);
  ~PullReceiver();  // Stop().
  PullReceiver(const PullReceiver&) = delete;
  PullReceiver& operator=(const PullReceiver&) = delete;

  void Start();
  // Cancels the stream and joins the worker. Idempotent.
  void Stop();

  int stored_count() const { return stored_.load(); }
  int duplicate_count() const { return duplicates_.load(); }
  int rejected_count() const { return rejected_.load(); }

 private:
  void Run();
  // One stream, until it ends. Returns true if it stored anything (a
  // delivery that cannot be stored keeps the backoff growing).
  bool RunStream(v1::Exchange::Stub& stub);
  void Event(const std::string& what) const;
  // Exchange.Acknowledge REJECT of `delivery`, which can never be rendered.
  bool Reject(v1::Exchange::Stub& stub, const v1::Delivery& delivery, const absl::Status& why);

  const PullReceiverOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  grpc::ClientContext* stream_context_ = nullptr;  // Guarded by mu_.
  std::string last_stored_;                        // Worker thread only.
  std::atomic<int> stored_{0};
  std::atomic<int> duplicates_{0};
  std::atomic<int> rejected_{0};
  std::thread worker_;
};

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_PULL_RECEIVER_H_
