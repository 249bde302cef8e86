// SqliteMessageStore's writer (docs/delivery.md, "Store"): the statements
// the writer thread runs, and group commit (every write queued since the
// last transaction, each in a savepoint, one BEGIN IMMEDIATE ... COMMIT).
#include <algorithm>
#include <future>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/common/digest.h"
#include "gateway/store/sqlite_store_internal.h"
#include "util/clock.h"
#include "util/status_macros.h"

namespace portcullis {

using sqlite_store::kDeliveryColumnCount;
using sqlite_store::NotARecipient;
using sqlite_store::NotFound;
using sqlite_store::ReadDeliveryRow;
using sqlite_store::ReadRecipientRecord;

absl::Status SqliteMessageStore::Writer::PrepareStatements() {
  const std::pair<StmtPtr*, const char*> statements[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&savepoint_, "SAVEPOINT op"},
      {&release_, "RELEASE op"},
      {&rollback_to_, "ROLLBACK TO op"},
      {&next_seq_stmt_, "SELECT COALESCE(MAX(seq), 0) + 1 FROM deliveries"},
      {&insert_message_,
       "INSERT INTO messages(sender, message_id, envelope_sha256, envelope, receipt, accepted_micros, audit_index, "
       "audit_size_at_commit, case_reference) VALUES(?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8)"},
      {&insert_delivery_,
       "INSERT INTO deliveries(delivery_id, seq, sender, message_id, recipient, case_reference, state, attempts, "
       "next_attempt_micros, last_error, expires_micros, updated_micros, officer, reason) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, '', ?9, ?8, '', '')"},
      {&select_delivery_,
       "SELECT state, attempts, updated_micros, reason, officer, next_attempt_micros, seq, officer_verified "
       "FROM deliveries "
       "WHERE delivery_id = ?1"},
      {&update_delivery_,
       "UPDATE deliveries SET state = ?2, attempts = ?3, updated_micros = ?4, reason = ?5, officer = ?6, "
       "next_attempt_micros = ?7, officer_verified = ?8 WHERE delivery_id = ?1"},
      {&audit_index_of_, "SELECT audit_index FROM messages WHERE sender = ?1 AND message_id = ?2"},
      {&set_audit_index_, "UPDATE messages SET audit_index = ?3 WHERE sender = ?1 AND message_id = ?2"},
      {&delete_message_, "DELETE FROM messages WHERE sender = ?1 AND message_id = ?2"},
      {&delete_deliveries_, "DELETE FROM deliveries WHERE sender = ?1 AND message_id = ?2"},
      {&seq_of_, "SELECT seq FROM deliveries WHERE delivery_id = ?1 AND recipient = ?2"},
      // pull_cursors.acked_seq holds the highest seq read for sending (the
      // column's name predates that use).
      {&pulled_seq_, "SELECT acked_seq FROM pull_cursors WHERE recipient = ?1"},
      {&record_pulled_,
       "INSERT INTO pull_cursors(recipient, acked_seq) VALUES(?1, ?2) "
       "ON CONFLICT(recipient) DO UPDATE SET acked_seq = MAX(acked_seq, excluded.acked_seq)"},
      {&select_confirmable_,
       "SELECT " kDeliveryColumns ", length(m.envelope) FROM deliveries d JOIN messages m "
       "ON m.sender = d.sender AND m.message_id = d.message_id "
       "WHERE d.recipient = ?1 AND d.state = 1 AND d.seq <= ?2 AND m.audit_index IS NOT NULL ORDER BY d.seq"},
      {&select_expired_,
       "SELECT " kDeliveryColumns ", length(m.envelope) FROM deliveries d JOIN messages m "
       "ON m.sender = d.sender AND m.message_id = d.message_id "
       "WHERE d.state = 1 AND d.expires_micros > 0 AND d.expires_micros <= ?1 AND m.audit_index IS NOT NULL "
       "ORDER BY d.seq LIMIT ?2"},
      {&set_state_,
       "UPDATE deliveries SET state = ?2, updated_micros = ?3, reason = ?4, next_attempt_micros = 0, "
       "attempts = MAX(attempts, ?5) WHERE delivery_id = ?1"},
  };
  for (const auto& [stmt, sql] : statements) PORTCULLIS_RETURN_IF_ERROR(conn_.Prepare(sql, stmt));
  return absl::OkStatus();
}

// Transaction control for the writer loop.
absl::Status SqliteMessageStore::Writer::Begin() {
  next_seq_.reset();  // Read again under this transaction's write lock.
  return Query(conn_, begin_).Run("BEGIN IMMEDIATE");
}

