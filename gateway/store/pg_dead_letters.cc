// PgMessageStore, dead letters (docs/delivery.md): listing, one delivery,
// retry (re-sequenced from the head row) and cancel.
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"
#include "gateway/store/dead_letter_rules.h"
#include "gateway/store/pg_message_store.h"
#include "gateway/store/pg_store_rows.h"
#include "util/clock.h"

namespace portcullis {
namespace {


absl::StatusOr<DeliveryRow> ReadDelivery(pg::Connection& conn, const std::string& delivery_id, bool for_update) {
  auto res =
      for_update
          ? conn.Exec("SELECT " PORTCULLIS_PG_DELIVERY_COLUMNS " FROM deliveries d WHERE d.delivery_id = $1 FOR UPDATE",
                      {delivery_id})
          : conn.Exec("SELECT " PORTCULLIS_PG_DELIVERY_COLUMNS " FROM deliveries d WHERE d.delivery_id = $1",
                      {delivery_id});
  if (!res.ok()) return res.status();
  if (res->rows() == 0) return pgstore::DeliveryNotFound(delivery_id);
  return pgstore::ReadDeliveryRow(*res, 0);
}

}  // namespace

absl::StatusOr<std::vector<DeliveryRow>> PgMessageStore::DeadLetters(const std::string& recipient, int64_t after_seq,
                                                                     size_t limit) const {
  std::vector<DeliveryRow> out;
  if (limit == 0) return out;
  absl::Status s = Read([&](pg::Connection& conn) -> absl::Status {
    out.clear();
    const int failed = v1::FAILED;
    const int expired = v1::EXPIRED;
    auto res = recipient.empty()
                   ? conn.Exec("SELECT " PORTCULLIS_PG_DELIVERY_COLUMNS
                               " FROM deliveries d WHERE d.state IN ($1, $2) AND d.seq > $3 ORDER BY d.seq LIMIT $4",
                               {failed, expired, after_seq, limit})
                   : conn.Exec("SELECT " PORTCULLIS_PG_DELIVERY_COLUMNS
                               " FROM deliveries d WHERE d.recipient = $5 AND d.state IN ($1, $2) AND d.seq > $3 "
                               "ORDER BY d.seq LIMIT $4",
                               {failed, expired, after_seq, limit, recipient});
    if (!res.ok()) return res.status();
    for (int i = 0; i < res->rows(); ++i) out.push_back(pgstore::ReadDeliveryRow(*res, i));
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<DeliveryRow> PgMessageStore::GetDelivery(const std::string& delivery_id) const {
  DeliveryRow row;
  absl::Status s = Read([&](pg::Connection& conn) -> absl::Status {
    auto r = ReadDelivery(conn, delivery_id, /*for_update=*/false);
    if (!r.ok()) return r.status();
    row = *std::move(r);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return row;
}

absl::StatusOr<DeliveryRow> PgMessageStore::RetryDeadLetter(const std::string& delivery_id, int64_t max_age_micros,
                                                            const OfficerOnRecord& officer) {
  return ReviveOrCancel(delivery_id, v1::ACCEPTED, max_age_micros, officer, "");
}

absl::StatusOr<DeliveryRow> PgMessageStore::CancelDeadLetter(const std::string& delivery_id,
                                                             const OfficerOnRecord& officer,
                                                             const std::string& reason) {
  return ReviveOrCancel(delivery_id, v1::CANCELLED, 0, officer, reason);
}

absl::StatusOr<DeliveryRow> PgMessageStore::ReviveOrCancel(const std::string& delivery_id, v1::DeliveryState state,
                                                           int64_t max_age_micros, const OfficerOnRecord& officer,
                                                           const std::string& reason) {
  DeliveryRow result;
  absl::Status status = Write([&](pg::Tx& tx) -> absl::Status {
    auto row = ReadDelivery(tx.conn(), delivery_id, /*for_update=*/true);
    if (!row.ok()) return row.status();
    DeliveryRow d = *std::move(row);
    absl::Status decided = ApplyDeadLetterDecision(&d, state, officer, reason, NowMicros(), max_age_micros,
                                                   [&tx]() -> absl::StatusOr<int64_t> {
                                                     auto head = tx.head();  // Never a SEQUENCE.
                                                     if (!head.ok()) return head.status();
                                                     return (*head)->next_seq++;
                                                   });
    if (!decided.ok()) return decided;
    absl::Status s = tx.conn().Run(
        "UPDATE deliveries SET state = $2, next_attempt_micros = $3, last_error = $4, expires_micros = $5, "
        "updated_micros = $6, officer = $7, reason = $8, seq = $9, attempts = $10, officer_verified = $11 "
        "WHERE delivery_id = $1",
        {d.delivery_id, static_cast<int>(d.state), d.next_attempt_micros, d.last_error, d.expires_micros,
         d.updated_micros, d.officer, d.reason, d.seq, d.attempts, d.officer_verified});
    if (!s.ok()) return s;
    result = std::move(d);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

}  // namespace portcullis
