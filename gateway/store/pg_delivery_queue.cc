// PgMessageStore, the delivery queue: pending deliveries, recipient updates,
// pull confirmations, expiry, backlog and counts.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/common/digest.h"
#include "gateway/store/pg_message_store.h"
#include "gateway/store/pg_store_rows.h"
#include "util/clock.h"

namespace portcullis {
namespace {

// Inside a writer op: one recipient's record, updated by `update` (on the
// row as this transaction reads it, locked), then written back.
absl::StatusOr<RecipientRecord> UpdateInTx(pg::Tx& tx, const std::string& sender, const std::string& message_id,
                                           const std::string& party,
                                           const std::function<absl::Status(RecipientRecord&)>& update) {
  const std::string id = DeliveryIdFor(sender, message_id, party);
  auto res = tx.conn().Exec(
      "SELECT " PORTCULLIS_PG_RECIPIENT_COLUMNS " FROM deliveries d WHERE d.delivery_id = $1 FOR UPDATE", {id});
  if (!res.ok()) return res.status();
  if (res->rows() == 0) {
    auto message = tx.conn().Exec("SELECT 1 FROM messages WHERE sender = $1 AND message_id = $2", {sender, message_id});
    if (!message.ok()) return message.status();
    return message->rows() != 0 ? pgstore::NotARecipient(party) : pgstore::MessageNotFound(sender, message_id);
  }
  RecipientRecord record = pgstore::ReadRecipientRecord(*res, 0, party);
  absl::Status updated;
  {
    pgstore::WriterOpScope scope;
    updated = update(record);
  }
  if (!updated.ok()) return updated;
  record.party = party;  // The row's key, whatever `update` did to it.
  record.updated_micros = NowMicros();
  absl::Status s = tx.conn().Run(
      "UPDATE deliveries SET state = $2, attempts = $3, updated_micros = $4, reason = $5, officer = $6, "
      "next_attempt_micros = $7, officer_verified = $8 WHERE delivery_id = $1",
      {id, static_cast<int>(record.state), record.attempts, record.updated_micros, record.reason, record.officer,
       record.next_attempt_micros, record.officer_verified});
  if (!s.ok()) return s;
  return record;
}

void ReadChanged(const pg::Result& res, std::vector<ChangedDelivery>* out) {
  out->clear();
  for (int i = 0; i < res.rows(); ++i) {
    ChangedDelivery c;
    c.row = pgstore::ReadDeliveryRow(res, i);
    c.envelope_bytes = static_cast<uint64_t>(res.Int(i, pgstore::kDeliveryColumnCount));
    out->push_back(std::move(c));
  }
}

absl::Status SetState(pg::Tx& tx, const DeliveryRow& row, int64_t now) {
  return tx.conn().Run(
      "UPDATE deliveries SET state = $2, updated_micros = $3, reason = $4, next_attempt_micros = 0, "
      "attempts = GREATEST(attempts, $5) WHERE delivery_id = $1",
      {row.delivery_id, static_cast<int>(row.state), now, row.reason, row.attempts});
}

}  // namespace

absl::StatusOr<std::vector<DeliveryRow>> PgMessageStore::PendingDeliveries(const std::string& recipient,
                                                                           int64_t after_seq, size_t limit) const {
  std::vector<DeliveryRow> out;
  if (limit == 0) return out;
  absl::Status s = Read([&](pg::Connection& conn) -> absl::Status {
    out.clear();
    auto res = conn.Exec("SELECT " PORTCULLIS_PG_DELIVERY_COLUMNS
                         ", m.audit_index IS NULL FROM deliveries d JOIN messages m "
                         "ON m.sender = d.sender AND m.message_id = d.message_id "
                         "WHERE d.recipient = $1 AND d.state = $2 AND d.seq > $3 ORDER BY d.seq LIMIT $4",
                         {recipient, static_cast<int>(v1::ACCEPTED), after_seq, limit});
    if (!res.ok()) return res.status();
    for (int i = 0; i < res->rows(); ++i) {
      // Nothing after a message whose acceptance is not yet audited: it is
      // not deliverable yet, and a pager must not move past it.
      if (res->Bool(i, pgstore::kDeliveryColumnCount)) break;
      out.push_back(pgstore::ReadDeliveryRow(*res, i));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::map<std::string, BacklogCount>> PgMessageStore::BacklogCounts() const {
  std::map<std::string, BacklogCount> out;
  absl::Status s = Read([&](pg::Connection& conn) -> absl::Status {
    out.clear();
    // Kept by the trigger deliveries_backlog on every change of a delivery's
    // state, by whichever replica (docs/cluster.md, "Backlog bounds").
    auto res = conn.Exec("SELECT recipient, messages, bytes FROM backlog_counts WHERE messages > 0");
    if (!res.ok()) return res.status();
    for (int i = 0; i < res->rows(); ++i) {
      BacklogCount& c = out[std::string(res->Text(i, 0))];
      c.messages = static_cast<uint64_t>(res->Int(i, 1));
      c.bytes = static_cast<uint64_t>(res->Int(i, 2));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<DeliveryCount>> PgMessageStore::CountDeliveries(
    const std::vector<v1::DeliveryState>& states) const {
  std::vector<DeliveryCount> out;
  if (states.empty()) return out;
  std::string array = "{";
  for (size_t i = 0; i < states.size(); ++i) absl::StrAppend(&array, i == 0 ? "" : ",", static_cast<int>(states[i]));
  array += "}";
  absl::Status s = Read([&](pg::Connection& conn) -> absl::Status {
    out.clear();
    // Byte order of recipients (COLLATE "C"), as SQLite's.
    auto res = conn.Exec(
        "SELECT recipient, state, count(*) FROM deliveries WHERE state = ANY($1::integer[]) "
        "GROUP BY recipient, state ORDER BY recipient COLLATE \"C\", state",
        {array});
    if (!res.ok()) return res.status();
    for (int i = 0; i < res->rows(); ++i) {
      DeliveryCount c;
      c.recipient = std::string(res->Text(i, 0));
      c.state = static_cast<v1::DeliveryState>(res->Int(i, 1));
      c.count = static_cast<uint64_t>(res->Int(i, 2));
      out.push_back(std::move(c));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<RecipientRecord> PgMessageStore::UpdateRecipient(
    const std::string& sender, const std::string& message_id, const std::string& party,
    const std::function<absl::Status(RecipientRecord&)>& update) {
  RecipientRecord result;
  absl::Status s = Write([&](pg::Tx& tx) -> absl::Status {
    auto updated = UpdateInTx(tx, sender, message_id, party, update);
    if (!updated.ok()) return updated.status();
    result = *std::move(updated);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return result;
}

void PgMessageStore::UpdateRecipientAsync(const std::string& sender, const std::string& message_id,
                                          const std::string& party,
                                          std::function<absl::Status(RecipientRecord&)> update, RecipientDone done) {
  auto result = std::make_shared<RecipientRecord>();
  Submit(
      [sender, message_id, party, update = std::move(update), result](pg::Tx& tx) -> absl::Status {
        auto updated = UpdateInTx(tx, sender, message_id, party, update);
        if (!updated.ok()) return updated.status();
        *result = *std::move(updated);
        return absl::OkStatus();
      },
      [result, done = std::move(done)](absl::Status s) {
        if (!s.ok()) return done(std::move(s));
        done(std::move(*result));
      });
}

void PgMessageStore::RecordPulled(const std::string& recipient, int64_t seq) {
  Submit(
      [recipient, seq](pg::Tx& tx) {
        // pull_cursors.acked_seq holds the highest seq read for sending.
        return tx.conn().Run(
            "INSERT INTO pull_cursors(recipient, acked_seq) VALUES($1, $2) ON CONFLICT (recipient) DO UPDATE "
            "SET acked_seq = GREATEST(pull_cursors.acked_seq, excluded.acked_seq)",
            {recipient, seq});
      },
      [](absl::Status) {});  // A lost mark only makes a later confirm stop short: sent again, deduplicated.
}

absl::StatusOr<ConfirmResult> PgMessageStore::ConfirmPulled(const std::string& recipient,
                                                            const std::string& through_delivery_id) {
  ConfirmResult out;
  absl::Status s = Write([&](pg::Tx& tx) -> absl::Status {
    auto seq = tx.conn().Exec("SELECT seq FROM deliveries WHERE delivery_id = $1 AND recipient = $2",
                              {through_delivery_id, recipient});
    if (!seq.ok()) return seq.status();
    if (seq->rows() == 0) {
      return absl::NotFoundError(absl::StrCat("there is no delivery '", through_delivery_id, "' to '", recipient, "'"));
    }
    auto pulled = tx.conn().Exec("SELECT acked_seq FROM pull_cursors WHERE recipient = $1", {recipient});
    if (!pulled.ok()) return pulled.status();
    out.through_seq = std::min(seq->Int(0, 0), pulled->rows() != 0 ? pulled->Int(0, 0) : 0);
    auto res = tx.conn().Exec("SELECT " PORTCULLIS_PG_DELIVERY_COLUMNS
                              ", octet_length(m.envelope) FROM deliveries d JOIN messages m "
                              "ON m.sender = d.sender AND m.message_id = d.message_id "
                              "WHERE d.recipient = $1 AND d.state = 1 AND d.seq <= $2 AND m.audit_index IS NOT NULL "
                              "ORDER BY d.seq FOR UPDATE OF d",
                              {recipient, out.through_seq});
    if (!res.ok()) return res.status();
    ReadChanged(*res, &out.changed);
    const int64_t now = NowMicros();
    for (ChangedDelivery& c : out.changed) {
      c.row.state = v1::DELIVERED;
      c.row.reason.clear();
      c.row.attempts = std::max<uint32_t>(c.row.attempts, 1);
      if (absl::Status set = SetState(tx, c.row, now); !set.ok()) return set;
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<ChangedDelivery>> PgMessageStore::ExpireDue(int64_t now_micros, size_t limit) {
  std::vector<ChangedDelivery> out;
  absl::Status s = Write([&](pg::Tx& tx) -> absl::Status {
    auto res = tx.conn().Exec(
        "SELECT " PORTCULLIS_PG_DELIVERY_COLUMNS
        ", octet_length(m.envelope) FROM deliveries d JOIN messages m "
        "ON m.sender = d.sender AND m.message_id = d.message_id "
        "WHERE d.state = 1 AND d.expires_micros > 0 AND d.expires_micros <= $1 AND m.audit_index IS NOT NULL "
        "ORDER BY d.seq LIMIT $2 FOR UPDATE OF d",
        {now_micros, limit});
    if (!res.ok()) return res.status();
    ReadChanged(*res, &out);
    for (ChangedDelivery& c : out) {
      c.row.state = v1::EXPIRED;
      c.row.reason = c.row.reason.empty()
                         ? std::string("not delivered within the maximum age")
                         : absl::StrCat("not delivered within the maximum age; last error: ", c.row.reason);
      if (absl::Status set = SetState(tx, c.row, now_micros); !set.ok()) return set;
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace portcullis
