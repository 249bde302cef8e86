#include "gateway/store/backlog_bound.h"

#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"

namespace portcullis {

absl::Status CheckBacklogRoom(const BacklogBound& bound, const std::string& recipient, uint64_t messages,
                              uint64_t held_bytes, uint64_t bytes) {
  if (!bound.set()) return absl::OkStatus();
  const bool by_count = bound.max_messages > 0 && messages + 1 > bound.max_messages;
  const bool by_bytes = bound.max_bytes > 0 && held_bytes + bytes > bound.max_bytes;
  if (!by_count && !by_bytes) return absl::OkStatus();
  const std::string what = by_count ? absl::StrCat(messages, " messages (limit ", bound.max_messages, ")")
                                    : absl::StrCat(held_bytes, " bytes (limit ", bound.max_bytes, ")");
  return Refuse(absl::StatusCode::kResourceExhausted, "BACKLOG_FULL", "recipients",
                absl::StrCat("'", recipient, "' has ", what, " waiting for delivery; retry later"));
}

}  // namespace portcullis
