// The storage seam for accepted messages and their per-recipient state.
// The default is InMemoryMessageStore; a durable outbox (SQLite) implements
// the same interface later. Implementations are thread-safe.
#ifndef PORTCULLIS_GATEWAY_STORE_MESSAGE_STORE_H_
#define PORTCULLIS_GATEWAY_STORE_MESSAGE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis {

struct RecipientRecord {
  std::string party;
  v1::DeliveryState state = v1::ACCEPTED;
  int64_t updated_micros = 0;
  uint32_t attempts = 0;
  std::string reason;
  std::string officer;
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
  kInProgress,  // The same id is being recorded right now.
};

struct ReserveResult {
  ReserveOutcome outcome = ReserveOutcome::kNew;
  v1::Receipt receipt;
};

class MessageStore {
 public:
  virtual ~MessageStore() = default;
  // Reserves (sender, message_id) for content with digest `envelope_sha256`.
  virtual ReserveResult Reserve(const std::string& sender, const std::string& message_id,
                                const std::string& envelope_sha256) = 0;
  // Turns a reservation into an accepted message, every recipient ACCEPTED,
  // and returns the stored record (the caller dispatches it without a lookup).
  virtual absl::StatusOr<std::shared_ptr<const MessageRecord>> Commit(const v1::Envelope& envelope,
                                                                      const v1::Receipt& receipt) = 0;
  // Drops a reservation whose acceptance could not be recorded.
  virtual void Abandon(const std::string& sender, const std::string& message_id) = 0;
  // NOT_FOUND if no committed message has this key.
  virtual absl::StatusOr<std::shared_ptr<const MessageRecord>> Get(const std::string& sender,
                                                                   const std::string& message_id) const = 0;
  // Runs `update` on one recipient's record under the store's lock; the change
  // is kept only if `update` returns OK. Returns the record after the update.
  virtual absl::StatusOr<RecipientRecord> UpdateRecipient(
      const std::string& sender, const std::string& message_id, const std::string& party,
      const std::function<absl::Status(RecipientRecord&)>& update) = 0;
};

// Sharded in-memory store: no global lock per message. Not durable: a
// restart forgets accepted messages (the audit log keeps the record).
std::unique_ptr<MessageStore> NewInMemoryMessageStore();

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_MESSAGE_STORE_H_
