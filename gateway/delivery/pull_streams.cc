#include "gateway/delivery/pull_streams.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>

#include <grpcpp/impl/codegen/proto_utils.h>

#include "absl/strings/str_cat.h"
#include "gateway/common/log.h"
#include "gateway/common/refusal.h"
#include "gateway/delivery/permanent_failure.h"

namespace portcullis {
namespace {

// Deliveries read from the store at a time by one stream.
constexpr size_t kPage = 64;

}  // namespace

class ReceiveStream;

struct PullStreams::PartyState {
  explicit PartyState(const Party* p) : party(p), id(p->id) {}
  const Party* const party;
  const std::string id;
  std::mutex mu;                    // Guards `stream` and every field of the stream it points to.
  ReceiveStream* stream = nullptr;  // The open stream, if any.
  uint64_t opened = 0;              // Streams opened so far (guarded by mu): each stream's serial.
  // Set by Wake without the mutex (Wake runs on the store's writer thread,
  // which must not wait for a pump reading the store); the pump reads it.
  std::atomic<bool> woken{false};
  // Clustered: the database's view of the stream may have changed
  // (StreamsChanged, the poll); a confirm made here must be announced.
  std::atomic<bool> recheck{false};
  std::atomic<bool> announce{false};
  // Outcomes of dead-letter updates (seq -> recorded), written by the store's
  // writer thread (which must not take `mu`), read by the pump.
  std::mutex held_mu;
  std::map<int64_t, bool> held_done;
};

// One Receive stream; all of its state is guarded by its party's mutex.
// gRPC never runs OnWriteDone inline inside StartWrite, so writes may start
// under that mutex.
// The Exchange service registers Receive raw: deliveries leave as bytes.
class ReceiveStream final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  ReceiveStream(PullStreams::PartyState* party, uint32_t window, std::function<void()> on_progress,
                PullStreams::OnSent* on_sent, std::string peer)
      : party_(party), window_(window), on_progress_(std::move(on_progress)), on_sent_(on_sent),
        peer_(std::move(peer)) {
    std::lock_guard<std::mutex> lock(party_->mu);
    if (party_->stream != nullptr) {
      party_->stream->FinishLocked(ToGrpcStatus(
          Refuse(absl::StatusCode::kAborted, "RECEIVE_STREAM_REPLACED", "",
                 absl::StrCat("a newer Receive stream of '", party_->id, "' replaced this one"))));
    }
    party_->stream = this;
    serial_ = ++party_->opened;
  }

  // Requires the party's mutex. Ends the stream (after a write in progress).
  void FinishLocked(grpc::Status status) {
    if (finished_) return;
    finished_ = true;
    if (party_->stream == this) party_->stream = nullptr;
    if (writing_) {
      finish_after_write_ = std::move(status);
    } else {
      Finish(std::move(status));
    }
  }

