// SqliteMessageStore as a DeliveryQueue and PullCursors: pending
// deliveries in seq order, recipient updates, expiry, counts, pull marks.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/store/sqlite_store_internal.h"
#include "util/clock.h"
#include "util/status_macros.h"

namespace portcullis {

using sqlite_store::Connection;
using sqlite_store::kDeliveryColumnCount;
using sqlite_store::Query;
using sqlite_store::ReadDeliveryRow;
using sqlite_store::ReaderConnection;
using sqlite_store::StmtPtr;

absl::StatusOr<RecipientRecord> SqliteMessageStore::UpdateRecipient(
    const std::string& sender, const std::string& message_id, const std::string& party,
    const std::function<absl::Status(RecipientRecord&)>& update) {
  RecipientRecord result;
  absl::Status status = Write(
      [&](Writer& w) {
        auto updated = w.UpdateRecipient(sender, message_id, party, update);
        if (!updated.ok()) return updated.status();
        result = *std::move(updated);
        return absl::OkStatus();
      },
      /*is_commit=*/false);
  if (!status.ok()) return status;
  return result;
}

void SqliteMessageStore::UpdateRecipientAsync(const std::string& sender, const std::string& message_id,
                                              const std::string& party,
                                              std::function<absl::Status(RecipientRecord&)> update,
                                              RecipientDone done) {
  auto result = std::make_shared<RecipientRecord>();
  WriteAsync(
      [sender, message_id, party, update = std::move(update), result](Writer& w) {
        auto updated = w.UpdateRecipient(sender, message_id, party, update);
        if (!updated.ok()) return updated.status();
        *result = *std::move(updated);
        return absl::OkStatus();
      },
      /*is_commit=*/false,
      [result, done = std::move(done)](absl::Status s) {
        if (!s.ok()) {
          done(std::move(s));
        } else {
          done(std::move(*result));
        }
      });
}

absl::StatusOr<std::vector<DeliveryRow>> SqliteMessageStore::PendingDeliveries(const std::string& recipient,
                                                                               int64_t after_seq, size_t limit) const {
  std::vector<DeliveryRow> out;
  if (limit == 0) return out;
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  ReaderConnection& r = *reader->get();
  Query q(r.conn, r.pending);
  q.Text(1, recipient).Int(2, v1::ACCEPTED).Int(3, after_seq).Int(4, static_cast<int64_t>(limit));
  for (;;) {
    auto row = q.Step("listing pending deliveries");
    if (!row.ok()) return row.status();
    // Nothing after a message whose acceptance is not yet audited: it is not
    // deliverable yet, and a pager must not move past it.
    if (!*row || q.ColumnInt(kDeliveryColumnCount) != 0) return out;
    out.push_back(ReadDeliveryRow(q));
  }
}

absl::StatusOr<std::map<std::string, BacklogCount>> SqliteMessageStore::BacklogCounts() const {
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  ReaderConnection& r = *reader->get();
  Query q(r.conn, r.backlog);
  std::map<std::string, BacklogCount> out;
  for (;;) {
    auto row = q.Step("counting the backlog");
    if (!row.ok()) return row.status();
    if (!*row) return out;
    BacklogCount& c = out[q.ColumnText(0)];
    c.messages = static_cast<uint64_t>(q.ColumnInt(1));
    c.bytes = static_cast<uint64_t>(q.ColumnInt(2));  // TOTAL is a float; converted exactly below 2^53.
  }
}

absl::StatusOr<std::vector<ChangedDelivery>> SqliteMessageStore::ExpireDue(int64_t now_micros, size_t limit) {
  std::vector<ChangedDelivery> out;
  absl::Status status = Write(
      [&](Writer& w) {
        auto expired = w.ExpireDue(now_micros, limit);
        if (!expired.ok()) return expired.status();
        out = *std::move(expired);
        return absl::OkStatus();
      },
      /*is_commit=*/false);
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::vector<DeliveryCount>> SqliteMessageStore::CountDeliveries(
    const std::vector<v1::DeliveryState>& states) const {
  std::vector<DeliveryCount> out;
  if (states.empty()) return out;
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  const Connection& conn = (*reader)->conn;
  std::string in;
  for (size_t i = 0; i < states.size(); ++i) absl::StrAppend(&in, i == 0 ? "" : ", ", "?", i + 1);
  const std::string sql = absl::StrCat("SELECT recipient, state, count(*) FROM deliveries WHERE state IN (", in,
                                       ") GROUP BY recipient, state ORDER BY recipient, state");
  StmtPtr stmt;
  PORTCULLIS_RETURN_IF_ERROR(conn.Prepare(sql.c_str(), &stmt));
  Query q(conn, stmt);
  for (size_t i = 0; i < states.size(); ++i) q.Int(static_cast<int>(i + 1), states[i]);
  for (;;) {
    auto row = q.Step("counting deliveries");
    if (!row.ok()) return row.status();
    if (!*row) return out;
    DeliveryCount c;
    c.recipient = q.ColumnText(0);
    c.state = static_cast<v1::DeliveryState>(q.ColumnInt(1));
    c.count = static_cast<uint64_t>(q.ColumnInt(2));
    out.push_back(std::move(c));
  }
}

void SqliteMessageStore::RecordPulled(const std::string& recipient, int64_t seq) {
  WriteAsync([recipient, seq](Writer& w) { return w.RecordPulled(recipient, seq); }, /*is_commit=*/false,
             [](absl::Status) {});  // A lost mark only makes a later confirm stop short: sent again, deduplicated.
}

absl::StatusOr<ConfirmResult> SqliteMessageStore::ConfirmPulled(const std::string& recipient,
                                                                const std::string& through_delivery_id) {
  ConfirmResult out;
  absl::Status status = Write(
      [&](Writer& w) {
        auto confirmed = w.ConfirmPulled(recipient, through_delivery_id, NowMicros());
        if (!confirmed.ok()) return confirmed.status();
        out = *std::move(confirmed);
        return absl::OkStatus();
      },
      /*is_commit=*/false);
  if (!status.ok()) return status;
  return out;
}

}  // namespace portcullis
