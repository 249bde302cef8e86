// SqliteMessageStore's read connections: each read-only, with its prepared
// statements, leased to one thread at a time.
#include <utility>

#include "gateway/store/sqlite_store_internal.h"
#include "util/status_macros.h"

namespace portcullis {
namespace sqlite_store {

absl::Status ReaderConnection::PrepareStatements() {
  // Cannot write, whatever a bug might ask it to do.
  PORTCULLIS_RETURN_IF_ERROR(conn.Exec("PRAGMA query_only=ON", "making a read connection read-only"));
  const std::pair<StmtPtr*, const char*> statements[] = {
      {&begin, "BEGIN"},
      {&end, "COMMIT"},
      {&lookup, "SELECT envelope_sha256, receipt, audit_index FROM messages WHERE sender = ?1 AND message_id = ?2"},
      {&get_message, "SELECT envelope, receipt, audit_index FROM messages WHERE sender = ?1 AND message_id = ?2"},
      {&get_delivery,
       "SELECT state, attempts, updated_micros, reason, officer, next_attempt_micros, seq, officer_verified "
       "FROM deliveries "
       "WHERE delivery_id = ?1"},
      {&unaudited,
       "SELECT sender, message_id, audit_size_at_commit, accepted_micros FROM messages "
       "WHERE audit_index IS NULL ORDER BY rowid"},
      {&pending, "SELECT " kDeliveryColumns ", m.audit_index IS NULL FROM deliveries d JOIN messages m "
                 "ON m.sender = d.sender AND m.message_id = d.message_id "
                 "WHERE d.recipient = ?1 AND d.state = ?2 AND d.seq > ?3 ORDER BY d.seq LIMIT ?4"},
      {&backlog,
       "SELECT d.recipient, COUNT(*), TOTAL(length(m.envelope)) FROM deliveries d JOIN messages m "
       "ON m.sender = d.sender AND m.message_id = d.message_id WHERE d.state = 1 GROUP BY d.recipient"},
      // ListCase, page of messages: messages_by_case from a rowid on, in
      // rowid order (no sort); a recipient's share is one probe of
      // deliveries_by_case per candidate message.
      {&case_messages,
       "SELECT m.rowid, m.sender, m.message_id, m.envelope, m.accepted_micros, m.audit_index IS NULL, m.receipt "
       "FROM messages m WHERE m.case_reference = ?1 AND m.rowid > ?3 AND (m.sender = ?2 OR EXISTS("
       "SELECT 1 FROM deliveries d WHERE d.case_reference = ?1 AND d.sender = m.sender "
       "AND d.message_id = m.message_id AND d.recipient = ?2)) ORDER BY m.rowid LIMIT ?4"},
      // ListCase, the page's deliveries the party may see: every one of
      // what it sent, its own of what it received. Columns as
      // ReadRecipientRecord reads them, then the message's rowid and the recipient.
      {&case_deliveries,
       "SELECT d.state, d.attempts, d.updated_micros, d.reason, d.officer, d.next_attempt_micros, d.seq, "
       "d.officer_verified, m.rowid, d.recipient FROM messages m JOIN deliveries d ON d.case_reference = "
       "m.case_reference "
       "AND d.sender = m.sender AND d.message_id = m.message_id "
       "WHERE m.case_reference = ?1 AND m.rowid > ?3 AND m.rowid <= ?4 AND (m.sender = ?2 OR d.recipient = ?2)"},
      // CorrelatedSenders: the party's own message by primary key, those
      // it received over deliveries_by_message.
      {&correlated,
       "SELECT sender FROM messages WHERE sender = ?1 AND message_id = ?2 "
       "UNION SELECT sender FROM deliveries WHERE message_id = ?2 AND recipient = ?1 ORDER BY 1 LIMIT ?3"},
  };
  for (const auto& [stmt, sql] : statements) PORTCULLIS_RETURN_IF_ERROR(conn.Prepare(sql, stmt));
  return absl::OkStatus();
}

}  // namespace sqlite_store

absl::StatusOr<SqliteMessageStore::ReaderPool::Lease> SqliteMessageStore::ReaderPool::Acquire() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !idle_.empty() || open_ < max_; });
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;  // Counted now, opened outside the lock.
  }
  auto conn = OpenOne();
  if (!conn.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
    cv_.notify_one();
    return conn.status();
  }
  return Lease(this, *std::move(conn));
}

absl::StatusOr<std::unique_ptr<sqlite_store::ReaderConnection>> SqliteMessageStore::ReaderPool::OpenOne() const {
  auto c = sqlite_store::Connection::Open(path_, busy_timeout_ms_);
  if (!c.ok()) return c.status();
  auto r = std::make_unique<ReaderConnection>(*std::move(c));
  PORTCULLIS_RETURN_IF_ERROR(r->PrepareStatements());
  return r;
}

void SqliteMessageStore::ReaderPool::Return(std::unique_ptr<ReaderConnection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(std::move(conn));
  cv_.notify_one();
}

}  // namespace portcullis
