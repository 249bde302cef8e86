// PgMessageStore, acceptance and idempotency: Reserve, Commit, the pairing
// with the audit log (MarkAudited, Unaudited), Discard, Abandon, and the
// one-transaction acceptance's InsertAcceptedInTx / FinishAccepted.
#include <algorithm>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/common/digest.h"
#include "gateway/common/log.h"
#include "gateway/store/pg_message_store.h"
#include "gateway/store/pg_store_rows.h"
#include "util/clock.h"
#include "util/status_macros.h"

namespace portcullis {
namespace {

using pgstore::Key;

// What one accepted message's rows hold.
struct NewMessage {
  std::shared_ptr<const v1::Envelope> envelope;
  v1::Receipt receipt;
  std::string sha256;
  std::string envelope_bytes;
  std::string receipt_bytes;
  int64_t accepted_micros = 0;
  std::optional<uint64_t> audit_index;  // Known already (one-transaction acceptance), or NULL until paired.
  uint64_t audit_size_at_commit = 0;
  int64_t expires_micros = 0;  // 0 = never.
};

absl::StatusOr<std::shared_ptr<NewMessage>> Prepare(std::shared_ptr<const v1::Envelope> envelope,
                                                    const v1::Receipt& receipt, std::string sha256,
                                                    int64_t max_age_micros) {
  auto m = std::make_shared<NewMessage>();
  m->envelope = std::move(envelope);
  m->receipt = receipt;
  m->sha256 = std::move(sha256);
  if (!m->envelope->SerializeToString(&m->envelope_bytes) || !receipt.SerializeToString(&m->receipt_bytes)) {
    return absl::InternalError("message store (postgres): cannot serialize the envelope or receipt");
  }
  m->accepted_micros = receipt.has_accepted_at() ? pgstore::MicrosOf(receipt.accepted_at()) : NowMicros();
  m->expires_micros = max_age_micros > 0 ? m->accepted_micros + max_age_micros : 0;
  return m;
}

// The INSERT of `n` delivery rows: $1..$6 are shared (sender, message_id,
// case_reference, state, now, expires_micros), then (delivery_id, seq,
// recipient) per row. One text per `n` (bounded by the recipient limit),
// kept for the process's life: the connection prepares each once.
const char* InsertDeliveriesSql(size_t n) {
  static std::mutex mu;
  static std::map<size_t, std::string> texts;
  std::lock_guard<std::mutex> lock(mu);
  std::string& sql = texts[n];
  if (sql.empty()) {
    sql =
        "INSERT INTO deliveries(delivery_id, seq, sender, message_id, recipient, case_reference, state, attempts, "
        "next_attempt_micros, last_error, expires_micros, updated_micros, officer, officer_verified, reason) VALUES";
    for (size_t i = 0; i < n; ++i) {
      const size_t p = 7 + 3 * i;
      absl::StrAppend(&sql, i == 0 ? "" : ",", "($", p, ", $", p + 1, ", $1, $2, $", p + 2,
                      ", $3, $4, 0, $5, '', $6, $5, '', false, '')");
    }
  }
  return sql.c_str();  // std::map never moves its values.
}

// SELECT of backlog_counts for `n` recipients ($1..$n), one text per `n`
// (kept, as InsertDeliveriesSql's).
const char* BacklogCountsSql(size_t n) {
  static std::mutex mu;
  static std::map<size_t, std::string> texts;
  std::lock_guard<std::mutex> lock(mu);
  std::string& sql = texts[n];
  if (sql.empty()) {
    sql = "SELECT recipient, messages, bytes FROM backlog_counts WHERE recipient IN (";
    for (size_t i = 0; i < n; ++i) absl::StrAppend(&sql, i == 0 ? "$" : ", $", i + 1);
    sql += ")";
  }
  return sql.c_str();
}

// Inside `tx` (the head row locked): room for one delivery of `bytes` to each
// of the envelope's recipients, checked in the envelope's order as
// Backlog::Reserve does.
absl::Status CheckBacklogInTx(pg::Tx& tx, const BacklogBound& bound, const v1::Envelope& e, uint64_t bytes) {
  if (!bound.set() || e.recipients().empty()) return absl::OkStatus();
  std::vector<pg::Param> params(e.recipients().begin(), e.recipients().end());
  auto res = tx.conn().Exec(BacklogCountsSql(params.size()), params);
  if (!res.ok()) return res.status();
  std::map<std::string, BacklogCount> held;
  for (int i = 0; i < res->rows(); ++i) {
    BacklogCount& c = held[std::string(res->Text(i, 0))];
    c.messages = static_cast<uint64_t>(std::max<int64_t>(0, res->Int(i, 1)));
    c.bytes = static_cast<uint64_t>(std::max<int64_t>(0, res->Int(i, 2)));
  }
  for (const std::string& r : e.recipients()) {
    const BacklogCount& c = held[r];
    PORTCULLIS_RETURN_IF_ERROR(CheckBacklogRoom(bound, r, c.messages, c.bytes, bytes));
  }
  return absl::OkStatus();
}

// A unique violation other than the messages primary key's is no sign of
// another gateway: INTERNAL (its text kept for the log).
absl::Status NotStoredFirst(absl::Status s) {
  if (s.code() != absl::StatusCode::kAlreadyExists) return s;
  return absl::InternalError(absl::StrCat("message store (postgres): a unique violation that is not the message's key "
                                          "(a corrupt head row?): ", s.message()));
}

// Inside `tx`: the message row (position from the head row) and one ACCEPTED
// delivery row per recipient (seqs from the head row, in the envelope's
// order). Sets *stored to the record as stored. Only the messages primary
// key taken (another gateway stored the key first) is ALREADY_EXISTS (the
// transaction is then rolled back by the writer); any other unique violation
// (a seq, a position or a delivery id already used: a head row that does not
// match the rows) is INTERNAL, never "stored by another gateway".
absl::Status InsertMessage(pg::Tx& tx, const NewMessage& m, std::shared_ptr<const MessageRecord>* stored) {
  auto head = tx.head();
  if (!head.ok()) return head.status();
  const v1::Envelope& e = *m.envelope;
  const int64_t now = NowMicros();
  const int64_t position = (*head)->next_position++;
  // ON CONFLICT names the primary key: that conflict alone inserts nothing
  // (no row returned); every other constraint still raises its error.
  auto inserted = tx.conn().Exec(
      "INSERT INTO messages(sender, message_id, position, envelope_sha256, envelope, receipt, case_reference, "
      "accepted_micros, audit_index, audit_size_at_commit) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
      "ON CONFLICT (sender, message_id) DO NOTHING RETURNING 1",
      {e.sender(), e.message_id(), position, m.sha256, pg::Param::Bytes(m.envelope_bytes),
       pg::Param::Bytes(m.receipt_bytes), e.case_reference(), m.accepted_micros,
       m.audit_index ? pg::Param(*m.audit_index) : pg::Param(nullptr), m.audit_size_at_commit});
  if (!inserted.ok()) return NotStoredFirst(inserted.status());
  if (inserted->rows() == 0) {
    return absl::AlreadyExistsError(absl::StrCat("message store (postgres): message '", e.message_id(), "' from '",
                                                 e.sender(), "' was stored first by another gateway"));
  }
  auto record = std::make_shared<MessageRecord>();
  record->envelope = e;
  record->receipt = m.receipt;
  // Every delivery row in one statement (one round trip, whatever the
  // number of recipients), seqs in the envelope's order.
  std::vector<pg::Param> params = {e.sender(), e.message_id(),  e.case_reference(), static_cast<int>(v1::ACCEPTED),
                                   now,        m.expires_micros};
  for (const std::string& recipient : e.recipients()) {
    const int64_t seq = (*head)->next_seq++;
    params.emplace_back(DeliveryIdFor(e.sender(), e.message_id(), recipient));
    params.emplace_back(seq);
    params.emplace_back(recipient);
    RecipientRecord rr;
    rr.party = recipient;
    rr.updated_micros = now;
    rr.next_attempt_micros = now;
    rr.seq = seq;
    record->recipients.push_back(std::move(rr));
  }
  if (!record->recipients.empty()) {
    auto inserted = tx.conn().Exec(InsertDeliveriesSql(record->recipients.size()), params);
    if (!inserted.ok()) return NotStoredFirst(inserted.status());
  }
  *stored = std::move(record);
  return absl::OkStatus();
}

// Inside a writer op: pairs the message with `audit_index`.
absl::Status SetAuditIndex(pg::Tx& tx, const std::string& sender, const std::string& message_id,
                           uint64_t audit_index) {
  auto res = tx.conn().Exec("SELECT audit_index FROM messages WHERE sender = $1 AND message_id = $2 FOR UPDATE",
                            {sender, message_id});
  if (!res.ok()) return res.status();
  if (res->rows() == 0) return pgstore::MessageNotFound(sender, message_id);
  if (!res->IsNull(0, 0)) {
    const int64_t index = res->Int(0, 0);
    if (static_cast<uint64_t>(index) == audit_index) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat("message '", message_id, "' from '", sender,
                                                      "' is already paired with audit record ", index, ", not ",
                                                      audit_index));
  }
  return tx.conn().Run("UPDATE messages SET audit_index = $3 WHERE sender = $1 AND message_id = $2",
                       {sender, message_id, audit_index});
}

}  // namespace

