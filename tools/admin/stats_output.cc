#include "tools/admin/stats_output.h"

#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/common/table.h"
#include "util/display_text.h"

namespace portcullis::admin_tool {

void PrintStats(std::ostream& out, const v1::DeliveryStats& stats) {
  const std::vector<tools::Column> columns = tools::Columns(
      {"DESTINATION", "MODE", "BACKLOG", "BYTES", "IN_FLIGHT", "BREAKER", "ATTEMPTS", "FAILURES", "RETRIES",
       "DELIVERED", "DEAD", "EXPIRED", "DL_FAILED", "DL_EXPIRED", "CANCELLED", "LEASE_HOLDER"});
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : stats.destinations()) {
    rows.push_back({d.destination(), d.mode(), absl::StrCat(d.backlog_messages()), absl::StrCat(d.backlog_bytes()),
                    absl::StrCat(d.in_flight()), d.breaker().empty() ? "-" : d.breaker(), absl::StrCat(d.attempts()),
                    absl::StrCat(d.failures()), absl::StrCat(d.retries_scheduled()), absl::StrCat(d.delivered()),
                    absl::StrCat(d.dead_lettered()), absl::StrCat(d.expired()),
                    absl::StrCat(d.dead_letters_failed()), absl::StrCat(d.dead_letters_expired()),
                    absl::StrCat(d.cancelled()), d.lease_holder().empty() ? "-" : DisplayText(d.lease_holder())});
  }
  tools::PrintTable(out, columns, rows);
  const google::protobuf::Timestamp& t = stats.taken_at();
  const std::string taken =
      t.seconds() == 0 && t.nanos() == 0 ? "-" : google::protobuf::util::TimeUtil::ToString(t).substr(0, 19);
  out << "counters since the gateway started; backlog, in flight and DL_* (dead letters in the store) now, at "
      << taken << "Z\n";
  if (!stats.replica_id().empty()) {
    out << "answered by replica " << DisplayText(stats.replica_id())
        << ": IN_FLIGHT, BREAKER and the counters are this replica's; BACKLOG, BYTES, DL_*, CANCELLED and "
           "LEASE_HOLDER are read from the store (on PostgreSQL: every replica's)\n";
  }
  if (stats.replicas_size() > 0) {
    std::vector<std::vector<std::string>> replicas;
    for (const auto& r : stats.replicas()) {
      replicas.push_back({DisplayText(r.replica_id()), absl::StrFormat("%.1fs ago", r.seconds_since_heartbeat()),
                          DisplayText(r.info())});
    }
    out << "\n";
    tools::PrintTable(out, tools::Columns({"REPLICA", "HEARTBEAT", "INFO"}), replicas);
  }
}

}  // namespace portcullis::admin_tool
