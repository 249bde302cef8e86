// PgMessageStore, case reads: ListCase and CorrelatedSenders.
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/store/pg_message_store.h"
#include "gateway/store/pg_store_rows.h"

namespace portcullis {

absl::StatusOr<CasePage> PgMessageStore::ListCase(const std::string& case_reference, const std::string& party,
                                                  int64_t after_position, size_t limit) const {
  CasePage page;
  page.resume_after = after_position;
  if (limit == 0) return page;
  // The pairings being written, read BEFORE the snapshot: a pairing that
  // becomes durable in between is then in this set or (durable before the
  // snapshot) in the snapshot's row, never in neither. (Read after, a
  // pairing could have left the set while the snapshot still shows NULL.)
  const std::unordered_map<std::string, uint64_t> pairing = PairingsInProgress();
  std::vector<size_t> unaudited;  // Entries whose row does not show them audited (index in page.messages).
  absl::Status s = Read([&](pg::Connection& conn) -> absl::Status {
    page.messages.clear();
    page.more = false;
    unaudited.clear();
    pgstore::Snapshot snapshot(conn);  // The messages and their deliveries from one snapshot.
    if (absl::Status begun = snapshot.Begin(); !begun.ok()) return begun;
    // One more than asked for: whether more follow.
    auto res = conn.Exec(
        "SELECT m.position, m.sender, m.message_id, m.envelope, m.accepted_micros, m.audit_index IS NULL, m.receipt "
        "FROM messages m WHERE m.case_reference = $1 AND m.position > $3 AND (m.sender = $2 OR EXISTS("
        "SELECT 1 FROM deliveries d WHERE d.case_reference = $1 AND d.sender = m.sender "
        "AND d.message_id = m.message_id AND d.recipient = $2)) ORDER BY m.position LIMIT $4",
        {case_reference, party, after_position, limit + 1});
    if (!res.ok()) return res.status();
    v1::Envelope envelope;  // Reused: one envelope parsed at a time, only its summary kept.
    v1::Receipt receipt;
    for (int i = 0; i < res->rows(); ++i) {
      if (page.messages.size() == limit) {
        page.more = true;
        break;
      }
      CaseEntry c;
      c.position = res->Int(i, 0);
      c.sender = std::string(res->Text(i, 1));
      c.message_id = std::string(res->Text(i, 2));
      envelope.Clear();
      if (!envelope.ParseFromString(res->Bytes(i, 3)))
        return pgstore::Unparsable("the envelope", c.sender, c.message_id);
      receipt.Clear();
      if (!receipt.ParseFromString(res->Bytes(i, 6))) return pgstore::Unparsable("the receipt", c.sender, c.message_id);
      c.correlation_id = envelope.correlation_id();
      if (const auto* body = v1::Envelope::descriptor()->FindFieldByNumber(envelope.body_case())) {
        c.body_type = body->name();
      }
      c.classification = envelope.classification();
      c.priority = envelope.priority();
      c.originating_officer = envelope.originating_officer();
      c.originating_officer_verified = receipt.originating_officer_verified();
      c.accepted_micros = res->Int(i, 4);
      if (envelope.has_request_for_information()) {
        c.answer_by_seconds = envelope.request_for_information().answer_by().seconds();
      }
      // Placeholders in the envelope's recipient order (every one for the
      // sender, the party's own for a recipient), filled from the deliveries.
      for (const std::string& recipient : envelope.recipients()) {
        if (c.sender == party || recipient == party) c.recipients.emplace_back().party = recipient;
      }
      if (res->Bool(i, 5)) unaudited.push_back(page.messages.size());
      page.messages.push_back(std::move(c));
    }
    if (page.messages.empty()) return absl::OkStatus();
    // The page's deliveries the party may see, in one statement.
    auto deliveries = conn.Exec(
        "SELECT " PORTCULLIS_PG_RECIPIENT_COLUMNS
        ", m.position, d.recipient FROM messages m JOIN deliveries d "
        "ON d.case_reference = m.case_reference AND d.sender = m.sender AND d.message_id = m.message_id "
        "WHERE m.case_reference = $1 AND m.position > $3 AND m.position <= $4 AND (m.sender = $2 OR d.recipient = $2)",
        {case_reference, party, after_position, page.messages.back().position});
    if (!deliveries.ok()) return deliveries.status();
    std::unordered_map<int64_t, CaseEntry*> by_position;
    for (CaseEntry& c : page.messages) by_position[c.position] = &c;
    for (int i = 0; i < deliveries->rows(); ++i) {
      auto it = by_position.find(deliveries->Int(i, pgstore::kRecipientColumnCount));
      if (it == by_position.end()) continue;
      const std::string recipient(deliveries->Text(i, pgstore::kRecipientColumnCount + 1));
      for (RecipientRecord& rr : it->second->recipients) {
        if (rr.party == recipient) rr = pgstore::ReadRecipientRecord(*deliveries, i, recipient);
      }
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (options_.after_case_snapshot) options_.after_case_snapshot();

  // A message stored but not yet paired with its acceptance's audit record
  // is listed only if its pairing is being written (its sender holds the
  // receipt); otherwise the page ends before it, so the next page comes back
  // for it rather than skip it.
  for (size_t i : unaudited) {
    if (pairing.count(pgstore::Key(page.messages[i].sender, page.messages[i].message_id)) == 0) {
      page.messages.resize(i);
      page.more = true;
      break;
    }
  }
  for (const CaseEntry& c : page.messages) {
    for (const RecipientRecord& rr : c.recipients) {
      if (rr.seq == 0) {  // Every delivery row has a seq from 1.
        return absl::DataLossError(absl::StrCat("message store (postgres): message '", c.message_id, "' from '",
                                                c.sender, "' has no delivery row for '", rr.party, "'"));
      }
    }
  }
  if (!page.messages.empty()) page.resume_after = page.messages.back().position;
  return page;
}

absl::StatusOr<std::vector<std::string>> PgMessageStore::CorrelatedSenders(const std::string& party,
                                                                           const std::string& message_id,
                                                                           size_t limit) const {
  std::vector<std::string> senders;
  if (limit == 0) return senders;
  absl::Status s = Read([&](pg::Connection& conn) -> absl::Status {
    senders.clear();
    // The party's own message by primary key, those it received over
    // deliveries_by_message; in byte order of senders (COLLATE "C"), as SQLite's.
    auto res = conn.Exec(
        "SELECT sender FROM (SELECT sender FROM messages WHERE sender = $1 AND message_id = $2 "
        "UNION SELECT sender FROM deliveries WHERE message_id = $2 AND recipient = $1) s "
        "ORDER BY sender COLLATE \"C\" LIMIT $3",
        {party, message_id, limit});
    if (!res.ok()) return res.status();
    for (int i = 0; i < res->rows(); ++i) senders.push_back(std::string(res->Text(i, 0)));
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return senders;
}

}  // namespace portcullis
