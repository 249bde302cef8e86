// SqliteMessageStore as an AcceptanceStore: reservations (in memory,
// sharded), commits, the pairing with the audit log, reads by key.
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/common/digest.h"
#include "gateway/common/log.h"
#include "gateway/store/sqlite_store_internal.h"
#include "util/clock.h"
#include "util/status_macros.h"

namespace portcullis {

using sqlite_store::Key;
using sqlite_store::MicrosOf;
using sqlite_store::NotFound;
using sqlite_store::Query;
using sqlite_store::ReaderConnection;
using sqlite_store::ReadRecipientRecord;
using sqlite_store::ReadTransaction;

SqliteMessageStore::Shard& SqliteMessageStore::ShardFor(const std::string& key) const {
  return shards_[std::hash<std::string>()(key) % shards_.size()];
}

ReserveResult SqliteMessageStore::Reserve(const std::string& sender, const std::string& message_id,
                                          const std::string& envelope_sha256) {
  const std::string key = Key(sender, message_id);
  Shard& shard = ShardFor(key);
  // The shard stays locked across the database lookup: a concurrent Reserve
  // of the same key then sees either the committed row or this reservation,
  // never neither. Only keys of the same shard (1/64) wait, for one indexed read.
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.reserved.count(key) != 0) return {ReserveOutcome::kInProgress, {}};

  absl::Status failed;
  {
    auto reader = readers_->Acquire();
    if (!reader.ok()) {
      failed = reader.status();
    } else {
      Query q((*reader)->conn, (*reader)->lookup);
      q.Text(1, sender).Text(2, message_id);
      auto row = q.Step("looking up a message id");
      if (!row.ok()) {
        failed = row.status();
      } else if (*row) {
        ReserveResult result;
        const absl::string_view receipt = q.ColumnBytes(1);
        if (!result.receipt.ParseFromArray(receipt.data(), static_cast<int>(receipt.size()))) {
          failed = absl::DataLossError(absl::StrCat("message store ", options_.path, ": the receipt of '", message_id,
                                                    "' from '", sender, "' cannot be parsed"));
        } else {
          // The receipt is stored before the acceptance is audited; its index comes from the pairing.
          // Until then the submission is still being recorded (and may yet be discarded).
          uint64_t index = 0;
          if (!q.ColumnIsNull(2)) {
            index = static_cast<uint64_t>(q.ColumnInt(2));
          } else if (auto audited = shard.audited.find(key); audited != shard.audited.end()) {
            index = audited->second;  // Audited; its pairing is being written.
          } else {
            return {ReserveOutcome::kInProgress, {}};
          }
          result.receipt.set_audit_index(index);
          result.outcome = q.ColumnBytes(0) == envelope_sha256 ? ReserveOutcome::kDuplicate : ReserveOutcome::kConflict;
          return result;
        }
      }
    }
  }
  if (!failed.ok()) {
    // Neither kNew (it might be a duplicate) nor kDuplicate (no receipt):
    // "in progress" makes the client retry.
    LogLine("message store: duplicate check failed: %s\n", failed.ToString().c_str());
    return {ReserveOutcome::kInProgress, {}};
  }
  shard.reserved.emplace(key, Reservation{envelope_sha256, false});
  return {ReserveOutcome::kNew, {}};
}

absl::StatusOr<std::shared_ptr<const MessageRecord>> SqliteMessageStore::Commit(const v1::Envelope& envelope,
                                                                                const v1::Receipt& receipt) {
  return CommitWithAuditSize(envelope, receipt, 0);
}

absl::StatusOr<std::shared_ptr<const MessageRecord>> SqliteMessageStore::CommitWithAuditSize(
    const v1::Envelope& envelope, const v1::Receipt& receipt, uint64_t audit_size_at_commit) {
  std::promise<absl::StatusOr<std::shared_ptr<const MessageRecord>>> promise;
  auto result = promise.get_future();
  CommitAsync(std::make_shared<const v1::Envelope>(envelope), receipt, audit_size_at_commit,
              [&promise](absl::StatusOr<std::shared_ptr<const MessageRecord>> r) { promise.set_value(std::move(r)); });
  return result.get();
}

void SqliteMessageStore::CommitAsync(std::shared_ptr<const v1::Envelope> envelope, const v1::Receipt& receipt,
                                     uint64_t audit_size_at_commit, CommitDone done) {
  const std::string key = Key(envelope->sender(), envelope->message_id());
  Shard& shard = ShardFor(key);
  auto m = std::make_shared<Writer::NewMessage>();
  bool reserved = false;
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.reserved.find(key);
    if (it != shard.reserved.end() && !it->second.committing) {
      it->second.committing = true;
      m->sha256 = it->second.sha256;
      reserved = true;
    }
  }
  if (!reserved) {  // Called back outside the shard's lock.
    done(absl::FailedPreconditionError("commit without a reservation"));
    return;
  }
  m->envelope = envelope;
  m->now = NowMicros();
  m->accepted_micros = receipt.has_accepted_at() ? MicrosOf(receipt.accepted_at()) : m->now;
  m->expires_micros = options_.delivery_max_age_micros > 0 ? m->accepted_micros + options_.delivery_max_age_micros : 0;
  m->audit_size_at_commit = audit_size_at_commit;
  auto record = std::make_shared<MessageRecord>();
  record->envelope = *envelope;
  record->receipt = receipt;
  for (const auto& r : envelope->recipients()) {
    RecipientRecord rr;
    rr.party = r;
    rr.updated_micros = m->now;
    record->recipients.push_back(std::move(rr));
  }
  // Committed: the row now answers Reserve. Failed: nothing was stored, and
  // the reservation goes too, so that the client's retry is not refused as
  // "in progress" for the rest of the process's life.
  auto finish = [&shard, key, record, done = std::move(done)](absl::Status status) {
    {
      std::lock_guard<std::mutex> lock(shard.mu);
      shard.reserved.erase(key);
    }
    if (!status.ok()) {
      done(status);
    } else {
      done(std::shared_ptr<const MessageRecord>(record));
    }
  };
  if (!envelope->SerializeToString(&m->envelope_bytes) || !receipt.SerializeToString(&m->receipt_bytes)) {
    finish(absl::InternalError("message store: cannot serialize the envelope or receipt"));
    return;
  }
  WriteAsync([m](Writer& w) { return w.InsertMessage(*m); }, /*is_commit=*/true, std::move(finish));
}

