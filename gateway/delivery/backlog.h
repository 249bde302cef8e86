// Bounded backlog per destination (docs/delivery.md, back-pressure): how many
// accepted deliveries, and how many bytes of their envelopes, wait for each
// recipient. Submit reserves room for every recipient before it stores
// anything; a delivery that leaves the backlog (delivered, finally failed,
// discarded) releases its room. Beyond a bound the submission is refused with
// RESOURCE_EXHAUSTED BACKLOG_FULL naming the recipient, so memory and disk do
// not grow without limit behind a partner that is down.
//
// Thread-safe: one small mutex per destination, no global lock.
#ifndef PORTCULLIS_GATEWAY_DELIVERY_BACKLOG_H_
#define PORTCULLIS_GATEWAY_DELIVERY_BACKLOG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "gateway/config/config.h"

namespace portcullis {

class Backlog {
 public:
  explicit Backlog(const Config& config);

  // Room for one delivery of `bytes` to each recipient, all or none.
  // RESOURCE_EXHAUSTED (BACKLOG_FULL, field "recipients") if any is full.
  absl::Status Reserve(const google::protobuf::RepeatedPtrField<std::string>& recipients, uint64_t bytes);
  // Gives back what Reserve (or Add) took for one recipient.
  void Release(const std::string& recipient, uint64_t bytes);
  // Counts deliveries found at start-up or put back by an operator (no bound
  // is checked).
  void Add(const std::string& recipient, uint64_t messages, uint64_t bytes);

  uint64_t messages(const std::string& recipient) const;
  uint64_t bytes(const std::string& recipient) const;

 private:
  struct Lane {
    mutable std::mutex mu;
    uint64_t messages = 0;
    uint64_t bytes = 0;
  };
  Lane* Find(const std::string& recipient) const;

  const uint64_t max_messages_;
  const uint64_t max_bytes_;
  std::map<std::string, std::unique_ptr<Lane>> lanes_;  // Fixed at construction: one per party.
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_DELIVERY_BACKLOG_H_
