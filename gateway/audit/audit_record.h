// One audit record: who did what to which exchange, when, why, for whom, and
// with what outcome (DPA 2018 s.62 / Directive 2016/680 Art. 25). It holds a
// SHA-256 of the payload, never the payload or personal data.
//
// Serialized as one JSON object per line by log_format.h (docs/audit-format.md). Strings from
// callers are escaped so that no newline, control character or invalid UTF-8
// can forge or break a record.
#ifndef PORTCULLIS_GATEWAY_AUDIT_AUDIT_RECORD_H_
#define PORTCULLIS_GATEWAY_AUDIT_AUDIT_RECORD_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "util/clock.h"  // NowMicros: records take their time from it.

namespace portcullis {

struct AuditRecord {
  uint64_t index = 0;       // Assigned by the log: position in the file, from 0.
  int64_t time_micros = 0;  // Event time, microseconds since the Unix epoch (UTC).
  std::string action;       // submit, deliver, acknowledge, track, receive, handshake.
  std::string actor_party;  // Party id from the certificate ("" if none could be established).
  std::string actor_officer;
  std::string message_id;
  std::string case_reference;
  std::string sender;
  std::vector<std::string> recipients;
  std::string classification;
  std::string handling;     // UK 3x5x2 and Europol codes, e.g. "uk=1/A/P eu=B/2/H0".
  std::string justification;
  std::string outcome;      // accepted, refused, delivered, failed, acknowledged, rejected, ok.
  std::string reason;       // Machine-readable reason code for refusals and failures.
  std::string detail;       // Words: field path, error text, peer subject, ...
  std::string payload_sha256;
  std::string peer;         // Network address of the caller, when known.

  // Format v2 (docs/audit-format.md). Records written by this version carry
  // them all; a v1 record read back has them empty / false / 0.
  std::string correlation_id;  // The message this one answers (envelope correlation_id), if any.
  bool officer_verified = false;  // actor_officer comes from a verified assertion (issue 13), not a claim.
  std::string request_id;      // The call's id (also the incident id of a generic refusal).
  std::string replica_id;      // The gateway replica that wrote the record.
  uint64_t count = 0;          // Aggregated records (e.g. refused handshakes): how many events; 0 = one.
  uint64_t range_first = 0;    // Records naming a range of the log (e.g. an adopted unsigned tail):
  uint64_t range_last = 0;     // first and last index, inclusive; both 0 when none.
};


// Appends `s` to `out` as a JSON string literal: control characters and
// invalid UTF-8 are escaped (\uXXXX / U+FFFD), so the result is one line.
void AppendJsonString(absl::string_view s, std::string* out);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_AUDIT_AUDIT_RECORD_H_
