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

struct Dispatcher::Destination {
  explicit Destination(const Party* p) : party(p) {}
  const Party* const party;
  // All below guarded by the dispatcher's mutex.
  int64_t loaded_seq = 0;      // Highest seq read from the store.
  bool more = true;            // The store may hold ACCEPTED deliveries after loaded_seq.
  bool refill_queued = false;  // In refills_.
  size_t held = 0;             // Jobs in memory: scheduled, waiting in a lane, parked or in flight.
  // Busy lanes: the head is scheduled or in flight; these wait behind it.
  std::map<std::string, std::deque<Job>> lanes;
  int pushing = 0;          // Push attempts in flight.
  std::deque<Job> parked;   // Due, waiting for one of those to end.
};

Dispatcher::Dispatcher(std::shared_ptr<const Config> config, MessageStore* store, AuditLog* audit,
                       DeliveryTransport* transport)
    : config_(std::move(config)),
      store_(store),
      audit_(audit),
      transport_(transport),
      backlog_(*config_),
      breakers_(config_->delivery.breaker_failures, std::chrono::milliseconds(config_->delivery.breaker_cooldown_ms)) {
  for (const Party& p : config_->parties) {
    if (p.delivery.mode == DeliveryMode::kPush) destinations_[p.id] = std::make_unique<Destination>(&p);
  }
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
  for (auto& [id, d] : destinations_) {
    d->refill_queued = true;
    refills_.push_back(d.get());
  }
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
  if (!d->refill_queued) {
    d->refill_queued = true;
    refills_.push_back(d);
    cv_.notify_all();
  }
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!d->more || d->held >= kWindow) return;
    d->more = false;  // A Wake during the read sets it again.
    after = d->loaded_seq;
    room = kWindow - d->held;
  }
  auto rows = store_->PendingDeliveries(d->party->id, after, room);
  std::lock_guard<std::mutex> lock(mu_);
  if (!rows.ok()) {
    d->more = true;  // The sweeper's next round asks again.
    return;
  }
  if (rows->size() == room) d->more = true;
  for (DeliveryRow& row : *rows) {
    if (row.seq <= d->loaded_seq) continue;
    d->loaded_seq = row.seq;
    ++d->held;
    Job job;
    job.seq = row.seq;
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
  if (d->more && d->held + kRefillChunk <= kWindow && !d->refill_queued) {
    d->refill_queued = true;
    refills_.push_back(d);
    cv_.notify_all();
  }
}

void Dispatcher::RetryLater(Destination* d, Job job, Clock::time_point when) {
  std::lock_guard<std::mutex> lock(mu_);
  job.due = when;
  ScheduleLocked(d, std::move(job));
  UnparkLocked(d);
  --in_flight_;
  cv_.notify_all();
}

