#include "gateway/delivery/dispatcher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "gateway/audit/exchange_record.h"
#include "gateway/common/digest.h"

namespace portcullis {

std::string DeliveryId(const std::string& sender, const std::string& message_id, const std::string& recipient) {
  return Sha256Hex(absl::StrCat(sender, "\n", message_id, "\n", recipient)).substr(0, 32);
}

Dispatcher::Dispatcher(std::shared_ptr<const Config> config, MessageStore* store, AuditLog* audit,
                       DeliveryTransport* transport)
    : config_(std::move(config)),
      store_(store),
      audit_(audit),
      transport_(transport),
      pull_queues_(*config_, [this](const std::string& party, const v1::Delivery& d) { OnPulled(party, d); }),
      backlog_(*config_),
      breakers_(config_->delivery.breaker_failures, std::chrono::milliseconds(config_->delivery.breaker_cooldown_ms)) {
  scheduler_ = std::thread([this] { SchedulerLoop(); });
}

Dispatcher::~Dispatcher() {
  Shutdown(std::chrono::milliseconds(0));
  // In-flight pushes end by their deadline; their callbacks use this object.
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return in_flight_ == 0; });
}

void Dispatcher::Dispatch(const MessageRecord& message) {
  for (const std::string& recipient : message.envelope.recipients()) DispatchTo(message, recipient);
}

void Dispatcher::DispatchTo(const MessageRecord& message, const std::string& recipient, uint32_t attempts_made,
                            int64_t next_attempt_micros) {
  const v1::Envelope& e = message.envelope;
  const Party* party = config_->FindParty(recipient);
  if (party == nullptr) return;  // Routes were checked at submission.
  if (party->delivery.mode == DeliveryMode::kPull) {
    v1::Delivery d;
    d.set_delivery_id(DeliveryId(e.sender(), e.message_id(), recipient));
    *d.mutable_envelope() = e;
    *d.mutable_accepted_at() = message.receipt.accepted_at();
    d.set_attempt(attempts_made + 1);
    pull_queues_.Enqueue(recipient, std::move(d)).IgnoreError();
  } else if (party->delivery.mode == DeliveryMode::kPush) {
    const int64_t wait_micros = std::max<int64_t>(0, next_attempt_micros - NowMicros());
    Job job{std::chrono::steady_clock::now() + std::chrono::microseconds(wait_micros), 0, e.sender(), e.message_id(),
            recipient, attempts_made + 1, absl::StrCat(e.sender(), "\n", e.case_reference(), "\n", recipient)};
    std::lock_guard<std::mutex> lock(mu_);
    auto [lane, idle] = lanes_.try_emplace(job.lane);
    if (idle) {
      ScheduleLocked(std::move(job));
    } else {
      lane->second.push_back(std::move(job));  // Behind the case's earlier messages.
    }
  }
}

void Dispatcher::FinishInLane(const Job& job) {
  std::lock_guard<std::mutex> lock(mu_);
  auto lane = lanes_.find(job.lane);
  if (lane == lanes_.end()) return;
  if (lane->second.empty()) {
    lanes_.erase(lane);
    return;
  }
  Job next = std::move(lane->second.front());
  lane->second.pop_front();
  next.due = std::chrono::steady_clock::now();
  ScheduleLocked(std::move(next));
}

void Dispatcher::Schedule(Job job) {
  std::lock_guard<std::mutex> lock(mu_);
  ScheduleLocked(std::move(job));
}

void Dispatcher::ScheduleLocked(Job job) {
  if (stopping_) return;  // What is not delivered stays ACCEPTED in the store, resumed at the next start.
  job.seq = next_seq_++;
  jobs_.push(std::move(job));
  cv_.notify_all();
}

void Dispatcher::SchedulerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (jobs_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto due = jobs_.top().due;
    if (std::chrono::steady_clock::now() < due) {
      cv_.wait_until(lock, due);
      continue;
    }
    Job job = jobs_.top();
    jobs_.pop();
    ++in_flight_;
    lock.unlock();
    StartAttempt(job);
    lock.lock();
  }
}

