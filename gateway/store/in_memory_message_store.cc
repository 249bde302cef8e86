#include <array>
#include <mutex>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "gateway/audit/audit_record.h"
#include "gateway/common/refusal.h"
#include "gateway/store/message_store.h"

namespace portcullis {
namespace {

class InMemoryMessageStore final : public MessageStore {
 public:
  ReserveResult Reserve(const std::string& sender, const std::string& message_id,
                        const std::string& sha256) override {
    Shard& shard = ShardFor(sender, message_id);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto [it, inserted] = shard.entries.try_emplace(Key(sender, message_id));
    if (inserted) {
      it->second.sha256 = sha256;
      return {ReserveOutcome::kNew, {}};
    }
    Entry& e = it->second;
    if (!e.record) return {ReserveOutcome::kInProgress, {}};
    if (e.sha256 != sha256) return {ReserveOutcome::kConflict, e.record->receipt};
    return {ReserveOutcome::kDuplicate, e.record->receipt};
  }

  absl::StatusOr<std::shared_ptr<const MessageRecord>> Commit(const v1::Envelope& envelope,
                                                              const v1::Receipt& receipt) override {
    auto record = std::make_shared<MessageRecord>();
    record->envelope = envelope;
    record->receipt = receipt;
    int64_t now = NowMicros();
    for (const auto& r : envelope.recipients()) {
      RecipientRecord rr;
      rr.party = r;
      rr.updated_micros = now;
      record->recipients.push_back(std::move(rr));
    }
    Shard& shard = ShardFor(envelope.sender(), envelope.message_id());
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.entries.find(Key(envelope.sender(), envelope.message_id()));
    if (it == shard.entries.end() || it->second.record) {
      return absl::FailedPreconditionError("commit without a reservation");
    }
    it->second.record = record;
    return std::shared_ptr<const MessageRecord>(std::move(record));
  }

  void Abandon(const std::string& sender, const std::string& message_id) override {
    Shard& shard = ShardFor(sender, message_id);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.entries.find(Key(sender, message_id));
    if (it != shard.entries.end() && !it->second.record) shard.entries.erase(it);
  }

  absl::StatusOr<std::shared_ptr<const MessageRecord>> Get(const std::string& sender,
                                                           const std::string& message_id) const override {
    const Shard& shard = ShardFor(sender, message_id);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.entries.find(Key(sender, message_id));
    if (it == shard.entries.end() || !it->second.record) return NotFound(sender, message_id);
    return std::shared_ptr<const MessageRecord>(it->second.record);
  }

  absl::StatusOr<RecipientRecord> UpdateRecipient(
      const std::string& sender, const std::string& message_id, const std::string& party,
      const std::function<absl::Status(RecipientRecord&)>& update) override {
    Shard& shard = ShardFor(sender, message_id);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.entries.find(Key(sender, message_id));
    if (it == shard.entries.end() || !it->second.record) return NotFound(sender, message_id);
    // Copy-on-write so readers holding the previous record see a consistent snapshot.
    auto next = std::make_shared<MessageRecord>(*it->second.record);
    for (auto& r : next->recipients) {
      if (r.party != party) continue;
      RecipientRecord candidate = r;
      PORTCULLIS_RETURN_IF_ERROR(update(candidate));
      candidate.updated_micros = NowMicros();
      r = candidate;
      it->second.record = std::move(next);
      return candidate;
    }
    return Refuse(absl::StatusCode::kPermissionDenied, "NOT_A_RECIPIENT", "party",
                  absl::StrCat("'", party, "' is not a recipient of this message"));
  }

 private:
  struct Entry {
    std::string sha256;
    std::shared_ptr<const MessageRecord> record;  // Null while reserved.
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> entries;
  };
  static std::string Key(const std::string& sender, const std::string& id) { return sender + '\n' + id; }
  static absl::Status NotFound(const std::string& sender, const std::string& id) {
    return Refuse(absl::StatusCode::kNotFound, "MESSAGE_NOT_FOUND", "message_id",
                  absl::StrCat("no message '", id, "' from '", sender, "'"));
  }
  Shard& ShardFor(const std::string& sender, const std::string& id) {
    return shards_[std::hash<std::string>()(Key(sender, id)) % shards_.size()];
  }
  const Shard& ShardFor(const std::string& sender, const std::string& id) const {
    return shards_[std::hash<std::string>()(Key(sender, id)) % shards_.size()];
  }
  std::array<Shard, 64> shards_;
};

}  // namespace

std::unique_ptr<MessageStore> NewInMemoryMessageStore() { return std::make_unique<InMemoryMessageStore>(); }

}  // namespace portcullis
