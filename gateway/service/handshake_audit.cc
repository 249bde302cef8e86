#include "gateway/service/handshake_audit.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace portcullis {

HandshakeAudit::HandshakeAudit(const Config* config, Options options, std::function<void(AuditRecord)> write)
    : config_(config), options_(options), write_(std::move(write)) {}

AuditRecord HandshakeAudit::RecordOf(const Group& g, uint64_t count, bool first) const {
  const mtls::HandshakeRefusal& r = g.last;
  AuditRecord record;
  record.time_micros = NowMicros();
  record.action = "handshake";
  record.outcome = "refused";
  record.reason = r.code;
  record.count = count;
  // No actor_party: the certificate was refused, so nothing it claims is
  // verified; anyone can present a self-signed certificate naming a party.
  // What it claimed is kept in the words, marked as a claim.
  const std::string seconds = absl::StrCat(std::chrono::duration_cast<std::chrono::seconds>(options_.interval).count());
  std::string what;
  if (first) {
    what = "";
  } else if (g.other) {
    what = absl::StrCat(count, " refused handshake(s) of subjects beyond the ", options_.max_tracked,
                        " followed one by one, within ", seconds, " s; the last: ");
  } else {
    what = absl::StrCat(count, " more refused handshake(s) within ", seconds, " s; the last: ");
  }
  record.detail = absl::StrCat(g.direction, ": ", what, r.message, "; unverified certificate: subject=", r.subject,
                               "; claimed_uri_sans=", absl::StrJoin(r.uri_sans, ","));
  return record;
}

void HandshakeAudit::Refused(const mtls::HandshakeRefusal& refusal, bool inbound, Clock::time_point now) {
  std::string direction = inbound ? "inbound" : "outbound to " + refusal.target;
  std::string key = absl::StrCat(direction, "\x1f", refusal.code, "\x1f", refusal.subject);
  std::vector<AuditRecord> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = groups_.find(key);
    if (it == groups_.end() && tracked_subjects_ >= options_.max_tracked) {
      // Full: counted with every other subject of this direction and reason.
      key = absl::StrCat(direction, "\x1f", refusal.code, "\x1e");
      it = groups_.find(key);
      if (it == groups_.end()) {
        Group g;
        g.other = true;
        g.window_end = now + options_.interval;
        g.direction = direction;
        it = groups_.emplace(key, std::move(g)).first;
      }
      it->second.last = refusal;
      ++it->second.counted;
      return;
    }
    if (it == groups_.end()) {
      Group g;
      g.window_end = now + options_.interval;
      g.direction = std::move(direction);
      g.last = refusal;
      groups_.emplace(key, g);
      ++tracked_subjects_;
      out.push_back(RecordOf(g, 1, true));
    } else {
      it->second.last = refusal;
      ++it->second.counted;
    }
  }
  for (AuditRecord& r : out) write_(std::move(r));
}

HandshakeAudit::Clock::time_point HandshakeAudit::Flush(Clock::time_point now) {
  std::vector<AuditRecord> out;
  Clock::time_point next = Clock::time_point::max();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = groups_.begin(); it != groups_.end();) {
      Group& g = it->second;
      if (now < g.window_end) {
        next = std::min(next, g.window_end);
        ++it;
        continue;
      }
      if (g.counted == 0) {
        if (!g.other) --tracked_subjects_;
        it = groups_.erase(it);
        continue;
      }
      out.push_back(RecordOf(g, g.counted, false));
      g.counted = 0;
      g.window_end = now + options_.interval;  // Still refused: count for one more interval.
      next = std::min(next, g.window_end);
      ++it;
    }
  }
  for (AuditRecord& r : out) write_(std::move(r));
  return next;
}

void HandshakeAudit::FlushAll() {
  std::vector<AuditRecord> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, g] : groups_) {
      if (g.counted > 0) out.push_back(RecordOf(g, g.counted, false));
    }
    groups_.clear();
    tracked_subjects_ = 0;
  }
  for (AuditRecord& r : out) write_(std::move(r));
}

size_t HandshakeAudit::tracked() {
  std::lock_guard<std::mutex> lock(mu_);
  return groups_.size();
}

}  // namespace portcullis
