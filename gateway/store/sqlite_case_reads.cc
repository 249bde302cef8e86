// SqliteMessageStore as CaseReads: ListCase (one snapshot per page) and the
// correlation check of a reply.
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/store/sqlite_store_internal.h"
#include "util/status_macros.h"

namespace portcullis {

using sqlite_store::Key;
using sqlite_store::Query;
using sqlite_store::ReaderConnection;
using sqlite_store::ReadRecipientRecord;
using sqlite_store::ReadTransaction;

absl::StatusOr<std::vector<std::string>> SqliteMessageStore::CorrelatedSenders(const std::string& party,
                                                                               const std::string& message_id,
                                                                               size_t limit) const {
  std::vector<std::string> senders;
  if (limit == 0) return senders;
  auto reader = readers_->Acquire();
  if (!reader.ok()) return reader.status();
  ReaderConnection& r = *reader->get();
  Query q(r.conn, r.correlated);
  q.Text(1, party).Text(2, message_id).Int(3, static_cast<int64_t>(limit));
  for (;;) {
    auto row = q.Step("finding the message a reply answers");
    if (!row.ok()) return row.status();
    if (!*row) break;
    senders.push_back(q.ColumnText(0));
  }
  return senders;
}

std::unordered_set<std::string> SqliteMessageStore::PairingsInFlight() const {
  std::unordered_set<std::string> keys;
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    for (const auto& [key, index] : shard.audited) keys.insert(key);
  }
  return keys;
}

absl::StatusOr<CasePage> SqliteMessageStore::ListCase(const std::string& case_reference, const std::string& party,
                                                      int64_t after_position, size_t limit) const {
  CasePage page;
  page.resume_after = after_position;
  if (limit == 0) return page;
  // Entries whose acceptance the row does not show as audited (index in page.messages).
  std::vector<size_t> unaudited;
  // The pairings being written, read BEFORE the snapshot below: an entry
  // leaves `audited` only once its write is durable, so a message missing
  // from this set and unaudited in the snapshot had no pairing yet when the
  // set was read (read after the snapshot, a pairing that became durable in
  // between would look like none at all, and the page would end early).
  const std::unordered_set<std::string> pairing = PairingsInFlight();
  {
    auto reader = readers_->Acquire();
    if (!reader.ok()) return reader.status();
    ReaderConnection& r = *reader->get();
    ReadTransaction txn(&r);  // The messages and their deliveries from one snapshot.
    PORTCULLIS_RETURN_IF_ERROR(txn.Begin());
    {
      Query q(r.conn, r.case_messages);
      // One more than asked for: whether more follow.
      q.Text(1, case_reference).Text(2, party).Int(3, after_position).Int(4, static_cast<int64_t>(limit) + 1);
      v1::Envelope envelope;  // Reused: one envelope parsed at a time, only its summary kept.
      v1::Receipt receipt;    // Likewise, for whether its originating officer was verified.
      for (;;) {
        auto row = q.Step("listing a case");
        if (!row.ok()) return row.status();
        if (!*row) break;
        if (page.messages.size() == limit) {
          page.more = true;
          break;
        }
        CaseEntry c;
        c.position = q.ColumnInt(0);
        c.sender = q.ColumnText(1);
        c.message_id = q.ColumnText(2);
        const absl::string_view bytes = q.ColumnBytes(3);
        envelope.Clear();
        if (!envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
          return absl::DataLossError(absl::StrCat("message store ", options_.path, ": message '", c.message_id,
                                                  "' from '", c.sender, "' cannot be parsed"));
        }
        c.correlation_id = envelope.correlation_id();
        if (const auto* body = v1::Envelope::descriptor()->FindFieldByNumber(envelope.body_case())) {
          c.body_type = body->name();
        }
        c.classification = envelope.classification();
        c.priority = envelope.priority();
        c.originating_officer = envelope.originating_officer();
        const absl::string_view receipt_bytes = q.ColumnBytes(6);
        if (!receipt.ParseFromArray(receipt_bytes.data(), static_cast<int>(receipt_bytes.size()))) {
          return absl::DataLossError(absl::StrCat("message store ", options_.path, ": the receipt of message '",
                                                  c.message_id, "' from '", c.sender, "' cannot be parsed"));
        }
        c.originating_officer_verified = receipt.originating_officer_verified();
        c.accepted_micros = q.ColumnInt(4);
        if (envelope.has_request_for_information()) {
          c.answer_by_seconds = envelope.request_for_information().answer_by().seconds();
        }
        // Placeholders in the envelope's recipient order (every one for the
        // sender, the party's own for a recipient), filled from the deliveries below.
        for (const std::string& recipient : envelope.recipients()) {
          if (c.sender == party || recipient == party) c.recipients.emplace_back().party = recipient;
        }
        if (q.ColumnInt(5) != 0) unaudited.push_back(page.messages.size());
        page.messages.push_back(std::move(c));
      }
    }
    if (page.messages.empty()) return page;

    // The page's deliveries in one statement, not one per message.
    std::unordered_map<int64_t, CaseEntry*> by_position;
    for (CaseEntry& c : page.messages) by_position[c.position] = &c;
    Query q(r.conn, r.case_deliveries);
    q.Text(1, case_reference).Text(2, party).Int(3, after_position).Int(4, page.messages.back().position);
    for (;;) {
      auto row = q.Step("listing a case's deliveries");
      if (!row.ok()) return row.status();
      if (!*row) break;
      auto it = by_position.find(q.ColumnInt(8));
      if (it == by_position.end()) continue;
      const std::string recipient = q.ColumnText(9);
      for (RecipientRecord& rr : it->second->recipients) {
        if (rr.party == recipient) rr = ReadRecipientRecord(q, recipient);
      }
    }
  }  // The read connection goes back before the test hook runs.
  if (options_.after_case_snapshot) options_.after_case_snapshot();

  // A message stored but not yet paired with its acceptance's audit record
  // is listed only if its pairing was being written before the snapshot (its
  // sender holds the receipt). Otherwise the page ends before it, so the next
  // page comes back for it rather than skip it.
  for (size_t i : unaudited) {
    if (pairing.count(Key(page.messages[i].sender, page.messages[i].message_id)) == 0) {
      page.messages.resize(i);
      page.more = true;
      break;
    }
  }
  for (const CaseEntry& c : page.messages) {
    for (const RecipientRecord& rr : c.recipients) {
      if (rr.seq == 0) {  // Every delivery row has a seq from 1.
        return absl::DataLossError(absl::StrCat("message store ", options_.path, ": message '", c.message_id,
                                                "' from '", c.sender, "' has no delivery row for '", rr.party, "'"));
      }
    }
  }
  if (!page.messages.empty()) page.resume_after = page.messages.back().position;
  return page;
}

}  // namespace portcullis
