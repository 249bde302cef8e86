// An agency's outbox folder (docs/adapters.md): its case system drops native
// records (*.json) there; the adapter daemon submits each and files it away:
//
//   <outbox>/NAME.json                  waiting (also after a transient failure: retried)
//   <outbox>/sent/NAME.json             accepted; NAME.receipt.json beside it
//   <outbox>/rejected/NAME.json         bad record or refused by the gateway;
//                                       NAME.problems.txt says why (file:line:col: field: rule)
//
// A record that leaves out its creation time gets the file's modification
// time, so a retry after a crash between the gateway's receipt and the move
// is the same submission and the gateway answers with the original receipt
// (never MESSAGE_ID_REUSED, never a second message). Transient refusals
// (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ..., and the officer
// assertion's UNAUTHENTICATED ASSERTION_KEY_UNKNOWN and ASSERTION_EXPIRED: a
// key rotation the gateway has not caught up with, clocks apart) leave the
// file in place and end the pass, so files are submitted in name order.
// Every other refusal (e.g. ASSERTION_SIGNATURE, OFFICER_MISMATCH) files it
// in rejected/.
//
// Files whose name starts with '.' are ignored (write as .NAME.tmp, then rename).
// One worker thread; thread-safe Start/Stop.
#ifndef PORTCULLIS_ADAPTERS_COMMON_OUTBOX_WATCHER_H_
#define PORTCULLIS_ADAPTERS_COMMON_OUTBOX_WATCHER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "adapters/common/native_format.h"
#include "adapters/common/native_submit.h"
#include "portcullis/v1/exchange.grpc.pb.h"

namespace portcullis::adapters {

struct OutboxWatcherOptions {
  std::string dir;
  std::string party;
  const NativeFormat* format = nullptr;
  std::shared_ptr<v1::Exchange::StubInterface> stub;
  // Each Submit's officer assertion, for the record's officer (none if unset).
  // A source that fails (e.g. the assertion command) fails the call
  // UNAVAILABLE: transient, the file stays to be retried.
  OfficerCredentials credentials;
  std::chrono::milliseconds poll_interval{500};
  std::function<void(const std::string&)> on_event;  // One line per file filed, or per transient failure.
};

class OutboxWatcher {
 public:
  explicit OutboxWatcher(OutboxWatcherOptions options);
  ~OutboxWatcher();
  OutboxWatcher(const OutboxWatcher&) = delete;
  OutboxWatcher& operator=(const OutboxWatcher&) = delete;

  void Start();
  void Stop();
  // One pass over the folder (what the worker does each poll; tests call it).
  void ScanOnce();

  int sent_count() const { return sent_.load(); }
  int rejected_count() const { return rejected_.load(); }

 private:
  void Run();
  // False if the file stays for a retry (the scan stops there, keeping order).
  bool Handle(const std::string& name);
  void Event(const std::string& what) const;

  const OutboxWatcherOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<int> sent_{0};
  std::atomic<int> rejected_{0};
  std::thread worker_;
};

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_OUTBOX_WATCHER_H_
