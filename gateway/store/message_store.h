// The storage seam for accepted messages and their per-recipient state
// (docs/delivery.md, docs/storage.md "Module boundaries"): the sum of the
// role interfaces, for the places that need several. SqliteMessageStore is
// the embedded default; a server database implements the same interfaces.
// Implementations are thread-safe.
#ifndef PORTCULLIS_GATEWAY_STORE_MESSAGE_STORE_H_
#define PORTCULLIS_GATEWAY_STORE_MESSAGE_STORE_H_

#include "gateway/store/acceptance_store.h"
#include "gateway/store/case_reads.h"
#include "gateway/store/dead_letter_store.h"
#include "gateway/store/delivery_queue.h"
#include "gateway/store/pull_cursors.h"
#include "gateway/store/store_types.h"

namespace portcullis {

class MessageStore : public AcceptanceStore,
                     public DeliveryQueue,
                     public CaseReads,
                     public DeadLetterStore,
                     public PullCursors {
 public:
  ~MessageStore() override = default;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_MESSAGE_STORE_H_
