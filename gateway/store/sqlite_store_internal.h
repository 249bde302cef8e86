// SqliteMessageStore's private parts, shared by its translation units
// (sqlite_*.cc, docs/storage.md "Module boundaries"): the writer thread's
// connection and statements, the pool of read connections, a queued write.
// Included only by gateway/store/sqlite_*.cc.
#ifndef PORTCULLIS_GATEWAY_STORE_SQLITE_STORE_INTERNAL_H_
#define PORTCULLIS_GATEWAY_STORE_SQLITE_STORE_INTERNAL_H_

#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/store/sqlite_connection.h"
#include "gateway/store/sqlite_message_store.h"

namespace portcullis {

// The writer: its connection is used by the writer thread only (and by Open
// before that thread starts). Statements in sqlite_writer.cc.
class SqliteMessageStore::Writer {
 public:
  using Connection = sqlite_store::Connection;
  using StmtPtr = sqlite_store::StmtPtr;
  using Query = sqlite_store::Query;

  explicit Writer(Connection conn) : conn_(std::move(conn)) {}

  absl::Status PrepareStatements();
  const Connection& conn() const { return conn_; }

  // Transaction control for the writer loop.
  absl::Status Begin();
  absl::Status Commit();
  void Rollback();
  absl::Status Savepoint();
  absl::Status Release();
  absl::Status RollbackToSavepoint();
  bool InTransaction() const { return conn_.InTransaction(); }

  struct NewMessage {
    std::shared_ptr<const v1::Envelope> envelope;
    std::string sha256;
    std::string envelope_bytes;
    std::string receipt_bytes;
    int64_t accepted_micros;
    uint64_t audit_size_at_commit;
    int64_t now;
    int64_t expires_micros;  // 0 = never.
  };

  // The message row and one ACCEPTED delivery row per recipient.
  absl::Status InsertMessage(const NewMessage& m);
  // The next delivery seq. Assigned under the write lock, in commit order: a
  // reader paging by seq never sees seq N+1 committed before N.
  absl::StatusOr<int64_t> NextSeq();
  absl::StatusOr<RecipientRecord> UpdateRecipient(const std::string& sender, const std::string& message_id,
                                                  const std::string& party,
                                                  const std::function<absl::Status(RecipientRecord&)>& update);
  absl::Status MarkAudited(const std::string& sender, const std::string& message_id, uint64_t audit_index);
  // The message and its deliveries, gone (an acceptance that could not be audited).
  absl::Status DeleteMessage(const std::string& sender, const std::string& message_id);
  // Pull mode: the highest seq to `recipient` read for sending.
  absl::Status RecordPulled(const std::string& recipient, int64_t seq);
  // Pull mode: `through_id` and every earlier ACCEPTED delivery to
  // `recipient` become DELIVERED (never beyond what RecordPulled recorded).
  absl::StatusOr<ConfirmResult> ConfirmPulled(const std::string& recipient, const std::string& through_id,
                                              int64_t now);
  // Up to `limit` ACCEPTED deliveries whose expiry has passed become EXPIRED.
  absl::StatusOr<std::vector<ChangedDelivery>> ExpireDue(int64_t now, size_t limit);

 private:
  static absl::Status ReadChanged(Query& q, absl::string_view what, std::vector<ChangedDelivery>* out);
  absl::Status SetState(const DeliveryRow& row, int64_t now);
  // Outer optional: the message exists; inner: its audit_index (NULL = none).
  absl::StatusOr<std::optional<std::optional<int64_t>>> AuditIndexOf(const std::string& sender,
                                                                     const std::string& message_id);

  Connection conn_;
  // Declared after the connection: finalized before it closes.
  StmtPtr begin_, commit_, rollback_, savepoint_, release_, rollback_to_;
  StmtPtr next_seq_stmt_, insert_message_, insert_delivery_, select_delivery_, update_delivery_;
  StmtPtr delete_message_, delete_deliveries_;
  StmtPtr audit_index_of_, set_audit_index_;
  StmtPtr seq_of_, select_confirmable_, select_expired_, set_state_, pulled_seq_, record_pulled_;
  std::optional<int64_t> next_seq_;  // Next free seq within the current transaction.
};

namespace sqlite_store {

// One read connection and its statements (sqlite_readers.cc).
struct ReaderConnection {
  explicit ReaderConnection(Connection c) : conn(std::move(c)) {}
  absl::Status PrepareStatements();

  Connection conn;
  StmtPtr begin, end, lookup, get_message, get_delivery, unaudited, pending, backlog, case_messages, case_deliveries;
  StmtPtr correlated;
};

// A read transaction: several statements see one snapshot. Ended on every
// path, so a reader never pins an old snapshot (and the WAL) after use.
class ReadTransaction {
 public:
  explicit ReadTransaction(ReaderConnection* r) : r_(r) {}
  ~ReadTransaction() {
    if (r_->conn.InTransaction()) Query(r_->conn, r_->end).Run("ending a read").IgnoreError();
  }
  absl::Status Begin() { return Query(r_->conn, r_->begin).Run("starting a read"); }

 private:
  ReaderConnection* r_;
};

}  // namespace sqlite_store

// Readers: connections opened on demand up to max_readers and leased to one
// thread at a time. The pool's mutex is held only to take or return a
// connection, never during a query.
class SqliteMessageStore::ReaderPool {
 public:
  using ReaderConnection = sqlite_store::ReaderConnection;

  ReaderPool(std::string path, int busy_timeout_ms, size_t max)
      : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms), max_(max) {}

  class Lease {
   public:
    Lease(ReaderPool* pool, std::unique_ptr<ReaderConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (conn_) pool_->Return(std::move(conn_));
    }
    ReaderConnection* operator->() const { return conn_.get(); }
    ReaderConnection* get() const { return conn_.get(); }

   private:
    ReaderPool* pool_;
    std::unique_ptr<ReaderConnection> conn_;
  };

  absl::StatusOr<Lease> Acquire();

 private:
  absl::StatusOr<std::unique_ptr<ReaderConnection>> OpenOne() const;
  void Return(std::unique_ptr<ReaderConnection> conn);

  const std::string path_;
  const int busy_timeout_ms_;
  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<ReaderConnection>> idle_;
  size_t open_ = 0;
};

struct SqliteMessageStore::WriteOp {
  std::function<absl::Status(Writer&)> apply;
  bool is_commit = false;
  std::promise<absl::Status> done;              // A blocking Write() waits on this ...
  std::function<void(absl::Status)> on_done;   // ... an asynchronous one is called back (and owns the op).
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_SQLITE_STORE_INTERNAL_H_