int Dispatcher::pushes_in_flight(const std::string& destination) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pushing_.find(destination);
  return it == pushing_.end() ? 0 : it->second;
}

void Dispatcher::NotStarted() {
  std::lock_guard<std::mutex> lock(mu_);
  --in_flight_;
  cv_.notify_all();
}

void Dispatcher::StartAttempt(const Job& job) {
  if (!audit_->Health().ok()) {
    // No disclosure that could not be recorded: hold the delivery (without
    // spending an attempt) until the audit log works again.
    Job later = job;
    later.due = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    Schedule(std::move(later));
    NotStarted();
    return;
  }
  auto message = store_->Get(job.sender, job.message_id);
  const Party* party = config_->FindParty(job.recipient);
  if (!message.ok() && message.status().code() != absl::StatusCode::kNotFound) {
    Job later = job;  // The store could not be read: try again, keeping the lane.
    later.due = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    Schedule(std::move(later));
    NotStarted();
    return;
  }
  if (!message.ok() || party == nullptr) {
    FinishInLane(job);  // The message is gone (withdrawn): the lane moves on.
    NotStarted();
    return;
  }
  {
    // At most `workers` pushes in flight per destination: a partner that
    // hangs holds that many connections, not one per queued message.
    std::unique_lock<std::mutex> lock(mu_);
    if (pushing_[job.recipient] >= config_->delivery.workers) {
      parked_[job.recipient].push_back(job);  // Started again when one of those pushes ends.
      lock.unlock();
      NotStarted();
      return;
    }
    ++pushing_[job.recipient];
  }
  if (std::optional<std::chrono::steady_clock::time_point> later = breakers_.Admit(job.recipient)) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --pushing_[job.recipient];
    }
    // The destination's breaker is open: come back then, no attempt spent.
    Job wait = job;
    wait.due = *later;
    Schedule(std::move(wait));
    NotStarted();
    return;
  }
  std::shared_ptr<const MessageRecord> record = *message;
  v1::Delivery d;
  d.set_delivery_id(DeliveryId(job.sender, job.message_id, job.recipient));
  *d.mutable_envelope() = record->envelope;
  *d.mutable_accepted_at() = record->receipt.accepted_at();
  d.set_attempt(job.attempt);
  metrics_.CountAttempt(job.recipient);
  transport_->Push(*party, d, std::chrono::milliseconds(config_->delivery.attempt_timeout_ms),
                   [this, job, record](absl::Status status) { OnAttemptDone(job, record, std::move(status)); });
}

