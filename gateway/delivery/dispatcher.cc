#include "gateway/delivery/dispatcher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "gateway/audit/exchange_record.h"
#include "gateway/common/digest.h"
#include "gateway/delivery/permanent_failure.h"

namespace portcullis {
namespace {

// A destination reads its next page once it holds this many fewer than
// kWindow (so that a busy destination reads in pages, not row by row).
constexpr size_t kRefillChunk = 128;
// Most deliveries one expiry sweep changes in one store transaction.
constexpr size_t kExpireBatch = 256;

using Clock = std::chrono::steady_clock;

// A wall-clock due time (as the store keeps it) on the steady clock.
Clock::time_point SteadyFromWall(int64_t wall_micros) {
  const int64_t wait = std::max<int64_t>(0, wall_micros - NowMicros());
  return Clock::now() + std::chrono::microseconds(wait);
}

const RecipientRecord* RecipientOf(const MessageRecord& m, const std::string& party) {
  for (const RecipientRecord& r : m.recipients) {
    if (r.party == party) return &r;
  }
  return nullptr;
}

}  // namespace

Dispatcher::Dispatcher(std::shared_ptr<const Config> config, MessageStore* store, AuditLog* audit,
                       DeliveryTransport* transport, DestinationOwnership* ownership)
    : config_(std::move(config)),
      store_(store),
      audit_(audit),
      transport_(transport),
      backlog_(*config_),
      breakers_(config_->delivery.breaker_failures, std::chrono::milliseconds(config_->delivery.breaker_cooldown_ms)),
      ownership_(ownership != nullptr ? ownership : &always_owner_) {
  for (const Party& p : config_->parties) {
    if (p.delivery.mode == DeliveryMode::kPush) destinations_[p.id] = std::make_unique<Destination>(&p);
  }
  ownership_->SetListener([this](const std::string& destination, bool held) { OnOwnership(destination, held); });
  pull_streams_ = std::make_unique<PullStreams>(
      *config_, store_, [this] { return audit_->Health().ok(); },
      [this](const std::string& party, const MessageRecord& message, uint32_t attempt) {
        RecordOutcome(message, party, "pull", "sent", attempt, "");
      },
      [this](const Party& party, const v1::Envelope& envelope) { return FitsParty(party, envelope); },
      [this](const std::string& party, const DeliveryRow& row, std::shared_ptr<const MessageRecord> message,
             const absl::Status& why, std::function<void(bool)> done) {
        PullUndeliverable(party, row, std::move(message), why, std::move(done));
      });
}

Dispatcher::~Dispatcher() {
  Shutdown(std::chrono::milliseconds(0));
  // In-flight pushes end by their deadline; their callbacks use this object.
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return in_flight_ == 0; });
}

absl::Status Dispatcher::Start() {
  auto counts = store_->BacklogCounts();
  if (!counts.ok()) return counts.status();
  for (const auto& [recipient, count] : *counts) backlog_.Add(recipient, count.messages, count.bytes);
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return absl::OkStatus();
  started_ = true;
  for (auto& [id, d] : destinations_) QueueRefillLocked(d.get());
  scheduler_ = std::thread([this] { SchedulerLoop(); });
  sweeper_ = std::thread([this] { SweeperLoop(); });
  return absl::OkStatus();
}

void Dispatcher::Dispatch(const MessageRecord& message) {
  for (const std::string& recipient : message.envelope.recipients()) Wake(recipient);
}

