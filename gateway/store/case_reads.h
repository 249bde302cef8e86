// What a party may read of a case and of a reply's thread (ListCase,
// correlation checks). Implementations are thread-safe.
#ifndef PORTCULLIS_GATEWAY_STORE_CASE_READS_H_
#define PORTCULLIS_GATEWAY_STORE_CASE_READS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/store/store_types.h"

namespace portcullis {

class CaseReads {
 public:
  virtual ~CaseReads() = default;
  // Up to `limit` messages of `case_reference` that `party` sent or is a
  // recipient of, with position > `after_position` (0 = from the first), in
  // acceptance order. A page ends before the first message whose acceptance
  // is not yet audited (with `more` set, so a pager comes back for it and
  // never skips it). A party with nothing in the case gets an empty page:
  // whether others have messages in it is not disclosed.
  virtual absl::StatusOr<CasePage> ListCase(const std::string& case_reference, const std::string& party,
                                            int64_t after_position, size_t limit) const = 0;
  // The senders of the committed messages with id `message_id` that `party`
  // sent or is a recipient of (what a reply's correlation_id may name), at
  // most `limit`, in sender order. Messages of other parties never count.
  virtual absl::StatusOr<std::vector<std::string>> CorrelatedSenders(const std::string& party,
                                                                     const std::string& message_id,
                                                                     size_t limit) const = 0;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_CASE_READS_H_
