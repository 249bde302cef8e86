// SqliteMessageStore as a DeadLetterStore (docs/delivery.md, "Dead letters").
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"
#include "gateway/store/dead_letter_rules.h"
#include "gateway/store/sqlite_store_internal.h"
#include "util/clock.h"
#include "util/status_macros.h"

namespace portcullis {

using sqlite_store::Connection;
using sqlite_store::Query;
using sqlite_store::ReadDeliveryRow;
using sqlite_store::StmtPtr;

// Dead letters (operators). Statements prepared per call: these are rare
// operator actions, and keeping them here leaves the hot paths' statement
// lists alone.

namespace {


absl::Status DeliveryNotFound(const std::string& delivery_id) {
  return Refuse(absl::StatusCode::kNotFound, "DELIVERY_NOT_FOUND", "delivery_id",
                absl::StrCat("no delivery '", delivery_id, "'"));
}

absl::StatusOr<DeliveryRow> ReadDelivery(const Connection& conn, const std::string& delivery_id) {
  StmtPtr stmt;
  PORTCULLIS_RETURN_IF_ERROR(conn.Prepare(
      absl::StrCat("SELECT ", kDeliveryColumns, " FROM deliveries d WHERE delivery_id = ?1").c_str(), &stmt));
  Query q(conn, stmt);
  q.Text(1, delivery_id);
  auto row = q.Step("reading a delivery");
  if (!row.ok()) return row.status();
  if (!*row) return DeliveryNotFound(delivery_id);
  return ReadDeliveryRow(q);
}

}  // namespace

absl::StatusOr<std::vector<DeliveryRow>> SqliteMessageStore::DeadLetters(const std::string& recipient,
                                                                         int64_t after_seq, size_t limit) const {
  std::vector<DeliveryRow> out;
  if (limit == 0) return out;
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  const Connection& conn = (*reader)->conn;
  // By recipient: the (recipient, state, seq) index; otherwise in seq order
  // over the seq index, skipping what is not a dead letter.
  const std::string sql =
      recipient.empty() ? absl::StrCat("SELECT ", kDeliveryColumns,
                                       " FROM deliveries d WHERE state IN (?2, ?3) AND seq > ?4 ORDER BY seq LIMIT ?5")
                        : absl::StrCat("SELECT ", kDeliveryColumns,
                                       " FROM deliveries d WHERE recipient = ?1 AND state IN (?2, ?3) AND seq > ?4 "
                                       "ORDER BY seq LIMIT ?5");
  StmtPtr stmt;
  PORTCULLIS_RETURN_IF_ERROR(conn.Prepare(sql.c_str(), &stmt));
  Query q(conn, stmt);
  if (!recipient.empty()) q.Text(1, recipient);
  q.Int(2, v1::FAILED).Int(3, v1::EXPIRED).Int(4, after_seq).Int(5, static_cast<int64_t>(limit));
  for (;;) {
    auto row = q.Step("listing dead letters");
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(ReadDeliveryRow(q));
  }
}

absl::StatusOr<DeliveryRow> SqliteMessageStore::GetDelivery(const std::string& delivery_id) const {
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  return ReadDelivery((*reader)->conn, delivery_id);
}

absl::StatusOr<DeliveryRow> SqliteMessageStore::RetryDeadLetter(const std::string& delivery_id, int64_t max_age_micros,
                                                                const OfficerOnRecord& officer) {
  return ReviveOrCancel(delivery_id, v1::ACCEPTED, max_age_micros, officer, "");
}

absl::StatusOr<DeliveryRow> SqliteMessageStore::CancelDeadLetter(const std::string& delivery_id,
                                                                 const OfficerOnRecord& officer,
                                                                 const std::string& reason) {
  return ReviveOrCancel(delivery_id, v1::CANCELLED, 0, officer, reason);
}

absl::StatusOr<DeliveryRow> SqliteMessageStore::ReviveOrCancel(const std::string& delivery_id, v1::DeliveryState state,
                                                               int64_t max_age_micros, const OfficerOnRecord& officer,
                                                               const std::string& reason) {
  DeliveryRow result;
  absl::Status status = Write(
      [&](Writer& w) -> absl::Status {
        const Connection& conn = w.conn();
        auto row = ReadDelivery(conn, delivery_id);
        if (!row.ok()) return row.status();
        DeliveryRow d = *std::move(row);
        PORTCULLIS_RETURN_IF_ERROR(ApplyDeadLetterDecision(&d, state, officer, reason, NowMicros(), max_age_micros,
                                                           [&w] { return w.NextSeq(); }));
        StmtPtr stmt;
        PORTCULLIS_RETURN_IF_ERROR(conn.Prepare(
            "UPDATE deliveries SET state = ?2, next_attempt_micros = ?3, last_error = ?4, expires_micros = ?5, "
            "updated_micros = ?6, officer = ?7, reason = ?8, seq = ?9, attempts = ?10, officer_verified = ?11 "
            "WHERE delivery_id = ?1",
            &stmt));
        Query q(conn, stmt);
        q.Text(1, d.delivery_id)
            .Int(2, d.state)
            .Int(3, d.next_attempt_micros)
            .Text(4, d.last_error)
            .Int(5, d.expires_micros)
            .Int(6, d.updated_micros)
            .Text(7, d.officer)
            .Text(8, d.reason)
            .Int(9, d.seq)
            .Int(10, d.attempts)
            .Int(11, d.officer_verified ? 1 : 0);
        PORTCULLIS_RETURN_IF_ERROR(q.Run("updating a dead letter"));
        result = std::move(d);
        return absl::OkStatus();
      },
      /*is_commit=*/false);
  if (!status.ok()) return status;
  return result;
}

}  // namespace portcullis