absl::Status SqliteMessageStore::Writer::Commit() { return Query(conn_, commit_).Run("COMMIT"); }

void SqliteMessageStore::Writer::Rollback() {
  if (conn_.InTransaction()) Query(conn_, rollback_).Run("ROLLBACK").IgnoreError();
}

absl::Status SqliteMessageStore::Writer::Savepoint() { return Query(conn_, savepoint_).Run("SAVEPOINT"); }

absl::Status SqliteMessageStore::Writer::Release() { return Query(conn_, release_).Run("RELEASE"); }

absl::Status SqliteMessageStore::Writer::RollbackToSavepoint() {
  PORTCULLIS_RETURN_IF_ERROR(Query(conn_, rollback_to_).Run("ROLLBACK TO"));
  return Release();
}

// The message row and one ACCEPTED delivery row per recipient.
absl::Status SqliteMessageStore::Writer::InsertMessage(const NewMessage& m) {
  const v1::Envelope& e = *m.envelope;
  {
    Query q(conn_, insert_message_);
    q.Text(1, e.sender())
        .Text(2, e.message_id())
        .Text(3, m.sha256)
        .Blob(4, m.envelope_bytes)
        .Blob(5, m.receipt_bytes)
        .Int(6, m.accepted_micros)
        .Int(7, static_cast<int64_t>(m.audit_size_at_commit))
        .Text(8, e.case_reference());
    PORTCULLIS_RETURN_IF_ERROR(q.Run("recording the message"));
  }
  for (const std::string& recipient : e.recipients()) {
    const std::string id = DeliveryIdFor(e.sender(), e.message_id(), recipient);
    auto seq = NextSeq();
    if (!seq.ok()) return seq.status();
    Query q(conn_, insert_delivery_);
    q.Text(1, id)
        .Int(2, *seq)
        .Text(3, e.sender())
        .Text(4, e.message_id())
        .Text(5, recipient)
        .Text(6, e.case_reference())
        .Int(7, v1::ACCEPTED)
        .Int(8, m.now)  // Due at once; also updated_micros.
        .Int(9, m.expires_micros);
    PORTCULLIS_RETURN_IF_ERROR(q.Run(absl::StrCat("recording the delivery to '", recipient, "'")));
  }
  return absl::OkStatus();
}

// The next delivery seq. Assigned under the write lock, in commit order: a
// reader paging by seq never sees seq N+1 committed before N.
absl::StatusOr<int64_t> SqliteMessageStore::Writer::NextSeq() {
  if (!next_seq_) {
    Query q(conn_, next_seq_stmt_);
    auto row = q.Step("reading the next delivery seq");
    if (!row.ok()) return row.status();
    next_seq_ = q.ColumnInt(0);
  }
  return (*next_seq_)++;
}

absl::StatusOr<RecipientRecord> SqliteMessageStore::Writer::UpdateRecipient(
    const std::string& sender, const std::string& message_id, const std::string& party,
    const std::function<absl::Status(RecipientRecord&)>& update) {
  const std::string id = DeliveryIdFor(sender, message_id, party);
  RecipientRecord record;
  {
    Query q(conn_, select_delivery_);
    q.Text(1, id);
    auto row = q.Step("reading a delivery");
    if (!row.ok()) return row.status();
    if (!*row) {
      auto exists = AuditIndexOf(sender, message_id);
      if (!exists.ok()) return exists.status();
      return exists->has_value() ? NotARecipient(party) : NotFound(sender, message_id);
    }
    record = ReadRecipientRecord(q, party);
  }
  PORTCULLIS_RETURN_IF_ERROR(update(record));
  record.party = party;  // The row's key, whatever `update` did to it.
  record.updated_micros = NowMicros();
  Query q(conn_, update_delivery_);
  q.Text(1, id)
      .Int(2, record.state)
      .Int(3, record.attempts)
      .Int(4, record.updated_micros)
      .Text(5, record.reason)
      .Text(6, record.officer)
      .Int(7, record.next_attempt_micros)
      .Int(8, record.officer_verified ? 1 : 0);
  PORTCULLIS_RETURN_IF_ERROR(q.Run("updating a delivery"));
  return record;
}