void Dispatcher::StartAttempt(Destination* d, const Job& job) {
  const std::string& party = d->party->id;
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

void Dispatcher::OnAttemptDone(Destination* d, const Job& job, const std::shared_ptr<const MessageRecord>& message,
                               absl::Status status, bool attempted) {
  const std::string& party = d->party->id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    --d->pushing;
    UnparkLocked(d);
  }
  // A delivery that can never succeed (docs/delivery.md): FAILED now, not
  // retried, so nothing behind it waits.
  const std::optional<std::string> permanent = PermanentReasonOf(status);
  if (attempted) {
    // An endpoint that answers, even with a refusal, is up.
    breakers_.Record(party, status.ok() || permanent.has_value());
    if (!status.ok()) metrics_.CountFailure(party);
  }
  const int max_attempts = config_->delivery.max_attempts;
  const bool last = permanent.has_value() || (max_attempts > 0 && job.attempt >= static_cast<uint32_t>(max_attempts));
  const std::string code = permanent.value_or("");
  const std::string reason = status.ok() ? "" : std::string(status.message());
  const std::chrono::milliseconds backoff = status.ok() ? std::chrono::milliseconds(0) : Backoff(job.attempt);
  // A delivery decided without a push keeps the attempts made before.
  const uint32_t attempts = attempted ? job.attempt : job.attempt - 1;
  // What the outcome did to the row, decided on the store's thread.
  struct Change {
    bool released = false;  // Moved the delivery out of ACCEPTED.
    bool pending = false;   // Still ACCEPTED: another attempt is due.
  };
  auto change = std::make_shared<Change>();
  const bool ok = status.ok();
  // Recorded without holding this gRPC thread for the store's fsync; the
  // lane's next message starts once the outcome is durable.
  store_->UpdateRecipientAsync(
      job.sender, job.message_id, party,
      [change, ok, last, reason, backoff, attempt = attempts, seq = job.seq](RecipientRecord& r) {
        // Called again if the op reruns (another gateway changed the row, a
        // deadlock): nothing of an earlier run may survive.
        *change = Change{};
        if (r.seq != seq) {
          // Retried by an operator during the push (a new incarnation with a
          // new seq and attempt budget): that one is delivered in its turn
          // (the endpoint discards it as a duplicate if this push arrived).
          return absl::OkStatus();
        }
        const bool was_accepted = r.state == v1::ACCEPTED;
        r.attempts = std::max(r.attempts, attempt);
        r.next_attempt_micros = 0;
        // Never downgrade a recipient's decision.
        if (r.state == v1::ACKNOWLEDGED || r.state == v1::REJECTED) return absl::OkStatus();
        if (ok) {
          r.state = v1::DELIVERED;  // Even if it expired meanwhile: it is now delivered.
          r.reason.clear();
        } else if (was_accepted) {
          r.reason = reason;
          if (last) {
            r.state = v1::FAILED;
          } else {
            r.next_attempt_micros = NowMicros() + backoff.count() * 1000;  // Shown by Track; resumed after a restart.
          }
        }
        change->released = was_accepted && r.state != v1::ACCEPTED;
        change->pending = r.state == v1::ACCEPTED;
        return absl::OkStatus();
      },
      [this, d, job, message, change, ok, last, reason, code, backoff, attempts,
       attempted](absl::StatusOr<RecipientRecord> updated) {
        const std::string& party = d->party->id;
        std::optional<Job::Unrecorded> unrecorded;
        if (!updated.ok()) {
          // The outcome could not be recorded: push again later (the
          // endpoint discards a duplicate by its delivery id). Unless it was
          // recorded after all (UNKNOWN: the COMMIT's answer was lost): the
          // next attempt then finds the row settled by it, and records it.
          if (change->released) {
            unrecorded = Job::Unrecorded{ok ? "delivered" : "failed", attempts, reason, code, attempted};
          }
          change->released = false;
          change->pending = true;
        } else {
          RecordOutcome(*message, party, "push", ok ? "delivered" : (last ? "failed" : "attempt_failed"),
                        attempts, reason, code, attempted);
        }
        if (change->released) {
          backlog_.Release(party, message->envelope.ByteSizeLong());
          if (ok) {
            metrics_.CountDelivered(party);
          } else {
            metrics_.CountFailed(party);
          }
        }
        if (change->pending) {
          metrics_.CountRetryScheduled(party);
          Job retry = job;  // Keeps its lane: nothing behind it overtakes.
          retry.attempt = job.attempt + 1;
          retry.unrecorded = std::move(unrecorded);
          RetryLater(d, std::move(retry),
                     Clock::now() + std::max(backoff, std::chrono::milliseconds(updated.ok() ? 0 : 1000)));
          return;
        }
        FinishJob(d, job);
        std::lock_guard<std::mutex> lock(mu_);
        --in_flight_;
        cv_.notify_all();
      });
}

