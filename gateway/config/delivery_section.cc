// The delivery section: push workers, retries, backlog bounds and circuit breakers (docs/config.md).
#include "gateway/config/sections.h"

namespace portcullis::config_internal {

void ParseDeliveryTuning(Context& ctx, const Field& f, DeliveryTuning* out) {
  using D = DeliveryTuning;
  static const std::vector<IntRule<D>> kRules = {
      {"workers", 1, 256, &D::workers},
      {"max_attempts", 0, 1000000, &D::max_attempts},
      {"attempt_timeout_ms", 1, 10 * 60 * kSecondMs, &D::attempt_timeout_ms},
      {"initial_backoff_ms", 1, kHourMs, &D::initial_backoff_ms},
      {"max_backoff_ms", 1, kDayMs, &D::max_backoff_ms},
      {"max_backlog_messages", 1, 100000000, &D::max_backlog_messages},
      {"max_backlog_mib", 1, 1024 * 1024, &D::max_backlog_mib},
      {"breaker_failures", 1, 1000, &D::breaker_failures},
      {"breaker_cooldown_ms", 1, kDayMs, &D::breaker_cooldown_ms},
      {"max_age_ms", 1, 365 * kDayMs, nullptr, &D::max_age_ms},
  };
  MapReader map = ParseIntSection(ctx, f, kRules, out);
  if (out->max_backoff_ms < out->initial_backoff_ms) {
    std::optional<Field> max = map.Get("max_backoff_ms");
    ctx.problems.Add(max.has_value() ? max->mark : f.mark, ChildPath(f.path, "max_backoff_ms"),
                     absl::StrCat("must be at least initial_backoff_ms (", out->initial_backoff_ms, "), got ",
                                  out->max_backoff_ms));
  }
}

}  // namespace portcullis::config_internal