  void OnWriteDone(bool ok) override {
    std::shared_ptr<const MessageRecord> sent;
    uint32_t attempt = 0;
    PullStreams::OnSent* const on_sent = on_sent_;
    PullStreams::PartyState* const party = party_;
    const std::function<void()> on_progress = on_progress_;
    {
      std::lock_guard<std::mutex> lock(party_->mu);
      writing_ = false;
      if (finish_after_write_.has_value()) {
        // Ended (replaced or cancelled) during the write. If the write
        // arrived it is a disclosure: recorded like any other.
        Finish(*std::move(finish_after_write_));
        finish_after_write_.reset();
        if (ok) {
          sent = std::move(current_message_);
          attempt = current_.attempt();
        }
      } else if (!ok) {
        // The stream broke: what it sent and the party did not confirm is
        // sent again on its next stream.
        FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "Receive stream write failed"));
        return;
      } else {
        if (current_seq_ > confirmed_seq_) unconfirmed_.emplace_back(current_seq_, current_.delivery_id());
        sent = std::move(current_message_);
        attempt = current_.attempt();
      }
    }
    // Only locals and the party from here: once Finish is called, OnDone
    // may delete this stream as soon as this reaction returns.
    if (sent != nullptr) (*on_sent)(party->id, *sent, attempt);
    on_progress();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(party_->mu);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    {
      std::lock_guard<std::mutex> lock(party_->mu);
      if (party_->stream == this) party_->stream = nullptr;
    }
    delete this;
  }

  // The pump's state, guarded by the party's mutex.
  bool Ready() const { return !finished_ && !writing_ && unconfirmed_.size() < window_; }
  bool more = true;       // The store may hold deliveries after read_seq.
  int64_t read_seq = 0;   // Highest seq read from the store.
  std::deque<DeliveryRow> page;
  // The page's head can never be sent and its FAILED update is not durable
  // yet: nothing after it is sent until it is (PartyState::held_done).
  int64_t held_seq = 0;
  // Clustered: the generation this stream claimed (sends nothing before).
  bool claimed = false;
  int64_t generation = 0;

  void Send(int64_t seq, v1::Delivery delivery, std::shared_ptr<const MessageRecord> message) {
    current_seq_ = seq;
    current_ = std::move(delivery);
    current_message_ = std::move(message);
    writing_ = true;
    bool own_buffer = false;
    current_bytes_.Clear();
    grpc::SerializationTraits<v1::Delivery>::Serialize(current_, &current_bytes_, &own_buffer);
    StartWrite(&current_bytes_);
  }

  // The party holds everything sent up to `through_seq` (also a write
  // whose completion has not been reported yet).
  void ConfirmedLocked(int64_t through_seq) {
    confirmed_seq_ = std::max(confirmed_seq_, through_seq);
    while (!unconfirmed_.empty() && unconfirmed_.front().first <= through_seq) unconfirmed_.pop_front();
  }
  size_t unconfirmed() const { return unconfirmed_.size(); }
  const std::string& peer() const { return peer_; }
  // Which of its party's streams this is (1, 2, ...): a pointer may be reused.
  uint64_t serial() const { return serial_; }

 private:
  PullStreams::PartyState* const party_;
  const uint32_t window_;
  const std::function<void()> on_progress_;
  PullStreams::OnSent* const on_sent_;
  const std::string peer_;
  uint64_t serial_ = 0;
  bool finished_ = false;
  bool writing_ = false;
  std::optional<grpc::Status> finish_after_write_;
  int64_t current_seq_ = 0;
  int64_t confirmed_seq_ = 0;  // Highest seq the party confirmed while this stream was open.
  v1::Delivery current_;
  grpc::ByteBuffer current_bytes_;  // current_, serialized.
  std::shared_ptr<const MessageRecord> current_message_;
  std::deque<std::pair<int64_t, std::string>> unconfirmed_;  // (seq, delivery id), in the order sent.
};

PullStreams::PullStreams(const Config& config, MessageStore* store, CanSend can_send, OnSent on_sent, Fits fits,
                         OnUndeliverable on_undeliverable)
    : store_(store),
      can_send_(std::move(can_send)),
      on_sent_(std::move(on_sent)),
      fits_(std::move(fits)),
      on_undeliverable_(std::move(on_undeliverable)),
      max_send_bytes_(config.MaxSendMessageBytes()) {
  for (const Party& p : config.parties) {
    if (p.delivery.mode == DeliveryMode::kPull) parties_[p.id] = std::make_unique<PullStreams::PartyState>(&p);
  }
  pump_ = std::thread([this] { PumpLoop(); });
}

PullStreams::~PullStreams() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  pump_.join();
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* PullStreams::OpenStream(const std::string& party,
                                                                    uint32_t max_unconfirmed, std::string peer) {
  auto it = parties_.find(party);
  if (it == parties_.end()) return nullptr;
  PartyState* p = it->second.get();
  const uint32_t window = max_unconfirmed == 0 ? kDefaultMaxUnconfirmed : std::min(max_unconfirmed, kMaxMaxUnconfirmed);
  auto* stream = new ReceiveStream(p, window, [this, p] { Enqueue(p); }, &on_sent_, std::move(peer));
  Enqueue(p);
  return stream;
}

void PullStreams::Wake(const std::string& party) {
  auto it = parties_.find(party);
  if (it == parties_.end()) return;
  it->second->woken.store(true);
  Enqueue(it->second.get());
}

void PullStreams::Confirmed(const std::string& party, int64_t through_seq) {
  auto it = parties_.find(party);
  if (it == parties_.end()) return;
  {
    std::lock_guard<std::mutex> lock(it->second->mu);
    if (it->second->stream != nullptr) {
      it->second->stream->ConfirmedLocked(through_seq);
    } else if (claims_.load()->clustered()) {
      // The party's stream is open on another replica: its window frees now,
      // not at its next poll.
      it->second->announce.store(true);
    }
  }
  Enqueue(it->second.get());
}

void PullStreams::SetClaims(StreamClaims* claims) { claims_.store(claims != nullptr ? claims : &no_claims_); }

