#include "gateway/delivery/dispatcher.h"

#include <algorithm>

#include "gateway/delivery/permanent_failure.h"
#include "gateway/audit/exchange_record.h"

// The dispatcher's outcomes (dispatcher.h): what a push, a pull confirmation
// or an undeliverable pull delivery did, recorded in the store and the audit
// log, its backlog room released.
namespace portcullis {
namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

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

}  // namespace portcullis
