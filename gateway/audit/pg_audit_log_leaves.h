// Internal to PgAuditLog (pg_audit_log*.cc): the Merkle tree's LeafSource
// over audit_records.leaf_hash, and the small helpers its files share.
#ifndef PORTCULLIS_GATEWAY_AUDIT_PG_AUDIT_LOG_LEAVES_H_
#define PORTCULLIS_GATEWAY_AUDIT_PG_AUDIT_LOG_LEAVES_H_

#include <utility>
#include <vector>

#include "gateway/audit/pg_audit_log.h"

namespace portcullis {

namespace pg_audit {

// The checkpoint signer's advisory lock (session-level, pg_audit_log_checkpoint.cc), waited for: held while a
// checkpoint is signed and its witness copy written, so a witness file several gateways share is only read (and
// a torn line cut) while no one writes it (Open).
inline constexpr const char* kSignerLock = "SELECT true FROM pg_advisory_lock(5043535402)";
inline constexpr const char* kSignerUnlock = "SELECT pg_advisory_unlock(5043535402)";

// Set by the signer while it runs (pg_audit_log_checkpoint.cc): the tree's
// leaf reads on that thread go through the signer's own connection.
inline thread_local pg::Connection* tls_signer_connection = nullptr;

// Leaf hashes (or lines) read from the database at once.
inline constexpr uint64_t kChunk = 4096;

// A failed read of the database as a read error of the log: UNAVAILABLE
// (with the database's words, for the gateway's log only), DATA_LOSS kept.
absl::Status ReadError(const absl::Status& status, absl::string_view what);

// Runs `fn(connection)` on a connection of `pool`; if it fails because that
// connection broke (the server restarted since it was last used; the pool
// drops it), again on another, a few times. Returns fn's result.
template <typename F>
auto WithConnection(pg::Pool* pool, F fn) -> decltype(fn(std::declval<pg::Connection&>())) {
  for (int attempt = 0;; ++attempt) {
    auto lease = pool->Acquire();
    if (!lease.ok()) return ReadError(lease.status(), "no read connection");
    auto result = fn(**lease);
    if (result.ok() || (*lease)->ok() || attempt >= 8) return result;
  }
}

// Leaves [begin, end) through `conn`; DATA_LOSS if rows are missing or a
// leaf is not 32 bytes.
absl::Status ReadLeavesWith(pg::Connection& conn, uint64_t begin, uint64_t end, std::vector<merkle::Hash>* out);

// The latest checkpoint in audit_checkpoints (none if the table is empty).
absl::StatusOr<std::optional<Checkpoint>> ReadLatestCheckpoint(pg::Connection& conn);

}  // namespace pg_audit

class PgAuditLog::Leaves final : public merkle::LeafSource {
 public:
  explicit Leaves(pg::Pool* pool) : pool_(pool) {}
  absl::Status ReadLeaves(uint64_t begin, uint64_t end, std::vector<merkle::Hash>* out) const override;

 private:
  pg::Pool* const pool_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_AUDIT_PG_AUDIT_LOG_LEAVES_H_
