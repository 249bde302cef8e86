// Which audit records a query wants: the same rules for the Audit service
// and the auditor's tool reading the files. Plain data; Matches is pure.
#ifndef PORTCULLIS_GATEWAY_AUDIT_RECORD_FILTER_H_
#define PORTCULLIS_GATEWAY_AUDIT_RECORD_FILTER_H_

#include <cstdint>
#include <limits>
#include <string>

#include "gateway/audit/audit_record.h"

namespace portcullis {

struct RecordFilter {
  std::string message_id;
  std::string case_reference;
  std::string party;  // The acting party, the sender or any recipient.
  std::string officer;
  std::string action;
  std::string outcome;
  int64_t from_micros = std::numeric_limits<int64_t>::min();  // Inclusive.
  int64_t to_micros = std::numeric_limits<int64_t>::max();    // Exclusive.

  // No field set: every record.
  bool empty() const { return Summary() == "all records"; }
  // All set fields match (AND); empty fields match everything.
  bool Matches(const AuditRecord& record) const;
  // A literal every matching line contains ("" if none can be used): lets a
  // scan skip most lines without parsing them.
  std::string Prefilter() const;
  // "message_id=X party=Y" or "all records", for the audit record of a query.
  std::string Summary() const;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_AUDIT_RECORD_FILTER_H_
