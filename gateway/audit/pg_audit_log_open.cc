// PgAuditLog::Open: loads the Merkle tree from the leaf hashes and checks
// the database before the gateway uses it, changing nothing (pg_audit_log.h).
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "gateway/audit/log_file_io.h"
#include "gateway/audit/log_format.h"
#include "gateway/audit/pg_audit_log_leaves.h"

namespace portcullis {
namespace {

absl::Status Refuse(const std::string& words) {
  return absl::DataLossError(absl::StrCat("audit log (postgres): ", words,
                                          ". Refusing to start: export the log and run `portcullis-audit verify` "
                                          "to see what was changed"));
}

struct Snapshot {
  uint64_t records = 0;
  std::string head_hash;
  std::optional<Checkpoint> latest;
};

// The head, the row count, every leaf (into `tree`) and the latest
// checkpoint, from one consistent snapshot (other gateways may be appending).
absl::StatusOr<Snapshot> LoadSnapshot(pg::Connection& conn, merkle::MerkleTree* tree) {
  if (absl::Status s = conn.Run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !s.ok()) {
    return pg_audit::ReadError(s, "opening");
  }
  auto body = [&]() -> absl::StatusOr<Snapshot> {
    Snapshot snap;
    auto head = conn.Exec("SELECT audit_size, audit_head FROM portcullis_head WHERE id = 1");
    if (!head.ok()) return pg_audit::ReadError(head.status(), "reading the head row");
    if (head->rows() != 1) return Refuse("the head row (portcullis_head) is missing");
    snap.records = static_cast<uint64_t>(head->Int(0, 0));
    snap.head_hash = std::string(head->Text(0, 1));
    auto count = conn.Exec("SELECT count(*), coalesce(max(idx) + 1, 0), coalesce(min(idx), 0) FROM audit_records");
    if (!count.ok()) return pg_audit::ReadError(count.status(), "counting records");
    const uint64_t rows = static_cast<uint64_t>(count->Int(0, 0));
    const uint64_t end = static_cast<uint64_t>(count->Int(0, 1));
    if (rows != snap.records || end != snap.records || count->Int(0, 2) != 0) {
      return Refuse(absl::StrCat("the head row counts ", snap.records, " records but audit_records holds ", rows,
                                 " (indexes up to ", end == 0 ? 0 : end - 1, ")"));
    }
    if ((snap.records == 0) != snap.head_hash.empty()) {
      return Refuse(absl::StrCat("the head row says ", snap.records, " records with last hash \"", snap.head_hash,
                                 "\""));
    }
    std::vector<merkle::Hash> chunk;
    for (uint64_t i = 0; i < snap.records; i += pg_audit::kChunk) {
      absl::Status s = pg_audit::ReadLeavesWith(conn, i, std::min(snap.records, i + pg_audit::kChunk), &chunk);
      if (!s.ok()) return s;
      for (const merkle::Hash& leaf : chunk) tree->Append(leaf);
    }
    auto latest = pg_audit::ReadLatestCheckpoint(conn);
    if (!latest.ok()) return latest.status();
    snap.latest = *latest;
    return snap;
  };
  auto snap = body();
  conn.Run("ROLLBACK").IgnoreError();  // Read only.
  return snap;
}

// The chain from record `from` on: each line's own hash, its index, its
// prev, its stored leaf hash; and the last hash is the head's.
absl::Status CheckChain(pg::Connection& conn, uint64_t from, const Snapshot& snap) {
  std::string prev = kGenesisHash;
  uint64_t i = from == 0 ? 0 : from - 1;  // The record before: its hash is the next one's prev.
  while (i < snap.records) {
    const uint64_t end = std::min(snap.records, i + pg_audit::kChunk);
    auto res = conn.Exec("SELECT idx, line, leaf_hash FROM audit_records WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                         {i, end});
    if (!res.ok()) return pg_audit::ReadError(res.status(), "reading records");
    if (static_cast<uint64_t>(res->rows()) != end - i) {
      return Refuse(absl::StrCat("audit_records lost rows between indexes ", i, " and ", end - 1));
    }
    for (int row = 0; row < res->rows(); ++row, ++i) {
      const absl::string_view line = res->Text(row, 1);
      auto h = CheckLine(line);
      std::string bad;
      const merkle::Hash leaf = merkle::LeafHash(line);
      if (static_cast<uint64_t>(res->Int(row, 0)) != i) {
        bad = "the row is missing";
      } else if (!h.ok()) {
        bad = std::string(h.status().message());
      } else if (h->index != i) {
        bad = absl::StrCat("its line says index ", h->index);
      } else if (i >= from && h->prev != prev) {
        bad = "its prev does not match the previous record's hash";
      } else if (res->Bytes(row, 2) != std::string(leaf.begin(), leaf.end())) {
        bad = "its stored leaf hash is not its line's";
      }
      if (!bad.empty()) return Refuse(absl::StrCat("record ", i, " does not fit the chain: ", bad));
      prev = h->hash;
    }
  }
  if (snap.records > 0 && prev != snap.head_hash) {
    return Refuse("the head row's hash is not the last record's (a record was rewritten or removed)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgAuditLog>> PgAuditLog::Open(PgAuditLogOptions options) {
  if (options.writer == nullptr || options.pool == nullptr) {
    return absl::InvalidArgumentError("PgAuditLog needs a writer and a pool");
  }
  std::unique_ptr<CheckpointSigner> signer;
  if (!options.signing_key.empty()) {
    auto s = CheckpointSigner::Load(options.signing_key);
    if (!s.ok()) return s.status();
    signer = *std::move(s);
  }
  auto leaves = std::make_unique<Leaves>(options.pool);
  auto tree = std::make_unique<merkle::MerkleTree>(leaves.get());
  // The witness first, then the database: a witness folder may be shared by
  // replicas, whose signers write it (under the signer's lock) after their
  // checkpoint committed, so the database read after it holds at least what
  // it says. Read the other way round, a checkpoint another replica signed
  // in between would look like records deleted.
  const std::string wpath = options.witness_dir + "/checkpoints.log";
  absl::StatusOr<std::vector<Checkpoint>> witness = std::vector<Checkpoint>{};
  if (signer != nullptr && !options.witness_dir.empty()) {
    if (::access(options.witness_dir.c_str(), W_OK) != 0) {
      return absl::UnavailableError(absl::StrCat("audit witness folder ", options.witness_dir,
                                                 " is not writable: ", std::strerror(errno), ". Refusing to start"));
    }
    auto lease = options.pool->Acquire();
    if (!lease.ok()) return lease.status();
    if (absl::Status s = (*lease)->Run(pg_audit::kSignerLock); !s.ok()) return s;
    witness = ReadCheckpointFile(wpath);
    absl::Status unlocked = (*lease)->Run(pg_audit::kSignerUnlock);
    if (!witness.ok()) return witness.status();
    if (!unlocked.ok()) return unlocked;
  }
  absl::StatusOr<Snapshot> snap;
  {
    auto lease = options.pool->Acquire();
    if (!lease.ok()) return lease.status();
    snap = LoadSnapshot(**lease, tree.get());
  }
  if (!snap.ok()) return snap.status();

  // What the latest checkpoint (in the database, and the witness's latest
  // copy) signed must still be there: otherwise rows were deleted, rewritten
  // or restored from an old backup.
  auto check = [&](const Checkpoint& c, const std::string& where) -> absl::Status {
    if (signer != nullptr) {
      if (absl::Status v = signer->Verify(c); !v.ok()) {
        return Refuse(absl::StrCat("the latest checkpoint in ", where, " is not validly signed by this gateway's key (",
                                   v.message(), ")"));
      }
    }
    if (c.size > snap->records) {
      return Refuse(absl::StrCat("the database holds ", snap->records, " records but the checkpoint in ", where,
                                 " covers ", c.size, ": records were deleted"));
    }
    auto root = tree->Root(c.size);
    if (!root.ok()) return pg_audit::ReadError(root.status(), "computing a root");
    if (merkle::ToHex(*root) != c.root) {
      return Refuse(absl::StrCat("the first ", c.size, " records do not match the checkpoint in ", where,
                                 " (rewritten?)"));
    }
    return absl::OkStatus();
  };
  if (snap->latest) {
    if (absl::Status s = check(*snap->latest, "audit_checkpoints"); !s.ok()) return s;
  }
  if (!witness->empty()) {
    if (absl::Status s = check(witness->back(), wpath); !s.ok()) return s;
  }
  {
    auto lease = options.pool->Acquire();
    if (!lease.ok()) return lease.status();
    absl::Status s = CheckChain(**lease, snap->latest ? snap->latest->size : 0, *snap);
    if (!s.ok()) return s;
  }
  if (signer != nullptr && !options.witness_dir.empty()) {
    // Every check passed: cut a witness line a crash left half-written, so
    // that the next copy starts on a line of its own; under the signer's lock,
    // never while another replica sharing the folder writes it.
    auto lease = options.pool->Acquire();
    if (!lease.ok()) return lease.status();
    if (absl::Status s = (*lease)->Run(pg_audit::kSignerLock); !s.ok()) return s;
    absl::Status cut = audit_file::TruncateTornLine(wpath);
    absl::Status unlocked = (*lease)->Run(pg_audit::kSignerUnlock);
    if (!cut.ok()) return cut;
    if (!unlocked.ok()) return unlocked;
  }
  return std::unique_ptr<PgAuditLog>(new PgAuditLog(std::move(options), std::move(signer), std::move(leaves),
                                                    std::move(tree), snap->latest, snap->records, snap->head_hash));
}

PgAuditLog::PgAuditLog(PgAuditLogOptions options, std::unique_ptr<CheckpointSigner> signer,
                       std::unique_ptr<Leaves> leaves, std::unique_ptr<merkle::MerkleTree> tree,
                       std::optional<Checkpoint> latest, uint64_t head_size, std::string head_hash)
    : options_(std::move(options)),
      signer_(std::move(signer)),
      leaves_(std::move(leaves)),
      tree_(std::move(tree)),
      latest_(std::move(latest)),
      seen_size_(head_size),
      seen_hash_(std::move(head_hash)) {
  if (signer_ == nullptr) return;
  signer_thread_ = std::thread([this] { SignerLoop(); });
}

}  // namespace portcullis
