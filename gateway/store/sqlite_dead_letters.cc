// SqliteMessageStore as a DeadLetterStore (docs/delivery.md, "Dead letters").
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"
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

bool IsDeadLetter(v1::DeliveryState state) { return state == v1::FAILED || state == v1::EXPIRED; }

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
        if (!IsDeadLetter(d.state)) {
          return Refuse(absl::StatusCode::kFailedPrecondition, "NOT_A_DEAD_LETTER", "delivery_id",
                        absl::StrCat("delivery '", delivery_id, "' is ", v1::DeliveryState_Name(d.state),
                                     "; only FAILED or EXPIRED deliveries can be retried or cancelled"));
        }
        const int64_t now = NowMicros();
        // The dispatcher writes the latest delivery error to `reason` (what
        // Track shows): keep a copy in `last_error`. A retried delivery keeps
        // it in `reason` too (the retry's reason is in the audit log); a
        // cancelled one shows the operator's reason instead.
        if (!d.reason.empty()) d.last_error = d.reason;
        d.state = state;
        d.officer = officer.id;
        d.officer_verified = officer.verified;
        if (state == v1::CANCELLED) d.reason = reason;
        d.updated_micros = now;
        if (state == v1::ACCEPTED) {
          // A new seq puts it behind everything now waiting: destinations and
          // pull streams page by seq and have passed its old one. It gets a
          // fresh attempt budget (its history is in the audit log).
          auto seq = w.NextSeq();
          if (!seq.ok()) return seq.status();
          d.seq = *seq;
          d.attempts = 0;
          d.next_attempt_micros = now;
          d.expires_micros = max_age_micros > 0 ? now + max_age_micros : 0;
        } else {
          d.next_attempt_micros = 0;
        }
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
