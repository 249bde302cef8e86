// PgAuditLog's appending and reading half: records sealed under the head-row
// lock, the tree catching up from the database, records and proofs
// (pg_audit_log.h). Open() is pg_audit_log_open.cc; checkpoints and the
// witness copy are pg_audit_log_checkpoint.cc.
#include "gateway/audit/pg_audit_log.h"

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/audit/log_format.h"
#include "gateway/audit/pg_audit_log_leaves.h"
#include "gateway/common/log.h"

namespace portcullis {

namespace pg_audit {

absl::Status ReadError(const absl::Status& status, absl::string_view what) {
  if (status.code() == absl::StatusCode::kDataLoss || status.code() == absl::StatusCode::kUnavailable) {
    return status;
  }
  return absl::UnavailableError(absl::StrCat("audit log: ", what, ": ", status.message()));
}

absl::Status ReadLeavesWith(pg::Connection& conn, uint64_t begin, uint64_t end, std::vector<merkle::Hash>* out) {
  out->clear();
  if (begin >= end) return absl::OkStatus();
  auto res = conn.Exec("SELECT idx, leaf_hash FROM audit_records WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                       {begin, end});
  if (!res.ok()) return ReadError(res.status(), "reading leaf hashes");
  out->reserve(end - begin);
  for (int row = 0; row < res->rows(); ++row) {
    const uint64_t idx = static_cast<uint64_t>(res->Int(row, 0));
    const std::string bytes = res->Bytes(row, 1);
    if (idx != begin + out->size() || bytes.size() != 32) {
      return absl::DataLossError(absl::StrCat("audit log: audit_records ",
                                              bytes.size() != 32 ? "has a leaf hash that is not 32 bytes at index "
                                                                 : "is missing the record at index ",
                                              begin + out->size()));
    }
    merkle::Hash h;
    std::copy(bytes.begin(), bytes.end(), h.begin());
    out->push_back(h);
  }
  if (out->size() != end - begin) {
    return absl::DataLossError(absl::StrCat("audit log: audit_records is missing the record at index ",
                                            begin + out->size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Checkpoint>> ReadLatestCheckpoint(pg::Connection& conn) {
  auto res = conn.Exec("SELECT tree_size, line FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1");
  if (!res.ok()) return ReadError(res.status(), "reading the latest checkpoint");
  if (res->rows() == 0) return std::optional<Checkpoint>();
  auto c = CheckpointFromLine(res->Text(0, 1));
  if (!c.ok() || c->size != static_cast<uint64_t>(res->Int(0, 0))) {
    return absl::DataLossError(absl::StrCat("audit log: the checkpoint of tree size ", res->Int(0, 0),
                                            " in audit_checkpoints is unreadable or names another size"));
  }
  return std::optional<Checkpoint>(*std::move(c));
}

}  // namespace pg_audit

absl::Status PgAuditLog::Leaves::ReadLeaves(uint64_t begin, uint64_t end, std::vector<merkle::Hash>* out) const {
  if (pg_audit::tls_signer_connection != nullptr) {
    return pg_audit::ReadLeavesWith(*pg_audit::tls_signer_connection, begin, end, out);
  }
  return pg_audit::WithConnection(
      pool_, [&](pg::Connection& conn) { return pg_audit::ReadLeavesWith(conn, begin, end, out); });
}

absl::Status PgAuditLog::Inject(absl::string_view op) const {
  return options_.fault_injector ? options_.fault_injector(op) : absl::OkStatus();
}

void PgAuditLog::SetFailed(absl::Status status) const {
  LogLine("audit log: %s; refusing new work\n", status.ToString().c_str());
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_.ok()) failed_ = std::move(status);
}

PgAuditLog::SeenHead PgAuditLog::Seen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return SeenHead{seen_size_, seen_hash_};
}

absl::Status PgAuditLog::CheckHead(uint64_t size, const std::string& hash, const SeenHead& before) const {
  if (size < before.size || (size == before.size && !before.hash.empty() && hash != before.hash)) {
    absl::Status bad = absl::DataLossError(absl::StrCat(
        "audit log: the database's head row says ", size, " records (last hash \"", hash,
        "\") but this gateway already saw ", before.size, " committed (last hash \"", before.hash,
        "\"): the database is behind what was committed (a failover to a lagging standby, or a restore "
        "from a backup?). Nothing more is appended or signed; export the log and run `portcullis-audit verify`"));
    SetFailed(bad);
    return bad;
  }
  NoteSeen(size, hash);
  return absl::OkStatus();
}

void PgAuditLog::NoteSeen(uint64_t size, const std::string& hash) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (size > seen_size_) {
    seen_size_ = size;
    seen_hash_ = hash;
  }
}

absl::Status PgAuditLog::Health() const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_.ok()) return failed_;
  }
  return options_.writer->Health();
}

