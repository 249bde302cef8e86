// Refused TLS handshakes, audited without letting a flood fill the log
// (docs/architecture.md, "Refused handshakes").
//
// Refusals are grouped by (direction, reason, leaf subject). The first of a
// group is recorded at once (count 1, with the subject, URI SANs and the
// verifier's words); later ones within the interval are only counted, and
// when the interval ends one record carries their count (AuditRecord::count).
// A group still being refused then keeps counting for another interval: at
// most one record per group and interval. A group with nothing to report
// when its interval ends is forgotten.
//
// Memory is bounded: at most `max_tracked` groups are followed one by one;
// refusals of further subjects are counted together, one overflow group per
// direction and reason (both from fixed sets), recorded only with its count
// (and the last refusal's subject) when its interval ends.
//
// Thread-safe. Records are written through `write` without a lock held.
#ifndef PORTCULLIS_GATEWAY_SERVICE_HANDSHAKE_AUDIT_H_
#define PORTCULLIS_GATEWAY_SERVICE_HANDSHAKE_AUDIT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/audit/audit_record.h"
#include "gateway/config/config.h"
#include "mtls/peer_verifier.h"

namespace portcullis {

class HandshakeAudit {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::chrono::milliseconds interval{60000};
    size_t max_tracked = 256;
  };
  // `config` (parties, to name the actor) must outlive this object.
  HandshakeAudit(const Config* config, Options options, std::function<void(AuditRecord)> write);

  // One refused handshake: `inbound` for the listener, outbound for a push.
  void Refused(const mtls::HandshakeRefusal& refusal, bool inbound, Clock::time_point now = Clock::now());

  // Records the counts of every interval that has ended by `now`. Returns
  // when the next interval ends (Clock::time_point::max() if none is open).
  Clock::time_point Flush(Clock::time_point now = Clock::now());

  // At shutdown: records every count not yet recorded and forgets all.
  void FlushAll();

  // Groups followed now, the "(other subjects)" ones included.
  size_t tracked();

 private:
  struct Group {
    bool other = false;            // The overflow group of a (direction, reason).
    Clock::time_point window_end;  // When the current interval ends.
    uint64_t counted = 0;          // Refusals in it not yet recorded.
    mtls::HandshakeRefusal last;   // The latest refusal of the group.
    std::string direction;
  };
  AuditRecord RecordOf(const Group& g, uint64_t count, bool first) const;

  const Config* const config_;
  const Options options_;
  const std::function<void(AuditRecord)> write_;
  std::mutex mu_;
  std::map<std::string, Group> groups_;  // Key: direction \x1f reason \x1f subject (or \x1e for other).
  size_t tracked_subjects_ = 0;          // Groups that are not "other".
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_HANDSHAKE_AUDIT_H_