void SqliteMessageStore::MarkAuditedAsync(const std::string& sender, const std::string& message_id,
                                          uint64_t audit_index, std::function<void(absl::Status)> done) {
  const std::string key = Key(sender, message_id);
  Shard& shard = ShardFor(key);
  {
    // Known from now on: Reserve answers a resubmission with this index
    // while the row still says NULL (until the write below is durable).
    std::lock_guard<std::mutex> lock(shard.mu);
    shard.audited[key] = audit_index;
  }
  WriteAsync([sender, message_id, audit_index](Writer& w) { return w.MarkAudited(sender, message_id, audit_index); },
             /*is_commit=*/false,
             [&shard, key, done = std::move(done)](absl::Status s) {
               if (s.ok()) {
                 // Durable. (If it failed the index stays known here while the
                 // caller writes it again; a restart pairs it from the audit log.)
                 std::lock_guard<std::mutex> lock(shard.mu);
                 shard.audited.erase(key);
               }
               done(std::move(s));
             });
}

void SqliteMessageStore::DiscardAsync(const std::string& sender, const std::string& message_id,
                                      std::function<void(absl::Status)> done) {
  WriteAsync([sender, message_id](Writer& w) { return w.DeleteMessage(sender, message_id); }, /*is_commit=*/false,
             std::move(done));
}

void SqliteMessageStore::Abandon(const std::string& sender, const std::string& message_id) {
  const std::string key = Key(sender, message_id);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.reserved.find(key);
  if (it != shard.reserved.end() && !it->second.committing) shard.reserved.erase(it);
}

absl::StatusOr<std::shared_ptr<const MessageRecord>> SqliteMessageStore::Get(const std::string& sender,
                                                                             const std::string& message_id) const {
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  ReaderConnection& r = *reader->get();
  ReadTransaction txn(&r);  // The message and its deliveries from one snapshot.
  PORTCULLIS_RETURN_IF_ERROR(txn.Begin());
  auto record = std::make_shared<MessageRecord>();
  {
    Query q(r.conn, r.get_message);
    q.Text(1, sender).Text(2, message_id);
    auto row = q.Step("reading a message");
    if (!row.ok()) return row.status();
    if (!*row) return NotFound(sender, message_id);
    const absl::string_view envelope = q.ColumnBytes(0);
    const absl::string_view receipt = q.ColumnBytes(1);
    if (!record->envelope.ParseFromArray(envelope.data(), static_cast<int>(envelope.size())) ||
        !record->receipt.ParseFromArray(receipt.data(), static_cast<int>(receipt.size()))) {
      return absl::DataLossError(absl::StrCat("message store ", options_.path, ": message '", message_id, "' from '",
                                              sender, "' cannot be parsed"));
    }
    if (!q.ColumnIsNull(2)) record->receipt.set_audit_index(static_cast<uint64_t>(q.ColumnInt(2)));
  }
  // By primary key, in the envelope's recipient order (no index on
  // (sender, message_id) needed in deliveries).
  for (const std::string& party : record->envelope.recipients()) {
    Query q(r.conn, r.get_delivery);
    const std::string id = DeliveryIdFor(sender, message_id, party);
    q.Text(1, id);
    auto row = q.Step("reading a delivery");
    if (!row.ok()) return row.status();
    if (!*row) {
      return absl::DataLossError(absl::StrCat("message store ", options_.path, ": message '", message_id, "' from '",
                                              sender, "' has no delivery row for '", party, "'"));
    }
    record->recipients.push_back(ReadRecipientRecord(q, party));
  }
  return std::shared_ptr<const MessageRecord>(std::move(record));
}

absl::Status SqliteMessageStore::MarkAudited(const std::string& sender, const std::string& message_id,
                                             uint64_t audit_index) {
  return Write([&](Writer& w) { return w.MarkAudited(sender, message_id, audit_index); }, /*is_commit=*/false);
}

absl::StatusOr<std::vector<UnauditedMessage>> SqliteMessageStore::Unaudited() const {
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  ReaderConnection& r = *reader->get();
  std::vector<UnauditedMessage> out;
  Query q(r.conn, r.unaudited);
  for (;;) {
    auto row = q.Step("listing unaudited messages");
    if (!row.ok()) return row.status();
    if (!*row) return out;
    UnauditedMessage m;
    m.sender = q.ColumnText(0);
    m.message_id = q.ColumnText(1);
    m.audit_size_at_commit = static_cast<uint64_t>(q.ColumnInt(2));
    m.accepted_micros = q.ColumnInt(3);
    out.push_back(std::move(m));
  }
}

}  // namespace portcullis
