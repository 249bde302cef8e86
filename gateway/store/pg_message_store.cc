// PgMessageStore: opening, the read and write plumbing, Get, and the helpers
// the other pg_*.cc files share (pg_store_rows.h).
#include "gateway/store/pg_message_store.h"

#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"
#include "gateway/store/pg_store_rows.h"

namespace portcullis {
namespace pgstore {

DeliveryRow ReadDeliveryRow(const pg::Result& r, int row, int first) {
  DeliveryRow d;
  d.delivery_id = std::string(r.Text(row, first + 0));
  d.seq = r.Int(row, first + 1);
  d.sender = std::string(r.Text(row, first + 2));
  d.message_id = std::string(r.Text(row, first + 3));
  d.recipient = std::string(r.Text(row, first + 4));
  d.case_reference = std::string(r.Text(row, first + 5));
  d.state = static_cast<v1::DeliveryState>(r.Int(row, first + 6));
  d.attempts = static_cast<uint32_t>(r.Int(row, first + 7));
  d.next_attempt_micros = r.Int(row, first + 8);
  d.last_error = std::string(r.Text(row, first + 9));
  d.expires_micros = r.Int(row, first + 10);
  d.updated_micros = r.Int(row, first + 11);
  d.officer = std::string(r.Text(row, first + 12));
  d.reason = std::string(r.Text(row, first + 13));
  d.officer_verified = r.Bool(row, first + 14);
  return d;
}

RecipientRecord ReadRecipientRecord(const pg::Result& r, int row, const std::string& party, int first) {
  RecipientRecord rr;
  rr.party = party;
  rr.state = static_cast<v1::DeliveryState>(r.Int(row, first + 0));
  rr.attempts = static_cast<uint32_t>(r.Int(row, first + 1));
  rr.updated_micros = r.Int(row, first + 2);
  rr.reason = std::string(r.Text(row, first + 3));
  rr.officer = std::string(r.Text(row, first + 4));
  rr.next_attempt_micros = r.Int(row, first + 5);
  rr.seq = r.Int(row, first + 6);
  rr.officer_verified = r.Bool(row, first + 7);
  return rr;
}

std::string Key(const std::string& sender, const std::string& message_id) { return sender + '\n' + message_id; }

int64_t MicrosOf(const google::protobuf::Timestamp& t) { return t.seconds() * 1000000 + t.nanos() / 1000; }

absl::Status MessageNotFound(const std::string& sender, const std::string& message_id) {
  return Refuse(absl::StatusCode::kNotFound, "MESSAGE_NOT_FOUND", "message_id",
                absl::StrCat("no message '", message_id, "' from '", sender, "'"));
}

absl::Status NotARecipient(const std::string& party) {
  return Refuse(absl::StatusCode::kPermissionDenied, "NOT_A_RECIPIENT", "party",
                absl::StrCat("'", party, "' is not a recipient of this message"));
}

absl::Status DeliveryNotFound(const std::string& delivery_id) {
  return Refuse(absl::StatusCode::kNotFound, "DELIVERY_NOT_FOUND", "delivery_id",
                absl::StrCat("no delivery '", delivery_id, "'"));
}

absl::Status Unparsable(const std::string& what, const std::string& sender, const std::string& message_id) {
  return absl::DataLossError(absl::StrCat("message store (postgres): ", what, " of message '", message_id, "' from '",
                                          sender, "' cannot be parsed"));
}

bool& InsideWriterOp() {
  thread_local bool inside = false;
  return inside;
}

Snapshot::~Snapshot() {
  if (begun_ && conn_.in_transaction()) conn_.Run("ROLLBACK").IgnoreError();
}

absl::Status Snapshot::Begin() {
  absl::Status s = conn_.Run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  begun_ = s.ok();
  return s;
}

}  // namespace pgstore

using pgstore::Key;

absl::StatusOr<std::unique_ptr<PgMessageStore>> PgMessageStore::Open(PgStoreOptions options) {
  if (options.writer == nullptr || options.pool == nullptr) {
    return absl::InvalidArgumentError("message store (postgres): no writer or no connection pool");
  }
  std::unique_ptr<PgMessageStore> store(new PgMessageStore(options));
  // One read now, so that an unreachable database or a missing schema shows at start.
  absl::Status s = store->Read([](pg::Connection& conn) -> absl::Status {
    auto res = conn.Exec(
        "SELECT to_regclass('messages') IS NOT NULL AND to_regclass('deliveries') IS NOT NULL AND "
        "to_regclass('pull_cursors') IS NOT NULL AND to_regclass('portcullis_head') IS NOT NULL");
    if (!res.ok()) return res.status();
    if (res->rows() != 1 || !res->Bool(0, 0)) {
      return absl::FailedPreconditionError(
          "message store (postgres): the database has no Portcullis schema (pg::PrepareSchema was not run)");
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return store;
}

PgMessageStore::~PgMessageStore() { Flush(); }

PgMessageStore::Shard& PgMessageStore::ShardFor(const std::string& key) const {
  return shards_[std::hash<std::string>()(key) % shards_.size()];
}

absl::Status PgMessageStore::Read(const std::function<absl::Status(pg::Connection&)>& read) const {
  absl::Status s;
  // An idle connection the server dropped (restart) fails on first use and
  // is closed when its lease goes: the next attempt gets another or a new one.
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto lease = options_.pool->Acquire();
    if (!lease.ok()) return lease.status();
    s = read(**lease);
    if (s.ok() || (*lease)->ok()) return s;
  }
  return s;
}

namespace {

pg::GroupWriter::Op HeadFirst(pg::GroupWriter::Op op) {
  return [op = std::move(op)](pg::Tx& tx) -> absl::Status {
    if (auto head = tx.head(); !head.ok()) return head.status();
    return op(tx);
  };
}

}  // namespace

void PgMessageStore::Submit(pg::GroupWriter::Op op, pg::GroupWriter::Done done) {
  options_.writer->Submit(HeadFirst(std::move(op)), std::move(done));
}

absl::Status PgMessageStore::Write(pg::GroupWriter::Op op) {
  if (pgstore::InsideWriterOp()) {
    // From inside an UpdateRecipient callback: waiting for the writer would
    // wait for ourselves forever.
    return absl::FailedPreconditionError("message store (postgres): a write from inside an UpdateRecipient callback");
  }
  return options_.writer->Run(HeadFirst(std::move(op)));
}

void PgMessageStore::Flush() { options_.writer->Flush(); }

std::unordered_map<std::string, uint64_t> PgMessageStore::PairingsInProgress() const {
  std::unordered_map<std::string, uint64_t> out;
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    out.insert(shard.audited.begin(), shard.audited.end());
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const MessageRecord>> PgMessageStore::Get(const std::string& sender,
                                                                         const std::string& message_id) const {
  std::shared_ptr<MessageRecord> record;
  absl::Status s = Read([&](pg::Connection& conn) -> absl::Status {
    record = std::make_shared<MessageRecord>();
    // The message and its deliveries in one statement (one snapshot).
    auto res =
        conn.Exec("SELECT m.envelope, m.receipt, m.audit_index, d.recipient, " PORTCULLIS_PG_RECIPIENT_COLUMNS
                  " FROM messages m LEFT JOIN deliveries d ON d.sender = m.sender AND d.message_id = m.message_id "
                  "WHERE m.sender = $1 AND m.message_id = $2",
                  {sender, message_id});
    if (!res.ok()) return res.status();
    if (res->rows() == 0) return pgstore::MessageNotFound(sender, message_id);
    if (!record->envelope.ParseFromString(res->Bytes(0, 0)) || !record->receipt.ParseFromString(res->Bytes(0, 1))) {
      return pgstore::Unparsable("the envelope or receipt", sender, message_id);
    }
    if (!res->IsNull(0, 2)) record->receipt.set_audit_index(static_cast<uint64_t>(res->Int(0, 2)));
    // In the envelope's recipient order.
    for (const std::string& party : record->envelope.recipients()) {
      bool found = false;
      for (int i = 0; i < res->rows() && !found; ++i) {
        if (!res->IsNull(i, 3) && res->Text(i, 3) == party) {
          record->recipients.push_back(pgstore::ReadRecipientRecord(*res, i, party, 4));
          found = true;
        }
      }
      if (!found) {
        return absl::DataLossError(absl::StrCat("message store (postgres): message '", message_id, "' from '", sender,
                                                "' has no delivery row for '", party, "'"));
      }
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return std::shared_ptr<const MessageRecord>(std::move(record));
}

}  // namespace portcullis
