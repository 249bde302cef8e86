#include "tests/support/store_test_util.h"

#include <atomic>
#include <future>
#include <utility>

#include "gateway/common/digest.h"
#include "util/status_macros.h"

namespace portcullis::testing {

v1::Envelope MakeEnvelope(const std::string& sender, const std::string& id, std::vector<std::string> recipients,
                          const std::string& payload) {
  v1::Envelope e;
  e.set_sender(sender);
  e.set_message_id(id);
  e.set_case_reference("BF-2026-004512");
  e.set_originating_officer("officer-7");
  for (auto& r : recipients) e.add_recipients(r);
  e.mutable_created_at()->set_seconds(1767225600);
  e.set_correlation_id(payload);  // Varies the content (and so the digest) in tests.
  return e;
}

std::string ShaOf(const v1::Envelope& e) { return Sha256Hex(DeterministicBytes(e)); }

v1::Receipt MakeReceipt(const v1::Envelope& e, uint64_t audit_index) {
  v1::Receipt r;
  r.set_message_id(e.message_id());
  r.set_sender(e.sender());
  r.mutable_accepted_at()->set_seconds(1767225601);
  r.mutable_accepted_at()->set_nanos(123456000);
  r.set_envelope_sha256(ShaOf(e));
  r.set_audit_index(audit_index);
  *r.mutable_recipients() = e.recipients();
  return r;
}

absl::StatusOr<std::shared_ptr<const MessageRecord>> CommitAndWait(MessageStore& store, const v1::Envelope& e,
                                                                   const v1::Receipt& receipt,
                                                                   uint64_t audit_size_at_commit) {
  std::promise<absl::StatusOr<std::shared_ptr<const MessageRecord>>> promise;
  auto result = promise.get_future();
  store.CommitAsync(std::make_shared<const v1::Envelope>(e), receipt, audit_size_at_commit,
                    [&promise](absl::StatusOr<std::shared_ptr<const MessageRecord>> r) {
                      promise.set_value(std::move(r));
                    });
  return result.get();
}

absl::Status Accept(MessageStore& store, const v1::Envelope& e, uint64_t audit_size) {
  ReserveResult r = store.Reserve(e.sender(), e.message_id(), ShaOf(e));
  if (r.outcome != ReserveOutcome::kNew) return absl::AlreadyExistsError("not new");
  return CommitAndWait(store, e, MakeReceipt(e), audit_size).status();
}

absl::Status AcceptAudited(MessageStore& store, const v1::Envelope& e) {
  static std::atomic<uint64_t> next_index{1};
  PORTCULLIS_RETURN_IF_ERROR(Accept(store, e));
  return store.MarkAudited(e.sender(), e.message_id(), next_index++);
}

}  // namespace portcullis::testing