absl::StatusOr<size_t> Dispatcher::ConfirmPulled(const std::string& party, const std::string& through_delivery_id) {
  auto confirmed = store_->ConfirmPulled(party, through_delivery_id);
  if (!confirmed.ok()) return confirmed.status();
  RecordChanged(confirmed->changed, "pull", "delivered");
  pull_streams_->Confirmed(party, confirmed->through_seq);
  return confirmed->changed.size();
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

void Dispatcher::PullUndeliverable(const std::string& party, const DeliveryRow& row,
                                   std::shared_ptr<const MessageRecord> message, const absl::Status& why,
                                   std::function<void(bool recorded)> done) {
  const std::string reason(why.message());
  const std::string code = PermanentReasonOf(why).value_or("DELIVERY_ERROR");
  auto released = std::make_shared<bool>(false);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++in_flight_;  // The destructor waits for the callback.
  }
  store_->UpdateRecipientAsync(
      row.sender, row.message_id, party,
      [released, reason, seq = row.seq](RecipientRecord& r) {
        *released = false;  // Called again if the op reruns: only the last run counts.
        // Only this incarnation, only while undelivered: a stream that read
        // the row again before this was durable changes nothing twice.
        if (r.seq != seq || r.state != v1::ACCEPTED) return absl::OkStatus();
        r.state = v1::FAILED;
        r.reason = reason;
        r.next_attempt_micros = 0;
        *released = true;
        return absl::OkStatus();
      },
      [this, party, message, released, reason, code, attempts = row.attempts,
       done = std::move(done)](absl::StatusOr<RecipientRecord> updated) {
        if (updated.ok() && *released) {
          backlog_.Release(party, message->envelope.ByteSizeLong());
          metrics_.CountFailed(party);
          RecordOutcome(*message, party, "pull", "failed", attempts, reason, code, /*sent=*/false);
        }
        // Not recorded: still ACCEPTED; the stream holds it (sends nothing
        // after it, so no confirm can pass it) and tries this again.
        done(updated.ok());
        std::lock_guard<std::mutex> lock(mu_);
        --in_flight_;
        cv_.notify_all();
      });
}

void Dispatcher::RecordChanged(const std::vector<ChangedDelivery>& changed, const std::string& mode,
                               const std::string& outcome) {
  for (const ChangedDelivery& c : changed) {
    backlog_.Release(c.row.recipient, c.envelope_bytes);
    if (outcome == "expired") {
      metrics_.CountExpired(c.row.recipient);
    } else {
      metrics_.CountDelivered(c.row.recipient);
    }
    auto message = store_->Get(c.row.sender, c.row.message_id);
    if (!message.ok()) continue;  // Cannot be: the row was just read with its message.
    RecordOutcome(**message, c.row.recipient, mode, outcome, c.row.attempts, c.row.reason);
  }
}

void Dispatcher::SweeperLoop() {
  const auto interval = std::chrono::milliseconds(
      std::clamp<int64_t>(config_->delivery.max_age_ms / 10, 50, 10000));
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_cv_.wait_for(lock, interval, [this] { return stopping_; })) {
    std::vector<std::pair<std::shared_ptr<const MessageRecord>, uint64_t>> unpaired;
    unpaired.swap(unpaired_);
    in_flight_ += static_cast<int>(unpaired.size());  // The destructor waits for their callbacks.
    lock.unlock();
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
    lock.lock();
    // Every destination looks at the store again: this finds deliveries no
    // Wake announced (e.g. behind a message that was withdrawn) and retries
    // after a read error.
    for (auto& [id, d] : destinations_) {
      d->more = true;
      if (!d->refill_queued && d->held + kRefillChunk <= kWindow) {
        d->refill_queued = true;
        refills_.push_back(d.get());
      }
    }
    cv_.notify_all();
  }
}

void Dispatcher::RecordOutcome(const MessageRecord& message, const std::string& recipient, const std::string& mode,
                               const std::string& outcome, uint32_t attempts, const std::string& reason,
                               const std::string& code, bool sent) {
  AuditRecord r = ExchangeAuditRecord("deliver", message.envelope, message.receipt.envelope_sha256());
  r.actor_party = "gateway";
  r.recipients = {recipient};
  r.outcome = outcome;
  if (outcome == "expired") {
    r.reason = "DELIVERY_EXPIRED";
  } else if (outcome == "failed" || outcome == "attempt_failed") {
    r.reason = code.empty() ? "DELIVERY_ERROR" : code;  // The listed reason of a delivery that can never succeed.
  }
  // `reason` is public text only (the endpoint's refusal or a fixed phrase,
  // permanent_failure.h): parties read deliver records back.
  r.detail = sent ? absl::StrCat(mode, " attempt ", attempts, reason.empty() ? "" : ": ", reason)
                  : absl::StrCat(mode, " not sent: too large for the channel (", attempts, " attempts before)",
                                 reason.empty() ? "" : ": ", reason);
  audit_->Append(std::move(r), [](absl::StatusOr<uint64_t>) {});
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
