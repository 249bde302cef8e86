// Bounded backlog per destination (docs/delivery.md, back-pressure): how many
// accepted deliveries, and how many bytes of their envelopes, wait for each
// recipient. Submit reserves room for every recipient before it stores
// anything; a delivery that leaves the backlog (delivered, finally failed,
// discarded) releases its room. Beyond a bound the submission is refused with
// RESOURCE_EXHAUSTED BACKLOG_FULL naming the recipient, so memory and disk do
// not grow without limit behind a partner that is down.
//
// On PostgreSQL (store.backend: postgres) this counts nothing: replicas share
// the backlog, so the bound is checked in the acceptance transaction against
// backlog_counts (docs/cluster.md, "Backlog bounds"); Reserve is then always
// OK, Release and Add do nothing, and counting() is false (read the figures
// from the store: DeliveryQueue::BacklogCounts).
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
#include "gateway/store/backlog_bound.h"

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

  // This process's counts (0 when it does not count).
  uint64_t messages(const std::string& recipient) const;
  uint64_t bytes(const std::string& recipient) const;
  // False on PostgreSQL: the database counts (backlog_counts).
  bool counting() const { return counting_; }

 private:
  struct Lane {
    mutable std::mutex mu;
    uint64_t messages = 0;
    uint64_t bytes = 0;
  };
  Lane* Find(const std::string& recipient) const;

  const BacklogBound bound_;
  const bool counting_;
  std::map<std::string, std::unique_ptr<Lane>> lanes_;  // Fixed at construction: one per party.
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_DELIVERY_BACKLOG_H_
