// The values the store's role interfaces (docs/storage.md, "Module
// boundaries") take and return: shared by every backend.
#ifndef PORTCULLIS_GATEWAY_STORE_STORE_TYPES_H_
#define PORTCULLIS_GATEWAY_STORE_STORE_TYPES_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "portcullis/v1/exchange.pb.h"

namespace portcullis {

struct RecipientRecord {
  std::string party;
  v1::DeliveryState state = v1::ACCEPTED;
  int64_t updated_micros = 0;
  uint32_t attempts = 0;
  std::string reason;
  std::string officer;
  bool officer_verified = false;  // `officer` came from a verified assertion (docs/officer-identity.md).
  int64_t next_attempt_micros = 0;  // When the next push attempt is due; 0 = none scheduled.
  int64_t seq = 0;  // The delivery's place in its destination's order (read only: changes on a dead-letter retry).
};

struct MessageRecord {
  v1::Envelope envelope;  // As accepted, with `sender` set by the gateway.
  v1::Receipt receipt;
  std::vector<RecipientRecord> recipients;
};

enum class ReserveOutcome {
  kNew,         // Reserved: the caller must Commit() or Abandon().
  kDuplicate,   // Same sender, id and content already accepted: `receipt` is the original.
  kConflict,    // Same sender and id, different content.
  kInProgress,  // The same id is being recorded right now (stored, its acceptance not yet audited).
};

// One row of `deliveries`: one recipient of one accepted message.
struct DeliveryRow {
  std::string delivery_id;  // DeliveryIdFor(sender, message_id, recipient).
  int64_t seq = 0;          // Commit order across the whole store; never reused.
  std::string sender;
  std::string message_id;
  std::string recipient;
  std::string case_reference;
  v1::DeliveryState state = v1::ACCEPTED;
  uint32_t attempts = 0;
  int64_t next_attempt_micros = 0;  // Due time of the next attempt; set to the acceptance time at commit.
  std::string last_error;
  int64_t expires_micros = 0;  // When it expires if still ACCEPTED (acceptance + delivery.max_age_ms); 0 = never.
  int64_t updated_micros = 0;
  std::string officer;
  bool officer_verified = false;  // `officer` came from a verified assertion.
  std::string reason;
};

// The officer an operator's action is recorded with, and whether its agency
// vouched for it (docs/officer-identity.md) or it is only claimed.
struct OfficerOnRecord {
  OfficerOnRecord(std::string id, bool verified = false) : id(std::move(id)), verified(verified) {}  // NOLINT
  std::string id;
  bool verified = false;
};

// A committed message whose acceptance is not yet paired with its audit
// record (audit_index IS NULL): the start-up pairing scans the audit log from
// `audit_size_at_commit`.
struct UnauditedMessage {
  std::string sender;
  std::string message_id;
  uint64_t audit_size_at_commit = 0;
  int64_t accepted_micros = 0;
};

// A delivery one call moved out of ACCEPTED, with its envelope's size (what
// it held of its destination's backlog).
struct ChangedDelivery {
  DeliveryRow row;  // As it is now.
  uint64_t envelope_bytes = 0;
};

// What ConfirmPulled did: the seq it confirmed through and what it changed.
struct ConfirmResult {
  int64_t through_seq = 0;
  std::vector<ChangedDelivery> changed;
};

// What a destination's backlog holds: ACCEPTED deliveries and their bytes.
struct BacklogCount {
  uint64_t messages = 0;
  uint64_t bytes = 0;
};

// How many deliveries to one recipient are in one state (CountDeliveries).
struct DeliveryCount {
  std::string recipient;
  v1::DeliveryState state = v1::DELIVERY_STATE_UNSPECIFIED;
  uint64_t count = 0;
};

struct ReserveResult {
  ReserveOutcome outcome = ReserveOutcome::kNew;
  v1::Receipt receipt;
};

// One message of a case as ListCase shows it to one party: what the envelope
// says about it (no body, no attachment, no person) and the recipients that
// party may see.
struct CaseEntry {
  int64_t position = 0;  // Its place in the store's acceptance order; a page resumes after it.
  std::string sender;
  std::string message_id;
  std::string correlation_id;
  std::string body_type;  // The name of the envelope's body field, e.g. "case_referral"; "" if none.
  v1::Classification classification = v1::CLASSIFICATION_UNSPECIFIED;
  v1::Priority priority = v1::PRIORITY_UNSPECIFIED;
  std::string originating_officer;
  bool originating_officer_verified = false;  // The sender's assertion vouched for it (its receipt says).
  int64_t accepted_micros = 0;
  int64_t answer_by_seconds = 0;  // A request for information's deadline; 0 otherwise.
  // Every recipient, in the envelope's order, when the party is the sender;
  // only the party's own entry when it is a recipient (need to know).
  std::vector<RecipientRecord> recipients;
};

// One page of ListCase.
struct CasePage {
  std::vector<CaseEntry> messages;  // In acceptance order.
  // More may follow: the next page starts after `resume_after` (the last
  // entry's position, or the page's own start if it ended before its first).
  bool more = false;
  int64_t resume_after = 0;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_STORE_TYPES_H_
