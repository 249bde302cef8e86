// Receive streams of pull-mode parties, fed from the durable store
// (docs/delivery.md, "Pull mode").
//
// A stream sends the party's ACCEPTED deliveries in seq order, paging them
// from the store (nothing is queued in memory beyond one page per open
// stream), up to `max_unconfirmed` sent and not yet confirmed; Confirm (or
// the next stream's resume_after_delivery_id) marks them DELIVERED. A new
// stream starts again from the first unconfirmed delivery, so what a broken
// stream sent and the party did not confirm is sent again, same delivery id.
//
// Rule for concurrent streams: one per party. A new stream replaces the open
// one, which ends with ABORTED / RECEIVE_STREAM_REPLACED: after a dropped
// connection the gateway may not yet know that the old stream is dead, and
// the party must be able to resume at once.
//
// A delivery that can never be sent (larger than the party accepts or than
// the listener's send limit) is not written: it becomes a dead letter at once
// and the stream goes on (docs/delivery.md, "Deliveries that can never
// succeed"); a write the transport refused would end the stream on every
// reconnect and hold up everything behind it.
//
// Several replicas (docs/cluster.md, "Receive streams across replicas"): the
// rule holds cluster-wide through StreamClaims (SetClaims). A new stream
// claims the party's next generation before it sends anything; a stream whose
// generation moved on ends RECEIVE_STREAM_REPLACED, promptly when told
// (StreamsChanged, from NOTIFY portcullis_streams) and at the latest before
// its next page read or poll. Confirms made on another replica free the
// stream's window the same way (the party's lowest ACCEPTED seq).
//
// One pump thread reads the store and starts writes; gRPC's threads only
// report completions. The set of parties is fixed at construction. Thread-safe.
#ifndef PORTCULLIS_GATEWAY_DELIVERY_PULL_STREAMS_H_
#define PORTCULLIS_GATEWAY_DELIVERY_PULL_STREAMS_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include "absl/status/status.h"
#include "gateway/config/config.h"
#include "gateway/delivery/stream_claims.h"
#include "gateway/store/message_store.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis {

class ReceiveStream;

class PullStreams {
 public:
  // Whether a disclosure may be made now (the audit log can record it).
  using CanSend = std::function<bool()>;
  // Called when a delivery was written to a stream (for the audit log).
  using OnSent = std::function<void(const std::string& party, const MessageRecord& message, uint32_t attempt)>;
  // OK if `envelope` is within what `party` accepts; else why it never can be
  // (a PermanentFailure, permanent_failure.h).
  using Fits = std::function<absl::Status(const Party& party, const v1::Envelope& envelope)>;
  // A delivery that can never be sent (`why`): recorded as a dead letter,
  // then `done(recorded)`. The stream sends nothing after it until that is
  // durable (a confirm of a later delivery must never reach an unsent
  // ACCEPTED row); if it could not be recorded, the stream meets it again.
  using OnUndeliverable =
      std::function<void(const std::string& party, const DeliveryRow& row, std::shared_ptr<const MessageRecord> message,
                         const absl::Status& why, std::function<void(bool recorded)> done)>;

  static constexpr uint32_t kDefaultMaxUnconfirmed = 256;
  static constexpr uint32_t kMaxMaxUnconfirmed = 4096;

  // `config` outlives this object.
  PullStreams(const Config& config, MessageStore* store, CanSend can_send, OnSent on_sent, Fits fits,
              OnUndeliverable on_undeliverable);
  // Stops the pump. Every stream must have ended (the server is shut down).
  ~PullStreams();

  bool IsPullParty(const std::string& party) const { return parties_.count(party) > 0; }

  // Replicas: claims in the database (not owned; outlives this object).
  // Before the first OpenStream; default NoStreamClaims (one gateway). Its
  // poll_interval() becomes the pump's tick.
  void SetClaims(StreamClaims* claims);
  // Another replica may have claimed `party`'s stream or settled deliveries
  // its stream here sent: look at the database.
  void StreamsChanged(const std::string& party);

  // A reactor for a new Receive stream of pull-mode party `party`;
  // `max_unconfirmed` 0 means kDefaultMaxUnconfirmed. `peer` (opaque, e.g.
  // the caller's certificates) is kept for EndStreams.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* OpenStream(const std::string& party, uint32_t max_unconfirmed,
                                                     std::string peer = {});

  // Ends every open stream for which `check(party, peer)` is not OK, with
  // that status (e.g. UNAUTHENTICATED when the trust store changed and the
  // stream's certificate is now revoked). `check` runs under the party's
  // lock and must not call back into PullStreams. Returns how many ended.
  size_t EndStreams(const std::function<grpc::Status(const std::string& party, const std::string& peer)>& check);

  // `party` may have new deliveries in the store.
  void Wake(const std::string& party);
  // `party` confirmed everything up to `through_seq`: its stream may send more.
  void Confirmed(const std::string& party, int64_t through_seq);

  // For tests: deliveries sent on the party's open stream and not yet confirmed.
  size_t unconfirmed(const std::string& party);

  struct PartyState;  // Internal.

 private:
  void PumpLoop();
  void Pump(PartyState* p);
  void Enqueue(PartyState* p);

  // Clustered: claims the stream's generation, or checks it, asking the
  // database without the party's mutex (`lock` holds it on entry and on
  // return). The party's stream to go on with (`s`, re-validated), or null
  // if none must go on now (ended or replaced meanwhile, or the database did
  // not answer).
  ReceiveStream* CheckClaim(PartyState* p, std::unique_lock<std::mutex>& lock, ReceiveStream* s);

  MessageStore* store_;
  NoStreamClaims no_claims_;
  std::atomic<StreamClaims*> claims_{&no_claims_};  // Set once, before the first stream; read by the pump.
  CanSend can_send_;
  OnSent on_sent_;
  Fits fits_;
  OnUndeliverable on_undeliverable_;
  size_t max_send_bytes_;  // The listener's send limit (Config::MaxSendMessageBytes()).
  std::map<std::string, std::unique_ptr<PartyState>> parties_;

  std::mutex mu_;  // Guards the pump's queue.
  std::condition_variable cv_;
  std::set<PartyState*> wanted_;
  bool stopping_ = false;
  std::thread pump_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_DELIVERY_PULL_STREAMS_H_
