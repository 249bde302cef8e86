#include "gateway/audit/audit_log.h"

#include <future>

namespace portcullis {

absl::StatusOr<uint64_t> AuditLog::AppendAndWait(AuditRecord record) {
  std::promise<absl::StatusOr<uint64_t>> promise;
  auto future = promise.get_future();
  Append(std::move(record), [&promise](absl::StatusOr<uint64_t> index) { promise.set_value(std::move(index)); });
  return future.get();
}

}  // namespace portcullis
