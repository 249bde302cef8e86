#include "gateway/service/audited_answer.h"

#include <cstdio>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/common/log.h"
#include "gateway/common/refusal.h"

namespace portcullis {

void MarkRefused(const absl::Status& status, AuditRecord* record) {
  // Only what the caller may see: a failure's own words (a path, an SQL
  // error) go to the gateway's log under the call's id, not into the record.
  v1::Refusal refusal = PublicRefusal(status);
  record->outcome = "refused";
  record->reason = refusal.reason();
  record->detail = refusal.field().empty() ? refusal.message() : absl::StrCat(refusal.field(), ": ", refusal.message());
}

absl::Status AuditUnavailable() {
  return Refuse(absl::StatusCode::kUnavailable, "AUDIT_UNAVAILABLE", "",
                "the gateway cannot write its audit log and refuses new work; nothing was done");
}

absl::Status OutcomeUnknown() {
  return Refuse(absl::StatusCode::kUnavailable, "OUTCOME_UNKNOWN", "",
                "the gateway could not confirm whether the message was accepted; resubmit the same message id "
                "later: the original receipt comes back if it was accepted");
}

void AuditThen(AuditLog* audit, AuditRecord record, absl::Status status, std::function<void(absl::Status)> answer,
               absl::Status if_unaudited) {
  std::string what = absl::StrCat(record.action, " by ", record.actor_party, " officer ", record.actor_officer,
                                  " on ", record.sender, "/", record.message_id, ": ", record.outcome);
  std::string id = record.request_id;
  audit->Append(std::move(record), [id = std::move(id), status = std::move(status), answer = std::move(answer),
                                    if_unaudited = std::move(if_unaudited),
                                    what = std::move(what)](absl::StatusOr<uint64_t> index) {
    if (!index.ok()) {
      LogLine("request %s: audit record not written (%s): %s\n", id.c_str(),
                   index.status().ToString().c_str(), what.c_str());
      answer(if_unaudited);
      return;
    }
    answer(status);
  });
}

}  // namespace portcullis
