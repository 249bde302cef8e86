// Which push destinations this gateway may deliver to now (docs/cluster.md,
// "The unit of claim: a push destination"). The dispatcher asks before every
// page it reads and every attempt it starts; the owner tells it when a
// destination is gained or lost.
//
// One gateway (SQLite): AlwaysOwner, every destination always. Replicas on
// one PostgreSQL database: DestinationLeases (gateway/cluster), a destination
// while this replica holds its lease.
#ifndef PORTCULLIS_GATEWAY_DELIVERY_OWNERSHIP_H_
#define PORTCULLIS_GATEWAY_DELIVERY_OWNERSHIP_H_

#include <functional>
#include <string>

namespace portcullis {

class DestinationOwnership {
 public:
  // `held`: true when the destination was gained, false when it was lost.
  using Listener = std::function<void(const std::string& destination, bool held)>;

  virtual ~DestinationOwnership() = default;
  // True while an attempt to `destination` may start (and its deliveries be
  // read). Cheap; thread-safe; may turn false without a Listener call first
  // (a lease that could not be renewed in time).
  virtual bool MayStart(const std::string& destination) const = 0;
  // Set once, before any change is reported; called on the owner's thread,
  // never while the owner holds a lock of its own.
  virtual void SetListener(Listener listener) = 0;
};

// Every destination, always (one gateway on its own store).
class AlwaysOwner : public DestinationOwnership {
 public:
  bool MayStart(const std::string&) const override { return true; }
  void SetListener(Listener) override {}
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_DELIVERY_OWNERSHIP_H_