void PullStreams::StreamsChanged(const std::string& party) {
  auto it = parties_.find(party);
  if (it == parties_.end()) return;
  it->second->recheck.store(true);
  Enqueue(it->second.get());
}

ReceiveStream* PullStreams::CheckClaim(PartyState* p, std::unique_lock<std::mutex>& lock, ReceiveStream* s) {
  // Claim first; then before every page read, and when told or at the poll.
  const bool claim = !s->claimed;
  if (!claim && !p->recheck.exchange(false) && !(s->Ready() && s->page.empty() && s->more)) return s;
  const uint64_t serial = s->serial();
  const int64_t read_seq = s->read_seq;  // Only the pump changes it.
  StreamClaims* claims = claims_.load();
  // The database is asked without the party's mutex: gRPC's callbacks
  // (OnCancel, OnDone, OnWriteDone) and Confirmed take it, and must never
  // wait for a slow or unreachable server.
  lock.unlock();
  absl::StatusOr<int64_t> generation = 0;
  absl::StatusOr<StreamClaims::State> state = StreamClaims::State{};
  if (claim) {
    generation = claims->Claim(p->id);
  } else {
    state = claims->Read(p->id);
  }
  lock.lock();
  // The stream may have ended meanwhile, or been replaced here (the new one
  // is enqueued by OpenStream and claims for itself).
  s = p->stream;
  if (s == nullptr || s->serial() != serial) return nullptr;
  if (claim) {
    if (!generation.ok()) {
      // Sends nothing until it holds the party's stream; tried at the next tick.
      LogLine("cannot claim the Receive stream of '%s': %s\n", p->id.c_str(),
              generation.status().ToString().c_str());
      return nullptr;
    }
    s->claimed = true;
    s->generation = *generation;
    // `recheck` stays as it is: a claim made elsewhere just after this one
    // may have been heard already (its own notification costs one read).
    return s;
  }
  if (!state.ok()) {
    p->recheck.store(true);  // Next tick.
    return nullptr;
  }
  if (state->generation != s->generation) {
    s->FinishLocked(ToGrpcStatus(Refuse(absl::StatusCode::kAborted, "RECEIVE_STREAM_REPLACED", "",
                                        absl::StrCat("a newer Receive stream of '", p->id,
                                                     "' (on another replica) replaced this one"))));
    return nullptr;
  }
  // Settled wherever they were confirmed: everything below the lowest ACCEPTED seq.
  s->ConfirmedLocked(state->first_accepted_seq > 0 ? state->first_accepted_seq - 1 : read_seq);
  return s;
}

size_t PullStreams::EndStreams(
    const std::function<grpc::Status(const std::string& party, const std::string& peer)>& check) {
  size_t ended = 0;
  for (auto& [id, party] : parties_) {
    std::lock_guard<std::mutex> lock(party->mu);
    if (party->stream == nullptr) continue;
    grpc::Status status = check(id, party->stream->peer());
    if (status.ok()) continue;
    party->stream->FinishLocked(std::move(status));  // Clears party->stream.
    ++ended;
  }
  return ended;
}

size_t PullStreams::unconfirmed(const std::string& party) {
  auto it = parties_.find(party);
  if (it == parties_.end()) return 0;
  std::lock_guard<std::mutex> lock(it->second->mu);
  return it->second->stream == nullptr ? 0 : it->second->stream->unconfirmed();
}

void PullStreams::Enqueue(PartyState* p) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wanted_.insert(p);
  }
  cv_.notify_one();
}

void PullStreams::PumpLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  // The tick's interval is read again at every wait: SetClaims may change it
  // after the pump started.
  auto last_tick = std::chrono::steady_clock::now();
  while (!stopping_) {
    if (wanted_.empty() &&
        !cv_.wait_until(lock, last_tick + claims_.load()->poll_interval(),
                        [this] { return stopping_ || !wanted_.empty(); })) {
      const auto now = std::chrono::steady_clock::now();
      if (now < last_tick + claims_.load()->poll_interval()) continue;  // The interval grew meanwhile.
      // Every tick (1 s; cluster.poll_ms with replicas) every open stream
      // looks at the store again: this retries after a read error or while
      // the audit log could not record, and finds deliveries that no Wake
      // announced; with replicas it also looks at its claim.
      last_tick = now;
      for (auto& [id, party] : parties_) {
        std::lock_guard<std::mutex> plock(party->mu);
        if (party->stream != nullptr) party->stream->more = true;
        party->recheck.store(true);
        wanted_.insert(party.get());
      }
    }
    if (stopping_) break;
    std::set<PartyState*> batch;
    batch.swap(wanted_);
    lock.unlock();
    for (PartyState* p : batch) Pump(p);
    lock.lock();
  }
}

