#include "tests/support/store_fixtures.h"

#include <atomic>

#include <gtest/gtest.h>

#include "gateway/common/digest.h"
#include "tests/support/files.h"
#include "util/status_macros.h"

namespace portcullis::testing {

std::string StoreTempDir(const std::string& name) { return MakeTempDir("sqlite-store-" + name); }

std::unique_ptr<SqliteMessageStore> OpenOrDie(const std::string& path, int64_t max_age_micros) {
  SqliteStoreOptions options;
  options.path = path;
  options.delivery_max_age_micros = max_age_micros;
  auto store = SqliteMessageStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

v1::Envelope MakeEnvelope(const std::string& sender, const std::string& id,
                          std::vector<std::string> recipients, const std::string& payload) {
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

absl::Status Accept(SqliteMessageStore& store, const v1::Envelope& e, uint64_t audit_size) {
  ReserveResult r = store.Reserve(e.sender(), e.message_id(), ShaOf(e));
  if (r.outcome != ReserveOutcome::kNew) return absl::AlreadyExistsError("not new");
  return store.CommitWithAuditSize(e, MakeReceipt(e), audit_size).status();
}

absl::Status AcceptAudited(SqliteMessageStore& store, const v1::Envelope& e) {
  static std::atomic<uint64_t> next_index{1};
  PORTCULLIS_RETURN_IF_ERROR(Accept(store, e));
  return store.MarkAudited(e.sender(), e.message_id(), next_index++);
}
}  // namespace portcullis::testing
