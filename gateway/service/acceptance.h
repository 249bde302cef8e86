// The acceptance pipeline: how a submitted envelope becomes an accepted
// message, with no gRPC in it (docs/architecture.md, "Acceptance pipeline").
// The Exchange service's Submit only translates between the wire and this.
//
//   CheckSubmission -> CompleteEnvelope -> ReserveMessageId -> CheckThread
//     -> ReserveRoom -> Store -> Audit -> Pair + answer -> Dispatch
//
// Guarantees, whatever fails: every answer is given only once its audit
// record is durable ("audited before answered"; a record that cannot be
// written turns the answer into AUDIT_UNAVAILABLE); no acceptance is audited
// for a message not stored, and a stored message whose acceptance cannot be
// audited is discarded before the caller is told nothing was done; a
// resubmission of an accepted message (same sender, id and content) gets its
// original receipt back, marked duplicate.
//
// Depends only on interfaces: MessageStore, AuditLog, DeliveryHandoff,
// AcceptanceRecorder (how Store -> Audit -> Pair is done for the storage
// backend: acceptance_recorder.h) and a clock. Thread-safe (no state of its own beyond its pointers).
#ifndef PORTCULLIS_GATEWAY_SERVICE_ACCEPTANCE_H_
#define PORTCULLIS_GATEWAY_SERVICE_ACCEPTANCE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/audit/audit_log.h"
#include "gateway/config/config.h"
#include "gateway/service/acceptance_recorder.h"
#include "gateway/store/message_store.h"
#include "portcullis/v1/exchange.pb.h"
#include "util/clock.h"

namespace portcullis {

// What acceptance asks of delivery. The gateway's is DispatcherHandoff
// (dispatcher_handoff.h); tests record the calls. Thread-safe.
class DeliveryHandoff {
 public:
  virtual ~DeliveryHandoff() = default;
  // Room for one delivery of `bytes` to every recipient, all or none
  // (RESOURCE_EXHAUSTED BACKLOG_FULL otherwise).
  virtual absl::Status ReserveRoom(const google::protobuf::RepeatedPtrField<std::string>& recipients,
                                   uint64_t bytes) = 0;
  // Gives back what ReserveRoom took for one recipient.
  virtual void ReleaseRoom(const std::string& recipient, uint64_t bytes) = 0;
  // Stored, audited and paired: deliver it.
  virtual void Dispatch(const MessageRecord& message) = 0;
  // Stored and audited, but the pairing could not be written: write it again
  // until it is durable, then dispatch.
  virtual void RetryPairing(std::shared_ptr<const MessageRecord> message, uint64_t audit_index) = 0;
};

// Who submits, as the service edge established it.
struct Submission {
  absl::StatusOr<const Party*> caller;  // The authenticated party, or the refusal for the caller.
  std::string peer;                     // The caller's network address (for the record).
  std::string request_id;               // The call's id (for the record and the gateway's log).
  // The officer the call's assertion vouches for (docs/officer-identity.md);
  // nullopt: none verified, the envelope's officer is claimed only.
  std::optional<std::string> verified_officer;
  // The certificate's party also when `caller` is the refusal of its officer
  // assertion (the refusal's record names it); "" when unknown.
  std::string identified_party;
};

// A checked envelope as the gateway keeps it.
struct CompletedEnvelope {
  std::shared_ptr<v1::Envelope> envelope;  // Sender set, an RFI's deadline filled.
  std::string sha256;                      // Of its deterministic bytes: the idempotency digest.
  uint64_t bytes = 0;                      // What it holds of each recipient's backlog.
};

// --- The steps that decide without waiting (acceptance_steps.cc).

// The caller may send this: an envelope is present, its sender (if given) is
// the caller, it is valid at `now_micros` (ValidateEnvelope) and every
// recipient is on a route (CheckRoutes).
absl::Status CheckSubmission(const Config& config, const Party& caller, const v1::SubmitRequest& request,
                             int64_t now_micros, const std::optional<std::string>& verified_officer = std::nullopt);
// The envelope as accepted: sender set to the caller, an RFI without a
// deadline given the Directive 2023/977 one, and its digest.
CompletedEnvelope CompleteEnvelope(const v1::Envelope& in, const Party& caller);
// The record of this submission before any decision (outcome unset).
AuditRecord SubmissionRecord(const Submission& submission, const v1::Envelope& in, int64_t now_micros);
// A reply names exactly one message its sender sent or received
// (CORRELATION_UNKNOWN / CORRELATION_AMBIGUOUS; STORE_UNAVAILABLE if the
// store cannot say).
absl::Status CheckThread(const CaseReads& store, const std::string& sender, const std::string& correlation_id);
// The refusal for a reservation that is neither new nor a duplicate
// (MESSAGE_ID_REUSED, SUBMISSION_IN_PROGRESS).
absl::Status ReservationRefusal(ReserveOutcome outcome);

class AcceptancePipeline {
 public:
  using Clock = std::function<int64_t()>;  // Microseconds since the Unix epoch.
  // Called exactly once, on any thread: the receipt, or the refusal.
  using Answer = std::function<void(absl::StatusOr<v1::Receipt>)>;

  // Pointers must outlive the pipeline and every submission in flight.
  // `recorder` null: a PairedAcceptance over `store` and `audit` (owned).
  AcceptancePipeline(std::shared_ptr<const Config> config, MessageStore* store, AuditLog* audit,
                     DeliveryHandoff* delivery, Clock clock = NowMicros, AcceptanceRecorder* recorder = nullptr);

  // Runs every step for `request`, then `answer`s. `request` is read only
  // before Submit returns.
  void Submit(const Submission& submission, const v1::SubmitRequest& request, Answer answer) const;

 private:
  void AnswerRefusal(AuditRecord record, absl::Status refusal, Answer answer) const;
  void AnswerDuplicate(AuditRecord record, const ReserveResult& reserved, Answer answer) const;
  void Accept(CompletedEnvelope completed, AuditRecord record, Answer answer) const;

  std::shared_ptr<const Config> config_;
  MessageStore* store_;
  AuditLog* audit_;
  DeliveryHandoff* delivery_;
  Clock clock_;
  std::unique_ptr<AcceptanceRecorder> owned_recorder_;
  AcceptanceRecorder* recorder_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_ACCEPTANCE_H_