void PullStreams::Pump(PartyState* p) {
  if (p->announce.exchange(false)) {
    if (absl::Status s = claims_.load()->Announce(p->id); !s.ok()) {
      LogLine("cannot announce a confirm of '%s': %s\n", p->id.c_str(), s.ToString().c_str());
    }
  }
  std::unique_lock<std::mutex> lock(p->mu);
  ReceiveStream* s = p->stream;
  if (s == nullptr) return;
  if (p->woken.exchange(false)) s->more = true;
  if (claims_.load()->clustered() && (s = CheckClaim(p, lock, s)) == nullptr) return;
  if (!s->Ready()) return;
  if (s->held_seq != 0) {
    std::optional<bool> recorded;
    {
      std::lock_guard<std::mutex> held(p->held_mu);
      auto it = p->held_done.find(s->held_seq);
      if (it != p->held_done.end()) {
        recorded = it->second;
        p->held_done.erase(it);
      }
    }
    if (!recorded.has_value()) return;  // Still being written.
    if (*recorded && !s->page.empty() && s->page.front().seq == s->held_seq) s->page.pop_front();
    // Not recorded: it stays at the head and is tried again at the next
    // tick (not in a tight loop); nothing after it is sent meanwhile.
    s->held_seq = 0;
    if (!*recorded) return;
  }
  for (;;) {
    if (s->page.empty()) {
      if (!s->more) return;
      s->more = false;
      auto rows = store_->PendingDeliveries(p->id, s->read_seq, kPage);
      if (!rows.ok()) {
        s->more = true;  // Read again at the next tick.
        return;
      }
      if (rows->size() == kPage) s->more = true;
      for (DeliveryRow& row : *rows) {
        s->read_seq = row.seq;
        s->page.push_back(std::move(row));
      }
      if (s->page.empty()) return;
      store_->RecordPulled(p->id, s->read_seq);  // What a confirm may reach (MessageStore::ConfirmPulled).

    }
    // No disclosure that could not be recorded: wait for the audit log.
    if (!can_send_()) return;
    auto message = store_->Get(s->page.front().sender, s->page.front().message_id);
    if (!message.ok() && message.status().code() != absl::StatusCode::kNotFound) return;  // Next tick.
    if (!message.ok()) {
      s->page.pop_front();
      continue;  // Withdrawn.
    }
    const MessageRecord& m = **message;
    auto rr = std::find_if(m.recipients.begin(), m.recipients.end(),
                           [&](const RecipientRecord& r) { return r.party == p->id; });
    if (rr == m.recipients.end() || rr->state != v1::ACCEPTED) {
      s->page.pop_front();
      continue;  // Settled meanwhile.
    }
    const DeliveryRow& row = s->page.front();
    v1::Delivery d;
    d.set_delivery_id(row.delivery_id);
    *d.mutable_envelope() = m.envelope;
    *d.mutable_accepted_at() = m.receipt.accepted_at();
    d.set_originating_officer_verified(m.receipt.originating_officer_verified());
    d.set_attempt(row.attempts + 1);
    absl::Status fits = fits_(*p->party, m.envelope);
    if (fits.ok() && d.ByteSizeLong() > max_send_bytes_) {
      fits = TooLarge("delivery", d.ByteSizeLong(), max_send_bytes_, "a Receive stream carries");
    }
    if (!fits.ok()) {
      // Never written. The rows after it wait until its FAILED is durable:
      // RecordPulled already covers them, and a confirm of a later delivery
      // would otherwise move this unsent one to DELIVERED.
      s->held_seq = row.seq;
      {
        std::lock_guard<std::mutex> held(p->held_mu);
        p->held_done.erase(row.seq);
      }
      on_undeliverable_(p->id, row, *std::move(message), fits, [this, p, seq = row.seq](bool recorded) {
        {
          std::lock_guard<std::mutex> held(p->held_mu);
          p->held_done[seq] = recorded;
        }
        Enqueue(p);
      });
      return;
    }
    const int64_t seq = row.seq;
    s->page.pop_front();
    s->Send(seq, std::move(d), *std::move(message));
    return;
  }
}

}  // namespace portcullis
