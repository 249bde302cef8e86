// What the store tests share over the MessageStore interface (any backend):
// envelopes and receipts, and Reserve + Commit (+ MarkAudited) as Submit does
// them, blocking (CommitAsync and a wait).
#ifndef PORTCULLIS_TESTS_SUPPORT_STORE_TEST_UTIL_H_
#define PORTCULLIS_TESTS_SUPPORT_STORE_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/store/message_store.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis::testing {

// A minimal envelope in case BF-2026-004512; `payload` varies the content
// (and so the digest).
v1::Envelope MakeEnvelope(const std::string& sender, const std::string& id,
                          std::vector<std::string> recipients = {"eu/europol", "nl/politie"},
                          const std::string& payload = "payload");
std::string ShaOf(const v1::Envelope& e);
v1::Receipt MakeReceipt(const v1::Envelope& e, uint64_t audit_index = 7);

// CommitAsync, waiting for its callback.
absl::StatusOr<std::shared_ptr<const MessageRecord>> CommitAndWait(MessageStore& store, const v1::Envelope& e,
                                                                   const v1::Receipt& receipt,
                                                                   uint64_t audit_size_at_commit = 0);
// Reserve + Commit, as Submit does (the receipt is MakeReceipt(e)).
absl::Status Accept(MessageStore& store, const v1::Envelope& e, uint64_t audit_size = 0);
// Accept, then pair with its audit record (a fresh index): a deliverable message.
absl::Status AcceptAudited(MessageStore& store, const v1::Envelope& e);

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_STORE_TEST_UTIL_H_
