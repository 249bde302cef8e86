// The limits section: the server's HTTP/2 and resource limits (docs/config.md).
#include "gateway/config/sections.h"

namespace portcullis::config_internal {

void ParseLimits(Context& ctx, const Field& f, LimitsConfig* out) {
  using L = LimitsConfig;
  static const std::vector<IntRule<L>> kRules = {
      {"max_receive_message_bytes", 1, 64 * kMiB, &L::max_receive_message_bytes},
      {"max_metadata_bytes", 1, 1 * kMiB, &L::max_metadata_bytes},
      {"max_concurrent_streams", 1, 10000, &L::max_concurrent_streams},
      {"handshake_timeout_ms", 1, 5 * 60 * kSecondMs, &L::handshake_timeout_ms},
      {"keepalive_min_ping_interval_ms", 1, kDayMs, &L::keepalive_min_ping_interval_ms},
      {"keepalive_max_ping_strikes", 0, 1000, &L::keepalive_max_ping_strikes},
      {"max_connection_idle_ms", 1, 7 * kDayMs, &L::max_connection_idle_ms},
      {"max_connection_age_ms", 1, 7 * kDayMs, &L::max_connection_age_ms},
      {"max_connection_age_grace_ms", 1, kDayMs, &L::max_connection_age_grace_ms},
      {"resource_quota_bytes", 1, 64 * kGiB, nullptr, &L::resource_quota_bytes},
      {"max_threads", 1, 4096, &L::max_threads},
      {"max_clock_skew_seconds", 1, 24 * 3600, &L::max_clock_skew_seconds},
  };
  MapReader map = ParseIntSection(ctx, f, kRules, out);
  if (out->resource_quota_bytes < out->max_receive_message_bytes) {
    std::optional<Field> quota = map.Get("resource_quota_bytes");
    ctx.problems.Add(quota.has_value() ? quota->mark : f.mark, ChildPath(f.path, "resource_quota_bytes"),
                     absl::StrCat("must be at least max_receive_message_bytes (",
                                  out->max_receive_message_bytes, "), got ", out->resource_quota_bytes));
  }
}

}  // namespace portcullis::config_internal