void Dispatcher::Wake(const std::string& recipient) {
  auto it = destinations_.find(recipient);
  if (it == destinations_.end()) {
    pull_streams_->Wake(recipient);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  Destination* d = it->second.get();
  d->more = true;
  QueueRefillLocked(d);
}

void Dispatcher::QueueRefillLocked(Destination* d) {
  if (d->refill_queued) return;
  d->refill_queued = true;
  refills_.push_back(d);
  cv_.notify_all();
}

void Dispatcher::OnOwnership(const std::string& destination, bool held) {
  auto it = destinations_.find(destination);
  if (it == destinations_.end()) return;
  std::lock_guard<std::mutex> lock(mu_);
  Destination* d = it->second.get();
  // Either way the next tenure starts from the store's oldest ACCEPTED
  // delivery, once nothing of this one is held.
  d->reset = true;
  if (!held) {
    ++d->tenure;  // Jobs of the earlier tenure are dropped at their next step...
    PurgeLocked(d);  // ...and those merely waiting, now.
    return;
  }
  d->more = true;
  QueueRefillLocked(d);
}

bool Dispatcher::CurrentLocked(const Destination* d, const Job& job) const {
  return job.tenure == d->tenure && ownership_->MayStart(d->party->id);
}

void Dispatcher::DropLaneLocked(Destination* d, const Job& job) {
  --d->held;
  auto lane = d->lanes.find(job.lane);
  if (lane != d->lanes.end()) {
    d->held -= lane->second.size();
    d->lanes.erase(lane);
  }
  // What was dropped is still ACCEPTED in the store: read again from the
  // start by whoever holds the destination next (this gateway included).
  d->reset = true;
  UnparkLocked(d);  // Parked heads reach their next step, and are dropped there.
  if (d->held == 0) QueueRefillLocked(d);
}

void Dispatcher::PurgeLocked(Destination* d) {
  // Waiting jobs of an earlier tenure (a retry's backoff, the breaker's
  // cooldown, a parked job, a lane behind its head) would hold the next
  // tenure back until they came due: dropped now. Only jobs being started,
  // pushed or recorded stay held; they are dropped at their next step.
  std::vector<Scheduled> kept;
  kept.reserve(scheduled_.size());
  size_t dropped = 0;
  while (!scheduled_.empty()) {
    Scheduled s = scheduled_.top();
    scheduled_.pop();
    if (s.dest != d || s.job.tenure == d->tenure) {
      kept.push_back(std::move(s));
    } else if (s.job.unrecorded.has_value()) {
      // Its outcome may have committed: it looks now, records it if so, and is dropped.
      s.due = Clock::now();
      s.job.due = s.due;
      kept.push_back(std::move(s));
    } else {
      ++dropped;
    }
  }
  for (Scheduled& s : kept) scheduled_.push(std::move(s));
  dropped += d->parked.size();
  d->parked.clear();
  for (const auto& [lane, waiting] : d->lanes) dropped += waiting.size();
  // A lane whose head is still held (in flight, or kept above) has none
  // behind it now; DropLaneLocked finds it gone.
  d->lanes.clear();
  d->held -= std::min(d->held, dropped);
  cv_.notify_all();
  if (d->held == 0) QueueRefillLocked(d);
}

int Dispatcher::pushes_in_flight(const std::string& destination) {
  auto it = destinations_.find(destination);
  if (it == destinations_.end()) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  return it->second->pushing;
}

size_t Dispatcher::held_in_memory(const std::string& destination) {
  auto it = destinations_.find(destination);
  if (it == destinations_.end()) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  return it->second->held;
}

void Dispatcher::SchedulerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (!refills_.empty()) {
      Destination* d = refills_.front();
      refills_.pop_front();
      d->refill_queued = false;
      lock.unlock();
      Refill(d);
      lock.lock();
      continue;
    }
    if (scheduled_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const Clock::time_point due = scheduled_.top().due;
    if (Clock::now() < due) {
      cv_.wait_until(lock, due);
      continue;
    }
    Scheduled s = scheduled_.top();
    scheduled_.pop();
    ++in_flight_;
    lock.unlock();
    StartAttempt(s.dest, s.job);
    lock.lock();
  }
}