void PgAuditLog::Append(AuditRecord record, Done done) {
  if (absl::Status health = Health(); !health.ok()) {
    done(health.code() == absl::StatusCode::kDataLoss ? health : absl::UnavailableError(health.message()));
    return;
  }
  auto index = std::make_shared<uint64_t>(0);
  options_.writer->Submit(
      [this, record = std::move(record), index](pg::Tx& tx) -> absl::Status {
        auto i = AppendInTx(tx, record);  // A copy: the op may run again.
        if (!i.ok()) return i.status();
        *index = *i;
        return absl::OkStatus();
      },
      [this, index, done = std::move(done)](absl::Status status) {
        if (!status.ok()) return done(status);
        NoteDurable(*index);
        done(*index);
      });
}

absl::StatusOr<uint64_t> PgAuditLog::AppendInTx(pg::Tx& tx, AuditRecord record) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_.ok()) return failed_;
  }
  auto head = tx.head();
  if (!head.ok()) return head.status();
  pg::Head* h = *head;
  // The head as committed when this transaction locked it: no head can
  // commit meanwhile, so anything this gateway saw committed is at most it.
  if (absl::Status s = CheckHead(tx.read_head().audit_size, tx.read_head().audit_head, Seen()); !s.ok()) return s;
  if ((h->audit_size == 0) != h->audit_head.empty()) {
    absl::Status bad = absl::DataLossError(absl::StrCat("audit log: the head row says ", h->audit_size,
                                                        " records with last hash \"", h->audit_head, "\""));
    SetFailed(bad);
    return bad;
  }
  const uint64_t index = h->audit_size;
  record.index = index;
  if (record.time_micros == 0) record.time_micros = NowMicros();
  record.replica_id = options_.replica_id;
  std::string hash;
  const std::string line = SealLine(record, h->audit_head.empty() ? kGenesisHash : h->audit_head, &hash);
  const merkle::Hash leaf = merkle::LeafHash(line);
  absl::Status inserted = tx.conn().Run("INSERT INTO audit_records(idx, line, leaf_hash) VALUES ($1, $2, $3)",
                                        {index, line, pg::Param::Bytes(std::string(leaf.begin(), leaf.end()))});
  if (inserted.code() == absl::StatusCode::kAlreadyExists) {
    absl::Status bad = absl::DataLossError(absl::StrCat("audit log: audit_records already holds index ", index,
                                                        " although the head row counts ", index, " records"));
    SetFailed(bad);
    return bad;
  }
  if (!inserted.ok()) {
    // The database refused the record with the connection alive. As the
    // file log's failed write: no new work, nothing disclosed that could not
    // be recorded, until an operator has seen why and restarted. Not for a
    // connection lost or a server shutting down (08, 57P: the writer reports
    // UNAVAILABLE and reconnects), nor for what a retry clears (a lock
    // timeout 55P03, a serialization failure or deadlock 40xxx).
    const std::string state = pg::SqlState(inserted);
    const bool transient = state.empty() || absl::StartsWith(state, "08") || absl::StartsWith(state, "57P") ||
                           state == "55P03" || absl::StartsWith(state, "40");
    if (tx.conn().ok() && !transient) {
      SetFailed(absl::UnavailableError(absl::StrCat("audit log: the database refused record ", index, ": ",
                                                    inserted.message())));
    }
    return inserted;
  }
  h->audit_size = index + 1;
  h->audit_head = hash;
  std::lock_guard<std::mutex> lock(sealed_mu_);
  sealed_[index] = Sealed{leaf, tx.read_head().audit_size, hash};
  return index;
}

void PgAuditLog::NoteDurable(uint64_t index) {
  {
    std::lock_guard<std::mutex> lock(tree_mu_);
    std::lock_guard<std::mutex> sealed_lock(sealed_mu_);
    const uint64_t n = tree_->size();
    if (index >= n) {
      // Entries in [tx_start, index] are this transaction's own; anything
      // before that (another gateway's records, or ours appended in a way
      // not noted) comes from the database.
      auto it = sealed_.find(index);
      const uint64_t own_from = it == sealed_.end() ? index + 1 : std::max(it->second.tx_start, n);
      absl::Status s = CatchUpLocked(own_from);
      for (uint64_t i = tree_->size(); s.ok() && i <= index; ++i) {
        auto leaf = sealed_.find(i);
        if (leaf == sealed_.end()) {
          s = CatchUpLocked(index + 1);
          break;
        }
        tree_->Append(leaf->second.leaf);
      }
      if (s.ok()) {
        auto own = sealed_.find(index);
        NoteSeen(index + 1, own == sealed_.end() ? std::string() : own->second.hash);
      } else {
        LogLine("audit log: the tree could not learn records up to %llu yet: %s\n",
                     static_cast<unsigned long long>(index), s.ToString().c_str());
      }
    }
    // Used, or below the tree (stale runs): not needed any more.
    sealed_.erase(sealed_.begin(), sealed_.lower_bound(std::max(index + 1, tree_->size())));
  }
  bool due;
  {
    std::lock_guard<std::mutex> lock(signer_mu_);
    due = ++since_checkpoint_ >= options_.checkpoint_every_records;
  }
  if (due) signer_cv_.notify_one();
}