ReserveResult PgMessageStore::Reserve(const std::string& sender, const std::string& message_id,
                                      const std::string& envelope_sha256) {
  const std::string key = Key(sender, message_id);
  Shard& shard = ShardFor(key);
  // A placeholder reservation while the row is looked up, so that a
  // concurrent Reserve of the same key in this process sees it (in progress)
  // or the row, never neither. (Another gateway's is stopped by the primary
  // key at commit.) shard.mu is never held across the read: the writer's
  // thread takes it (InsertAcceptedInTx, inside a batch that holds the head
  // row's lock), and a read may wait seconds for a connection.
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    if (shard.reserved.count(key) != 0) return {ReserveOutcome::kInProgress, {}};
    shard.reserved.emplace(key, Reservation{envelope_sha256, false, true});
  }
  ReserveResult result;
  bool found = false;
  bool audit_index_null = false;
  absl::Status s = Read([&](pg::Connection& conn) -> absl::Status {
    found = false;
    auto res = conn.Exec("SELECT envelope_sha256, receipt, audit_index FROM messages WHERE sender = $1 AND message_id = $2",
                         {sender, message_id});
    if (!res.ok()) return res.status();
    if (res->rows() == 0) return absl::OkStatus();
    found = true;
    result.receipt.Clear();
    if (!result.receipt.ParseFromString(res->Bytes(0, 1))) return pgstore::Unparsable("the receipt", sender, message_id);
    audit_index_null = res->IsNull(0, 2);
    if (!audit_index_null) result.receipt.set_audit_index(static_cast<uint64_t>(res->Int(0, 2)));
    result.outcome = res->Text(0, 0) == envelope_sha256 ? ReserveOutcome::kDuplicate : ReserveOutcome::kConflict;
    return absl::OkStatus();
  });
  std::lock_guard<std::mutex> lock(shard.mu);
  if (!s.ok() || found) shard.reserved.erase(key);
  if (!s.ok()) {
    // Neither kNew (it might be a duplicate) nor kDuplicate (no receipt): the client retries.
    LogLine("message store (postgres): duplicate check failed: %s\n", s.ToString().c_str());
    return {ReserveOutcome::kInProgress, {}};
  }
  if (!found) {
    shard.reserved[key].checking = false;  // Ours now: kNew.
    return {ReserveOutcome::kNew, {}};
  }
  if (audit_index_null) {
    if (auto audited = shard.audited.find(key); audited != shard.audited.end()) {
      result.receipt.set_audit_index(audited->second);  // Audited; its pairing is being written.
    } else {
      return {ReserveOutcome::kInProgress, {}};  // Stored, not yet audited (may yet be discarded).
    }
  }
  return result;
}