void Dispatcher::Refill(Destination* d) {
  int64_t after = 0;
  size_t room = 0;
  uint64_t tenure = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ownership_->MayStart(d->party->id)) return;  // Not held: nothing read (Wake or a gain asks again).
    if (d->reset) {
      if (d->held > 0) return;  // The last job of the earlier tenure asks again.
      d->reset = false;
      d->loaded_seq = 0;
      d->more = true;
    }
    if (!d->more || d->held >= kWindow) return;
    tenure = d->tenure;
    d->more = false;  // A Wake during the read sets it again.
    after = d->loaded_seq;
    room = kWindow - d->held;
  }
  auto rows = store_->PendingDeliveries(d->party->id, after, room);
  std::lock_guard<std::mutex> lock(mu_);
  if (!rows.ok() || d->tenure != tenure || d->reset) {
    d->more = true;  // The sweeper's next round (or the new tenure) asks again.
    return;
  }
  if (rows->size() == room) d->more = true;
  for (DeliveryRow& row : *rows) {
    if (row.seq <= d->loaded_seq) continue;
    d->loaded_seq = row.seq;
    ++d->held;
    Job job;
    job.seq = row.seq;
    job.tenure = tenure;
    job.sender = std::move(row.sender);
    job.message_id = std::move(row.message_id);
    job.lane = absl::StrCat(job.sender, "\n", row.case_reference);
    job.attempt = row.attempts + 1;  // Continues a count kept across restarts.
    job.due = SteadyFromWall(row.next_attempt_micros);
    auto [lane, idle] = d->lanes.try_emplace(job.lane);
    if (idle) {
      ScheduleLocked(d, std::move(job));
    } else {
      lane->second.push_back(std::move(job));  // Behind the case's earlier messages.
    }
  }
}

void Dispatcher::ScheduleLocked(Destination* d, Job job) {
  if (stopping_) return;  // What is not delivered stays ACCEPTED in the store, resumed at the next start.
  const Clock::time_point due = job.due;
  scheduled_.push(Scheduled{due, next_order_++, d, std::move(job)});
  cv_.notify_all();
}

void Dispatcher::UnparkLocked(Destination* d) {
  // A job that was started but did not push (settled meanwhile, breaker
  // open, store unreadable) frees no slot itself: without this, jobs parked
  // behind it would wait for some other push of the destination to end.
  if (d->parked.empty() || d->pushing >= config_->delivery.workers) return;
  Job next = std::move(d->parked.front());
  d->parked.pop_front();
  next.due = Clock::now();
  ScheduleLocked(d, std::move(next));
}

void Dispatcher::FinishJob(Destination* d, const Job& job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!CurrentLocked(d, job)) {
    DropLaneLocked(d, job);  // No lane's next job starts while the destination is not held.
    return;
  }
  --d->held;
  UnparkLocked(d);
  auto lane = d->lanes.find(job.lane);
  if (lane != d->lanes.end()) {
    if (lane->second.empty()) {
      d->lanes.erase(lane);
    } else {
      Job next = std::move(lane->second.front());
      lane->second.pop_front();
      ScheduleLocked(d, std::move(next));
    }
  }
  if ((d->more && d->held + kRefillChunk <= kWindow) || (d->reset && d->held == 0)) QueueRefillLocked(d);
}

void Dispatcher::RetryLater(Destination* d, Job job, Clock::time_point when) {
  std::lock_guard<std::mutex> lock(mu_);
  // A job with an unrecorded outcome goes on to record it (StartAttempt).
  if (!job.unrecorded.has_value() && !CurrentLocked(d, job)) {
    DropLaneLocked(d, job);
    --in_flight_;
    cv_.notify_all();
    return;
  }
  // Of an earlier tenure, it only records its outcome: not after a long backoff.
  job.due = CurrentLocked(d, job) ? when : std::min(when, Clock::now() + std::chrono::seconds(1));
  ScheduleLocked(d, std::move(job));
  UnparkLocked(d);
  --in_flight_;
  cv_.notify_all();
}

bool Dispatcher::DroppedAtStart(Destination* d, const Job& job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (CurrentLocked(d, job)) return false;
  DropLaneLocked(d, job);
  --in_flight_;
  cv_.notify_all();
  return true;
}