absl::Status PgAuditLog::CatchUpLocked(uint64_t end) const {
  std::vector<merkle::Hash> chunk;
  while (tree_->size() < end) {
    const uint64_t begin = tree_->size();
    absl::Status s = leaves_->ReadLeaves(begin, std::min(end, begin + pg_audit::kChunk), &chunk);
    if (s.code() == absl::StatusCode::kDataLoss) SetFailed(s);
    if (!s.ok()) return s;
    for (const merkle::Hash& leaf : chunk) tree_->Append(leaf);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> PgAuditLog::CatchUp() const {
  const SeenHead before = Seen();  // Committed before the head is read.
  SeenHead committed;
  absl::Status read = pg_audit::WithConnection(options_.pool, [&](pg::Connection& conn) -> absl::Status {
    auto res = conn.Exec("SELECT audit_size, audit_head FROM portcullis_head WHERE id = 1");
    if (!res.ok()) return pg_audit::ReadError(res.status(), "reading the head row");
    if (res->rows() != 1) return absl::DataLossError("audit log: the head row (portcullis_head) is missing");
    committed = SeenHead{static_cast<uint64_t>(res->Int(0, 0)), std::string(res->Text(0, 1))};
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  if (absl::Status s = CheckHead(committed.size, committed.hash, before); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(tree_mu_);
  absl::Status s = CatchUpLocked(committed.size);
  if (!s.ok()) return s;
  return tree_->size();
}

uint64_t PgAuditLog::size() const {
  // While the database is unreachable, what this gateway knows (no wait).
  if (options_.writer->Health().ok()) {
    auto n = CatchUp();
    if (n.ok()) return *n;
  }
  return tree_->size();
}

absl::StatusOr<std::vector<std::string>> PgAuditLog::ReadLines(uint64_t begin, uint64_t max_count) const {
  if (absl::Status fault = Inject("read"); !fault.ok()) return fault;
  auto size = CatchUp();
  if (!size.ok()) return size.status();
  if (begin >= *size || max_count == 0) return std::vector<std::string>{};
  const uint64_t end = max_count >= *size - begin ? *size : begin + max_count;
  auto res = pg_audit::WithConnection(options_.pool, [&](pg::Connection& conn) {
    return conn.Exec("SELECT idx, line FROM audit_records WHERE idx >= $1 AND idx < $2 ORDER BY idx", {begin, end});
  });
  if (!res.ok()) return pg_audit::ReadError(res.status(), "reading records");
  std::vector<std::string> out;
  out.reserve(end - begin);
  for (int row = 0; row < res->rows(); ++row) {
    if (static_cast<uint64_t>(res->Int(row, 0)) != begin + out.size()) break;
    out.emplace_back(res->Text(row, 1));
  }
  if (out.size() != end - begin) {
    return absl::DataLossError(absl::StrCat("audit log: audit_records is missing the record at index ",
                                            begin + out.size()));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> PgAuditLog::InclusionProof(uint64_t index, uint64_t tree_size) const {
  if (absl::Status fault = Inject("read"); !fault.ok()) return fault;
  auto size = CatchUp();
  if (!size.ok()) return size.status();
  if (tree_size > *size) return absl::OutOfRangeError(absl::StrCat("tree_size ", tree_size, " exceeds the log"));
  return merkle::HexProof(tree_->InclusionProof(index, tree_size));
}

absl::StatusOr<std::vector<std::string>> PgAuditLog::ConsistencyProof(uint64_t old_size, uint64_t new_size) const {
  if (absl::Status fault = Inject("read"); !fault.ok()) return fault;
  auto size = CatchUp();
  if (!size.ok()) return size.status();
  if (new_size > *size) return absl::OutOfRangeError(absl::StrCat("new_size ", new_size, " exceeds the log"));
  return merkle::HexProof(tree_->ConsistencyProof(old_size, new_size));
}

}  // namespace portcullis