absl::Status SqliteMessageStore::Writer::MarkAudited(const std::string& sender, const std::string& message_id,
                                                     uint64_t audit_index) {
  auto current = AuditIndexOf(sender, message_id);
  if (!current.ok()) return current.status();
  if (!current->has_value()) return NotFound(sender, message_id);
  const std::optional<int64_t>& index = **current;
  if (index.has_value()) {
    if (static_cast<uint64_t>(*index) == audit_index) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat("message '", message_id, "' from '", sender,
                                                      "' is already paired with audit record ", *index, ", not ",
                                                      audit_index));
  }
  Query q(conn_, set_audit_index_);
  q.Text(1, sender).Text(2, message_id).Int(3, static_cast<int64_t>(audit_index));
  return q.Run("recording the audit index");
}

// The message and its deliveries, gone (an acceptance that could not be audited).
absl::Status SqliteMessageStore::Writer::DeleteMessage(const std::string& sender, const std::string& message_id) {
  {
    Query q(conn_, delete_deliveries_);
    q.Text(1, sender).Text(2, message_id);
    PORTCULLIS_RETURN_IF_ERROR(q.Run("discarding the deliveries"));
  }
  Query q(conn_, delete_message_);
  q.Text(1, sender).Text(2, message_id);
  return q.Run("discarding the message");
}

// Pull mode: `through_id` and every earlier ACCEPTED delivery to
// `recipient` become DELIVERED.
absl::Status SqliteMessageStore::Writer::RecordPulled(const std::string& recipient, int64_t seq) {
  Query q(conn_, record_pulled_);
  q.Text(1, recipient).Int(2, seq);
  return q.Run("recording what was read for sending");
}

absl::StatusOr<ConfirmResult> SqliteMessageStore::Writer::ConfirmPulled(const std::string& recipient,
                                                                        const std::string& through_id, int64_t now) {
  int64_t through_seq = 0;
  {
    Query q(conn_, seq_of_);
    q.Text(1, through_id).Text(2, recipient);
    auto row = q.Step("reading a delivery");
    if (!row.ok()) return row.status();
    if (!*row) {
      return absl::NotFoundError(absl::StrCat("there is no delivery '", through_id, "' to '", recipient, "'"));
    }
    through_seq = q.ColumnInt(0);
  }
  {
    Query q(conn_, pulled_seq_);
    q.Text(1, recipient);
    auto row = q.Step("reading what was read for sending");
    if (!row.ok()) return row.status();
    through_seq = std::min(through_seq, *row ? q.ColumnInt(0) : 0);
  }
  ConfirmResult result;
  result.through_seq = through_seq;
  std::vector<ChangedDelivery>& out = result.changed;
  {
    Query q(conn_, select_confirmable_);
    q.Text(1, recipient).Int(2, through_seq);
    PORTCULLIS_RETURN_IF_ERROR(ReadChanged(q, "listing deliveries to confirm", &out));
  }
  for (ChangedDelivery& c : out) {
    c.row.state = v1::DELIVERED;
    c.row.reason.clear();
    c.row.attempts = std::max<uint32_t>(c.row.attempts, 1);
    PORTCULLIS_RETURN_IF_ERROR(SetState(c.row, now));
  }
  return result;
}

// Up to `limit` ACCEPTED deliveries whose expiry has passed become EXPIRED.
absl::StatusOr<std::vector<ChangedDelivery>> SqliteMessageStore::Writer::ExpireDue(int64_t now, size_t limit) {
  std::vector<ChangedDelivery> out;
  {
    Query q(conn_, select_expired_);
    q.Int(1, now).Int(2, static_cast<int64_t>(limit));
    PORTCULLIS_RETURN_IF_ERROR(ReadChanged(q, "listing expired deliveries", &out));
  }
  for (ChangedDelivery& c : out) {
    c.row.state = v1::EXPIRED;
    c.row.reason = c.row.reason.empty()
                       ? std::string("not delivered within the maximum age")
                       : absl::StrCat("not delivered within the maximum age; last error: ", c.row.reason);
    PORTCULLIS_RETURN_IF_ERROR(SetState(c.row, now));
  }
  return out;
}

absl::Status SqliteMessageStore::Writer::ReadChanged(Query& q, absl::string_view what,
                                                     std::vector<ChangedDelivery>* out) {
  for (;;) {
    auto row = q.Step(what);
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    ChangedDelivery c;
    c.row = ReadDeliveryRow(q);
    c.envelope_bytes = static_cast<uint64_t>(q.ColumnInt(kDeliveryColumnCount));
    out->push_back(std::move(c));
  }
}

absl::Status SqliteMessageStore::Writer::SetState(const DeliveryRow& row, int64_t now) {
  Query q(conn_, set_state_);
  q.Text(1, row.delivery_id).Int(2, row.state).Int(3, now).Text(4, row.reason).Int(5, row.attempts);
  return q.Run("updating a delivery's state");
}