void Dispatcher::StartAttempt(Destination* d, const Job& job) {
  const std::string& party = d->party->id;
  // Not held (lost, or the lease could not be renewed in time): nothing
  // starts. A job with an unrecorded outcome first records it (below).
  if (!job.unrecorded.has_value() && DroppedAtStart(d, job)) return;
  if (!audit_->Health().ok()) {
    // No disclosure that could not be recorded: hold the delivery (without
    // spending an attempt) until the audit log works again.
    RetryLater(d, job, Clock::now() + std::chrono::seconds(1));
    return;
  }
  auto message = store_->Get(job.sender, job.message_id);
  if (!message.ok() && message.status().code() != absl::StatusCode::kNotFound) {
    RetryLater(d, job, Clock::now() + std::chrono::seconds(1));  // Unreadable now: keep the lane.
    return;
  }
  const RecipientRecord* recipient = message.ok() ? RecipientOf(**message, party) : nullptr;
  if (job.unrecorded.has_value() && recipient != nullptr && recipient->seq == job.seq &&
      recipient->state == (job.unrecorded->outcome == "delivered" ? v1::DELIVERED : v1::FAILED)) {
    // This job's own outcome, whose write was answered with an error but
    // committed (the COMMIT's answer was lost): recorded and released now.
    const Job::Unrecorded& u = *job.unrecorded;
    RecordOutcome(**message, party, "push", u.outcome, u.attempts, u.reason, u.code, u.attempted);
    backlog_.Release(party, (*message)->envelope.ByteSizeLong());
    if (u.outcome == "delivered") {
      metrics_.CountDelivered(party);
    } else {
      metrics_.CountFailed(party);
    }
  }
  if (recipient == nullptr || recipient->state != v1::ACCEPTED || recipient->seq != job.seq) {
    // Withdrawn, or settled meanwhile (expired, acknowledged): whoever
    // settled it released its backlog room. Or an operator retried it after
    // it expired, which gave it a new seq: the destination pages that
    // incarnation in its turn. The lane moves on.
    FinishJob(d, job);
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    cv_.notify_all();
    return;
  }
  if (DroppedAtStart(d, job)) return;  // Nothing is decided for a destination not held.
  if (absl::Status fits = FitsParty(*d->party, (*message)->envelope); !fits.ok()) {
    // Can never be carried (e.g. accepted before the party's limit was
    // lowered): a dead letter now, without an attempt; its lane moves on.
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++d->pushing;  // OnAttemptDone ends it like an attempt's.
    }
    OnAttemptDone(d, job, *message, std::move(fits), /*attempted=*/false);
    return;
  }
  {
    // At most `workers` pushes in flight per destination: a partner that
    // hangs holds that many connections, not one per queued message.
    std::lock_guard<std::mutex> lock(mu_);
    if (d->pushing >= config_->delivery.workers) {
      d->parked.push_back(job);  // Started again when one of those pushes ends.
      --in_flight_;
      cv_.notify_all();
      return;
    }
    ++d->pushing;
  }
  if (std::optional<Clock::time_point> later = breakers_.Admit(party)) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --d->pushing;
    }
    RetryLater(d, job, *later);  // The breaker is open: come back then, no attempt spent.
    return;
  }
  std::shared_ptr<const MessageRecord> record = *message;
  v1::Delivery delivery;
  delivery.set_delivery_id(DeliveryIdFor(job.sender, job.message_id, party));
  *delivery.mutable_envelope() = record->envelope;
  *delivery.mutable_accepted_at() = record->receipt.accepted_at();
  delivery.set_originating_officer_verified(record->receipt.originating_officer_verified());
  delivery.set_attempt(job.attempt);
  metrics_.CountAttempt(party);
  transport_->Push(*d->party, delivery, std::chrono::milliseconds(config_->delivery.attempt_timeout_ms),
                   [this, d, job, record](absl::Status status) { OnAttemptDone(d, job, record, std::move(status), true); });
}

void Dispatcher::RetryPairing(std::shared_ptr<const MessageRecord> message, uint64_t audit_index) {
  std::lock_guard<std::mutex> lock(mu_);
  unpaired_.emplace_back(std::move(message), audit_index);
}

absl::Status Dispatcher::FitsParty(const Party& party, const v1::Envelope& envelope) const {
  const size_t bytes = envelope.ByteSizeLong();
  const size_t limit = config_->MaxEnvelopeBytesFor(party);
  if (bytes <= limit) return absl::OkStatus();
  return TooLarge("envelope", bytes, limit, absl::StrCat("'", party.id, "' accepts"));
}

