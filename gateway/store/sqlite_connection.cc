#include "gateway/store/sqlite_connection.h"

#include "gateway/common/refusal.h"
#include "util/status_macros.h"

namespace portcullis {
namespace sqlite_store {

absl::StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOMEM:
      return absl::StatusCode::kUnavailable;
    case SQLITE_CONSTRAINT:
      return absl::StatusCode::kAlreadyExists;
    default:
      return absl::StatusCode::kInternal;
  }
}

// Runs a statement prepared for this call only (start-up and pragmas).
absl::StatusOr<int64_t> QueryInt(const Connection& conn, const char* sql) {
  StmtPtr stmt;
  PORTCULLIS_RETURN_IF_ERROR(conn.Prepare(sql, &stmt));
  Query q(conn, stmt);
  auto row = q.Step(sql);
  if (!row.ok()) return row.status();
  if (!*row) return conn.Error(SQLITE_ERROR, absl::StrCat(sql, " returned no row"));
  return q.ColumnInt(0);
}

absl::StatusOr<std::string> QueryText(const Connection& conn, const char* sql) {
  StmtPtr stmt;
  PORTCULLIS_RETURN_IF_ERROR(conn.Prepare(sql, &stmt));
  Query q(conn, stmt);
  auto row = q.Step(sql);
  if (!row.ok()) return row.status();
  if (!*row) return conn.Error(SQLITE_ERROR, absl::StrCat(sql, " returned no row"));
  return q.ColumnText(0);
}

int64_t MicrosOf(const google::protobuf::Timestamp& t) { return t.seconds() * 1000000 + t.nanos() / 1000; }

std::string Key(const std::string& sender, const std::string& id) { return sender + '\n' + id; }

absl::Status NotFound(const std::string& sender, const std::string& id) {
  return Refuse(absl::StatusCode::kNotFound, "MESSAGE_NOT_FOUND", "message_id",
                absl::StrCat("no message '", id, "' from '", sender, "'"));
}

absl::Status NotARecipient(const std::string& party) {
  return Refuse(absl::StatusCode::kPermissionDenied, "NOT_A_RECIPIENT", "party",
                absl::StrCat("'", party, "' is not a recipient of this message"));
}

DeliveryRow ReadDeliveryRow(const Query& q) {
  DeliveryRow d;
  d.delivery_id = q.ColumnText(0);
  d.seq = q.ColumnInt(1);
  d.sender = q.ColumnText(2);
  d.message_id = q.ColumnText(3);
  d.recipient = q.ColumnText(4);
  d.case_reference = q.ColumnText(5);
  d.state = static_cast<v1::DeliveryState>(q.ColumnInt(6));
  d.attempts = static_cast<uint32_t>(q.ColumnInt(7));
  d.next_attempt_micros = q.ColumnInt(8);
  d.last_error = q.ColumnText(9);
  d.expires_micros = q.ColumnInt(10);
  d.updated_micros = q.ColumnInt(11);
  d.officer = q.ColumnText(12);
  d.reason = q.ColumnText(13);
  d.officer_verified = q.ColumnInt(14) != 0;
  return d;
}

RecipientRecord ReadRecipientRecord(const Query& q, const std::string& party) {
  RecipientRecord r;
  r.party = party;
  r.state = static_cast<v1::DeliveryState>(q.ColumnInt(0));
  r.attempts = static_cast<uint32_t>(q.ColumnInt(1));
  r.updated_micros = q.ColumnInt(2);
  r.reason = q.ColumnText(3);
  r.officer = q.ColumnText(4);
  r.next_attempt_micros = q.ColumnInt(5);
  r.seq = q.ColumnInt(6);
  r.officer_verified = q.ColumnInt(7) != 0;
  return r;
}

}  // namespace sqlite_store
}  // namespace portcullis
