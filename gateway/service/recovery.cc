#include "gateway/service/recovery.h"

#include <cstdio>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/audit/exchange_record.h"
#include "gateway/audit/log_format.h"

namespace portcullis {
namespace {

constexpr uint64_t kScanPage = 4096;

using Key = std::pair<std::string, std::string>;  // (sender, message_id)

}  // namespace

absl::StatusOr<RecoveryReport> PairUnauditedMessages(MessageStore* store, AuditLog* audit) {
  RecoveryReport report;
  auto unaudited = store->Unaudited();
  if (!unaudited.ok()) return unaudited.status();
  if (unaudited->empty()) return report;

  // One scan of the audit log from the earliest commit point: the acceptance
  // record, if it was written, comes after the message's commit.
  std::map<Key, const UnauditedMessage*> wanted;
  uint64_t from = audit->size();
  for (const UnauditedMessage& m : *unaudited) {
    wanted[{m.sender, m.message_id}] = &m;
    from = std::min(from, m.audit_size_at_commit);
  }
  const uint64_t end = audit->size();
  for (uint64_t at = from; at < end && !wanted.empty(); at += kScanPage) {
    auto lines = audit->ReadLines(at, kScanPage);
    if (!lines.ok()) return lines.status();
    for (const std::string& line : *lines) {
      auto r = ParseLine(line);
      if (!r.ok()) return r.status();
      if (r->action != "submit" || r->outcome != "accepted") continue;
      auto it = wanted.find({r->sender, r->message_id});
      if (it == wanted.end() || r->index < it->second->audit_size_at_commit) continue;
      if (absl::Status s = store->MarkAudited(r->sender, r->message_id, r->index); !s.ok()) return s;
      wanted.erase(it);
      ++report.paired;
    }
  }

  // A crash came between the store's commit and the audit log's: the message
  // was accepted (its sender may hold no receipt, and a resubmission gets the
  // original one), so its acceptance is recorded now, saying so.
  for (const auto& [key, m] : wanted) {
    auto message = store->Get(key.first, key.second);
    if (!message.ok()) return message.status();
    const MessageRecord& record = **message;
    AuditRecord r = ExchangeAuditRecord("submit", record.envelope, record.receipt.envelope_sha256());
    r.actor_party = record.envelope.sender();
    r.actor_officer = record.envelope.originating_officer();
    r.outcome = "accepted";
    r.detail = "recovered at start-up: the message was stored before a crash that came before its audit record";
    absl::StatusOr<uint64_t> index = audit->AppendAndWait(std::move(r));
    if (!index.ok()) return index.status();
    if (absl::Status s = store->MarkAudited(key.first, key.second, *index); !s.ok()) return s;
    ++report.recovered;
  }
  return report;
}

}  // namespace portcullis