absl::StatusOr<std::shared_ptr<const MessageRecord>> PgMessageStore::Commit(const v1::Envelope& envelope,
                                                                           const v1::Receipt& receipt,
                                                                           uint64_t audit_size_at_commit) {
  std::promise<absl::StatusOr<std::shared_ptr<const MessageRecord>>> promise;
  auto result = promise.get_future();
  CommitAsync(std::make_shared<const v1::Envelope>(envelope), receipt, audit_size_at_commit,
              [&promise](absl::StatusOr<std::shared_ptr<const MessageRecord>> r) { promise.set_value(std::move(r)); });
  return result.get();
}

void PgMessageStore::CommitAsync(std::shared_ptr<const v1::Envelope> envelope, const v1::Receipt& receipt,
                                 uint64_t audit_size_at_commit, CommitDone done) {
  const std::string key = Key(envelope->sender(), envelope->message_id());
  Shard& shard = ShardFor(key);
  std::string sha256;
  bool reserved = false;
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.reserved.find(key);
    if (it != shard.reserved.end() && !it->second.committing && !it->second.checking) {
      it->second.committing = true;
      sha256 = it->second.sha256;
      reserved = true;
    }
  }
  if (!reserved) {
    done(absl::FailedPreconditionError("commit without a reservation"));
    return;
  }
  // Committed: the row now answers Reserve. Failed (also: another gateway
  // stored the key first): nothing of it was stored, and the reservation goes
  // too, so the next Reserve answers from the database.
  auto stored = std::make_shared<std::shared_ptr<const MessageRecord>>();
  auto finish = [this, &shard, key, stored, done = std::move(done)](absl::Status status) {
    {
      std::lock_guard<std::mutex> lock(shard.mu);
      shard.reserved.erase(key);
    }
    if (!status.ok()) return done(std::move(status));
    commits_.fetch_add(1);
    done(*stored);
  };
  auto m = Prepare(std::move(envelope), receipt, std::move(sha256), options_.delivery_max_age_micros);
  if (!m.ok()) return finish(m.status());
  (*m)->audit_size_at_commit = audit_size_at_commit;
  options_.writer->Submit([m = *std::move(m), stored](pg::Tx& tx) { return InsertMessage(tx, *m, stored.get()); },
                          std::move(finish));
}