void Dispatcher::SweeperLoop() {
  const auto sweep_interval = std::chrono::milliseconds(
      std::clamp<int64_t>(config_->delivery.max_age_ms / 10, 50, 10000));
  // With replicas (PostgreSQL) the rescan is the safety net under
  // LISTEN/NOTIFY, at its own pace; one gateway rescans after each sweep.
  const auto rescan_interval = config_->store.backend == StoreBackend::kPostgres
                                   ? std::chrono::milliseconds(std::max(1, config_->cluster.poll_ms))
                                   : sweep_interval;
  Clock::time_point next_sweep = Clock::now() + sweep_interval;
  Clock::time_point next_rescan = Clock::now() + rescan_interval;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_cv_.wait_until(lock, std::min(next_sweep, next_rescan), [this] { return stopping_; })) {
    if (Clock::now() >= next_sweep) {
      lock.unlock();
      SweepOnce();
      lock.lock();
      next_sweep = Clock::now() + sweep_interval;
    }
    if (Clock::now() >= next_rescan) {
      RescanLocked();
      next_rescan = Clock::now() + rescan_interval;
    }
  }
}

void Dispatcher::SweepOnce() {
  std::vector<std::pair<std::shared_ptr<const MessageRecord>, uint64_t>> unpaired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    unpaired.swap(unpaired_);
    in_flight_ += static_cast<int>(unpaired.size());  // The destructor waits for their callbacks.
  }
  for (auto& [message, index] : unpaired) {
    const v1::Envelope& e = message->envelope;
    store_->MarkAuditedAsync(e.sender(), e.message_id(), index, [this, message, index](absl::Status s) {
      if (s.ok()) {
        Dispatch(*message);
      } else {
        RetryPairing(message, index);
      }
      std::lock_guard<std::mutex> lock(mu_);
      --in_flight_;
      cv_.notify_all();
    });
  }
  for (;;) {
    auto expired = store_->ExpireDue(NowMicros(), kExpireBatch);
    if (!expired.ok()) break;  // Tried again next round.
    for (const ChangedDelivery& c : *expired) {
      const Party* p = config_->FindParty(c.row.recipient);
      RecordChanged({c}, p != nullptr && p->delivery.mode == DeliveryMode::kPull ? "pull" : "push", "expired");
    }
    if (expired->size() < kExpireBatch) break;
  }
}

void Dispatcher::RescanLocked() {
  // Every destination looks at the store again: this finds deliveries no
  // Wake announced (another replica's acceptances when a NOTIFY was missed;
  // deliveries behind a message that was withdrawn) and retries after a read
  // error. A destination not held reads nothing (Refill).
  for (auto& [id, d] : destinations_) {
    d->more = true;
    if (d->held + kRefillChunk <= kWindow) QueueRefillLocked(d.get());
  }
}

std::chrono::milliseconds Dispatcher::Backoff(uint32_t attempt) {
  const auto& t = config_->delivery;
  int64_t base = t.initial_backoff_ms;
  for (uint32_t i = 1; i < attempt && base < t.max_backoff_ms; ++i) base *= 2;
  base = std::min<int64_t>(base, t.max_backoff_ms);
  std::lock_guard<std::mutex> lock(mu_);
  // Jitter in [base/2, base].
  std::uniform_int_distribution<int64_t> dist(base / 2, base);
  return std::chrono::milliseconds(dist(rng_));
}

void Dispatcher::Shutdown(std::chrono::milliseconds grace) {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  cv_.notify_all();
  stop_cv_.notify_all();
  cv_.wait_for(lock, grace, [this] { return in_flight_ == 0; });
  lock.unlock();
  if (scheduler_.joinable()) scheduler_.join();
  if (sweeper_.joinable()) sweeper_.join();
}

void Dispatcher::Redeliver(const DeliveryRow& row) {
  auto message = store_->Get(row.sender, row.message_id);
  if (!message.ok()) return;
  backlog_.Add(row.recipient, 1, (*message)->envelope.ByteSizeLong());
  Wake(row.recipient);  // Its new seq is after every destination's and stream's position.
}

}  // namespace portcullis