void Dispatcher::OnAttemptDone(const Job& job, const std::shared_ptr<const MessageRecord>& message,
                               absl::Status status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --pushing_[job.recipient];
    auto parked = parked_.find(job.recipient);
    if (parked != parked_.end() && !parked->second.empty()) {
      Job next = std::move(parked->second.front());
      parked->second.pop_front();
      next.due = std::chrono::steady_clock::now();
      ScheduleLocked(std::move(next));
    }
  }
  breakers_.Record(job.recipient, status.ok());
  const int max_attempts = config_->delivery.max_attempts;
  const bool last = max_attempts > 0 && job.attempt >= static_cast<uint32_t>(max_attempts);
  std::string outcome = status.ok() ? "delivered" : (last ? "failed" : "attempt_failed");
  std::string reason = status.ok() ? "" : std::string(status.message());
  const bool retry_due = !status.ok() && !last;
  const std::chrono::milliseconds backoff = retry_due ? Backoff(job.attempt) : std::chrono::milliseconds(0);
  if (!status.ok()) metrics_.CountFailure(job.recipient);
  if (retry_due) metrics_.CountRetryScheduled(job.recipient);
  if (status.ok()) metrics_.CountDelivered(job.recipient);
  if (!status.ok() && last) metrics_.CountFailed(job.recipient);
  store_->UpdateRecipient(job.sender, job.message_id, job.recipient, [&](RecipientRecord& r) {
    r.attempts = job.attempt;
    r.next_attempt_micros = retry_due ? NowMicros() + backoff.count() * 1000 : 0;  // Shown by Track.
    // Never downgrade: the recipient may have acknowledged already.
    if (r.state == v1::ACKNOWLEDGED || r.state == v1::REJECTED) return absl::OkStatus();
    if (status.ok()) {
      r.state = v1::DELIVERED;
      r.reason.clear();
    } else {
      r.reason = reason;
      if (last) r.state = v1::FAILED;
    }
    return absl::OkStatus();
  }).IgnoreError();
  RecordOutcome(*message, job.recipient, "push", outcome, job.attempt, reason);
  if (retry_due) {
    Job retry = job;  // Keeps its lane: nothing behind it overtakes.
    retry.attempt = job.attempt + 1;
    retry.due = std::chrono::steady_clock::now() + backoff;
    Schedule(std::move(retry));
  } else {
    backlog_.Release(job.recipient, message->envelope.ByteSizeLong());
    FinishInLane(job);
  }
  std::lock_guard<std::mutex> lock(mu_);
  --in_flight_;
  cv_.notify_all();
}

void Dispatcher::OnPulled(const std::string& party, const v1::Delivery& delivery) {
  const v1::Envelope& e = delivery.envelope();
  backlog_.Release(party, e.ByteSizeLong());
  auto message = store_->Get(e.sender(), e.message_id());
  if (!message.ok()) return;
  uint32_t attempts = 0;
  store_->UpdateRecipient(e.sender(), e.message_id(), party, [&](RecipientRecord& r) {
    attempts = ++r.attempts;
    if (r.state == v1::ACCEPTED) r.state = v1::DELIVERED;
    return absl::OkStatus();
  }).IgnoreError();
  metrics_.CountDelivered(party);
  RecordOutcome(**message, party, "pull", "delivered", attempts, "");
}

void Dispatcher::RecordOutcome(const MessageRecord& message, const std::string& recipient, const std::string& mode,
                               const std::string& outcome, uint32_t attempts, const std::string& reason) {
  AuditRecord r = ExchangeAuditRecord("deliver", message.envelope, message.receipt.envelope_sha256());
  r.actor_party = "gateway";
  r.recipients = {recipient};
  r.outcome = outcome;
  r.reason = outcome == "delivered" ? "" : "DELIVERY_ERROR";
  r.detail = absl::StrCat(mode, " attempt ", attempts, reason.empty() ? "" : ": ", reason);
  audit_->Append(std::move(r), [](absl::StatusOr<uint64_t>) {});
}

std::chrono::milliseconds Dispatcher::Backoff(uint32_t attempt) {
  const auto& t = config_->delivery;
  int64_t base = t.initial_backoff_ms;
  for (uint32_t i = 1; i < attempt && base < t.max_backoff_ms; ++i) base *= 2;
  base = std::min<int64_t>(base, t.max_backoff_ms);
  std::lock_guard<std::mutex> lock(mu_);
  // Full jitter in [base/2, base].
  std::uniform_int_distribution<int64_t> dist(base / 2, base);
  return std::chrono::milliseconds(dist(rng_));
}

void Dispatcher::Shutdown(std::chrono::milliseconds grace) {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  cv_.notify_all();
  cv_.wait_for(lock, grace, [this] { return in_flight_ == 0; });
  lock.unlock();
  if (scheduler_.joinable()) scheduler_.join();
}

void Dispatcher::Redeliver(const DeliveryRow& row) {
  auto message = store_->Get(row.sender, row.message_id);
  if (!message.ok()) return;
  backlog_.Add(row.recipient, (*message)->envelope.ByteSizeLong());
  DispatchTo(**message, row.recipient, row.attempts, 0);
}

}  // namespace portcullis