// Outer optional: the message exists; inner: its audit_index (NULL = none).
absl::StatusOr<std::optional<std::optional<int64_t>>> SqliteMessageStore::Writer::AuditIndexOf(
    const std::string& sender, const std::string& message_id) {
  Query q(conn_, audit_index_of_);
  q.Text(1, sender).Text(2, message_id);
  auto row = q.Step("reading a message");
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::optional<int64_t>>();
  if (q.ColumnIsNull(0)) return std::optional<std::optional<int64_t>>(std::optional<int64_t>());
  return std::optional<std::optional<int64_t>>(q.ColumnInt(0));
}

// ---------------------------------------------------------------------------
// Group commit.

absl::Status SqliteMessageStore::Write(std::function<absl::Status(Writer&)> apply, bool is_commit) {
  if (std::this_thread::get_id() == writer_thread_.get_id()) {
    // From inside an UpdateRecipient callback: waiting for the writer would
    // wait for ourselves forever.
    return absl::FailedPreconditionError("message store: a write from inside an UpdateRecipient callback");
  }
  WriteOp op;
  op.apply = std::move(apply);
  op.is_commit = is_commit;
  std::future<absl::Status> done = op.done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("message store is closing");
    pending_.push_back(&op);
    // The writer waits only when the queue is empty.
    if (pending_.size() == 1) cv_.notify_one();
  }
  return done.get();  // `op` lives on this stack until the writer has answered.
}

void SqliteMessageStore::Flush() {
  // Queued behind everything already queued; the writer answers in order.
  Write([](Writer&) { return absl::OkStatus(); }, /*is_commit=*/false).IgnoreError();
}

void SqliteMessageStore::WriteAsync(std::function<absl::Status(Writer&)> apply, bool is_commit,
                                    std::function<void(absl::Status)> on_done) {
  auto* op = new WriteOp();
  op->apply = std::move(apply);
  op->is_commit = is_commit;
  op->on_done = std::move(on_done);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      pending_.push_back(op);
      if (pending_.size() == 1) cv_.notify_one();
      return;
    }
  }
  std::function<void(absl::Status)> cb = std::move(op->on_done);
  delete op;
  cb(absl::UnavailableError("message store is closing"));
}

void SqliteMessageStore::WriterLoop() {
  std::vector<WriteOp*> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // Stopping, and everything queued is answered.
      // Everything that queued up during the previous fsync: that wait is what
      // makes batches grow under load, with no timer adding latency when idle.
      while (!pending_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(pending_.front());
        pending_.pop_front();
      }
    }
    RunBatch(batch);
    batch.clear();
  }
}

void SqliteMessageStore::RunBatch(const std::vector<WriteOp*>& batch) {
  Writer& w = *writer_;
  std::vector<absl::Status> results(batch.size());
  size_t ran = 0;
  // Fails what has not failed on its own yet: nothing of the batch is durable.
  auto fail_all = [&](const absl::Status& s) {
    w.Rollback();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (i >= ran || results[i].ok()) results[i] = s;
    }
  };
  absl::Status s = w.Begin();
  if (!s.ok()) {
    fail_all(s);
  } else {
    for (; ran < batch.size(); ++ran) {
      // Each write in a savepoint: a refused update (or a constraint error)
      // undoes only itself, not its neighbours in the batch.
      s = w.Savepoint();
      if (!s.ok()) break;
      results[ran] = batch[ran]->apply(w);
      if (results[ran].ok()) {
        s = w.Release();
      } else if (w.InTransaction()) {
        s = w.RollbackToSavepoint();
      } else {
        // SQLite rolled the whole transaction back (I/O error, disk full):
        // the writes before this one are gone too.
        s = results[ran];
        ++ran;
      }
      if (!s.ok()) break;
    }
    if (s.ok()) s = w.Commit();
    if (!s.ok()) {
      fail_all(s);
    } else {
      uint64_t messages = 0;
      for (size_t i = 0; i < batch.size(); ++i) messages += batch[i]->is_commit && results[i].ok() ? 1 : 0;
      commits_.fetch_add(messages);
      commit_batches_.fetch_add(1);
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i]->on_done) {  // Asynchronous: the op is ours to delete.
      std::function<void(absl::Status)> cb = std::move(batch[i]->on_done);
      delete batch[i];
      cb(std::move(results[i]));
      continue;
    }
    // The caller may return (and destroy its WriteOp) the moment its future
    // is ready, so the promise is moved out first and set from here.
    std::promise<absl::Status> done = std::move(batch[i]->done);
    done.set_value(std::move(results[i]));
  }
}

}  // namespace portcullis
