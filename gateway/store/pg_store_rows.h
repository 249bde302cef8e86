// What the PgMessageStore files share (internal to gateway/store/pg_*): the
// columns a DeliveryRow or RecipientRecord is read from, keys, refusals.
#ifndef PORTCULLIS_GATEWAY_STORE_PG_STORE_ROWS_H_
#define PORTCULLIS_GATEWAY_STORE_PG_STORE_ROWS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "gateway/pg/pg_connection.h"
#include "gateway/store/message_store.h"

namespace portcullis::pgstore {

// The columns of a DeliveryRow, in ReadDeliveryRow's order (table alias d).
#define PORTCULLIS_PG_DELIVERY_COLUMNS                                                                 \
  "d.delivery_id, d.seq, d.sender, d.message_id, d.recipient, d.case_reference, d.state, d.attempts, " \
  "d.next_attempt_micros, d.last_error, d.expires_micros, d.updated_micros, d.officer, d.reason, "     \
  "d.officer_verified"
inline constexpr int kDeliveryColumnCount = 15;

// Columns from `first` on, as PORTCULLIS_PG_DELIVERY_COLUMNS lists them.
DeliveryRow ReadDeliveryRow(const pg::Result& r, int row, int first = 0);

// The columns of a RecipientRecord, in ReadRecipientRecord's order.
#define PORTCULLIS_PG_RECIPIENT_COLUMNS \
  "d.state, d.attempts, d.updated_micros, d.reason, d.officer, d.next_attempt_micros, d.seq, d.officer_verified"
inline constexpr int kRecipientColumnCount = 8;
RecipientRecord ReadRecipientRecord(const pg::Result& r, int row, const std::string& party, int first = 0);

std::string Key(const std::string& sender, const std::string& message_id);
int64_t MicrosOf(const google::protobuf::Timestamp& t);

absl::Status MessageNotFound(const std::string& sender, const std::string& message_id);
absl::Status NotARecipient(const std::string& party);
absl::Status DeliveryNotFound(const std::string& delivery_id);
// Stored bytes that do not parse: DATA_LOSS naming the message.
absl::Status Unparsable(const std::string& what, const std::string& sender, const std::string& message_id);

// True on a thread while it runs a caller's UpdateRecipient `update` inside
// a writer op: a blocking write from there would wait for itself.
bool& InsideWriterOp();
class WriterOpScope {
 public:
  WriterOpScope() { InsideWriterOp() = true; }
  ~WriterOpScope() { InsideWriterOp() = false; }
};

// A read-only transaction on one snapshot, rolled back on every path.
class Snapshot {
 public:
  explicit Snapshot(pg::Connection& conn) : conn_(conn) {}
  ~Snapshot();
  absl::Status Begin();

 private:
  pg::Connection& conn_;
  bool begun_ = false;
};

}  // namespace portcullis::pgstore

#endif  // PORTCULLIS_GATEWAY_STORE_PG_STORE_ROWS_H_