absl::Status PgMessageStore::InsertAcceptedInTx(pg::Tx& tx, const v1::Envelope& envelope, const v1::Receipt& receipt,
                                                uint64_t audit_index, std::shared_ptr<const MessageRecord>* stored) {
  const std::string key = Key(envelope.sender(), envelope.message_id());
  Shard& shard = ShardFor(key);
  std::string sha256;
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.reserved.find(key);
    if (it == shard.reserved.end() || it->second.checking) {
      return absl::FailedPreconditionError("message store (postgres): an acceptance without a reservation");
    }
    it->second.committing = true;  // Also when the op runs again: the same reservation.
    sha256 = it->second.sha256;
  }
  auto m = Prepare(std::make_shared<const v1::Envelope>(envelope), receipt, std::move(sha256),
                   options_.delivery_max_age_micros);
  if (!m.ok()) return m.status();
  (*m)->audit_index = audit_index;
  (*m)->audit_size_at_commit = audit_index;  // The record is at this index (no pairing ever needed).
  // The head row first (one lock order), then the counts it serialises.
  if (auto head = tx.head(); !head.ok()) return head.status();
  PORTCULLIS_RETURN_IF_ERROR(
      CheckBacklogInTx(tx, options_.backlog_bound, envelope, (*m)->envelope_bytes.size()));
  return InsertMessage(tx, **m, stored);
}

void PgMessageStore::FinishAccepted(const std::string& sender, const std::string& message_id, bool committed) {
  const std::string key = Key(sender, message_id);
  Shard& shard = ShardFor(key);
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    shard.reserved.erase(key);
  }
  if (committed) commits_.fetch_add(1);
}

void PgMessageStore::MarkAuditedAsync(const std::string& sender, const std::string& message_id, uint64_t audit_index,
                                      std::function<void(absl::Status)> done) {
  const std::string key = Key(sender, message_id);
  Shard& shard = ShardFor(key);
  {
    // Known from now on: Reserve and ListCase treat it as paired while the
    // row still says NULL (until the write below is durable).
    std::lock_guard<std::mutex> lock(shard.mu);
    shard.audited[key] = audit_index;
  }
  options_.writer->Submit(
      [sender, message_id, audit_index](pg::Tx& tx) { return SetAuditIndex(tx, sender, message_id, audit_index); },
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

absl::Status PgMessageStore::MarkAudited(const std::string& sender, const std::string& message_id,
                                         uint64_t audit_index) {
  return Write([&](pg::Tx& tx) { return SetAuditIndex(tx, sender, message_id, audit_index); });
}

void PgMessageStore::DiscardAsync(const std::string& sender, const std::string& message_id,
                                  std::function<void(absl::Status)> done) {
  options_.writer->Submit(
      [sender, message_id](pg::Tx& tx) -> absl::Status {
        absl::Status s =
            tx.conn().Run("DELETE FROM deliveries WHERE sender = $1 AND message_id = $2", {sender, message_id});
        if (!s.ok()) return s;
        return tx.conn().Run("DELETE FROM messages WHERE sender = $1 AND message_id = $2", {sender, message_id});
      },
      std::move(done));
}

void PgMessageStore::Abandon(const std::string& sender, const std::string& message_id) {
  const std::string key = Key(sender, message_id);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.reserved.find(key);
  if (it != shard.reserved.end() && !it->second.committing && !it->second.checking) shard.reserved.erase(it);
}

absl::StatusOr<std::vector<UnauditedMessage>> PgMessageStore::Unaudited() const {
  std::vector<UnauditedMessage> out;
  absl::Status s = Read([&](pg::Connection& conn) -> absl::Status {
    out.clear();
    auto res = conn.Exec(
        "SELECT sender, message_id, audit_size_at_commit, accepted_micros FROM messages WHERE audit_index IS NULL "
        "ORDER BY position");
    if (!res.ok()) return res.status();
    for (int i = 0; i < res->rows(); ++i) {
      UnauditedMessage m;
      m.sender = std::string(res->Text(i, 0));
      m.message_id = std::string(res->Text(i, 1));
      m.audit_size_at_commit = static_cast<uint64_t>(res->Int(i, 2));
      m.accepted_micros = res->Int(i, 3);
      out.push_back(std::move(m));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace portcullis
