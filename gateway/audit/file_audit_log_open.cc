// FileAuditLog's recovery half: Open() checks the whole chain, the derived
// .leaves file, the latest checkpoints (local and witness) and cuts a torn
// tail; the constructor adopts records found after the last signed
// checkpoint (file_audit_log.h). The writing and reading half is
// file_audit_log.cc.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gateway/audit/file_audit_log.h"
#include "gateway/audit/log_file_io.h"
#include "gateway/audit/log_format.h"
#include "gateway/common/log.h"
#include "util/status_macros.h"

namespace portcullis {

using audit_file::ErrnoStatus;
using audit_file::kLeafChunk;
using audit_file::kOffsetStride;
using audit_file::OpenForAppend;
using audit_file::TruncateTornLine;

namespace {

// Keeps the .leaves file equal to the leaf hashes recomputed from the log,
// rewriting it from the first disagreement (it is derived data).
class LeafReconciler {
 public:
  explicit LeafReconciler(LeafFile* file) : file_(file) {}
  absl::Status Add(const merkle::Hash& leaf) {
    if (!diverged_ && next_ < file_->size()) {
      if (next_ - chunk_begin_ >= chunk_.size()) {
        chunk_begin_ = next_;
        chunk_.clear();
        PORTCULLIS_RETURN_IF_ERROR(file_->ReadLeaves(next_, std::min<uint64_t>(file_->size(), next_ + kLeafChunk), &chunk_));
      }
      if (chunk_[next_ - chunk_begin_] == leaf) {
        ++next_;
        return absl::OkStatus();
      }
    }
    if (!diverged_) {
      diverged_ = true;
      PORTCULLIS_RETURN_IF_ERROR(file_->Truncate(next_));
    }
    pending_.push_back(leaf);
    ++next_;
    if (pending_.size() >= kLeafChunk) return Flush();
    return absl::OkStatus();
  }
  absl::Status Finish() {
    if (!diverged_ && next_ < file_->size()) PORTCULLIS_RETURN_IF_ERROR(file_->Truncate(next_));
    PORTCULLIS_RETURN_IF_ERROR(Flush());
    return file_->Sync();
  }

 private:
  absl::Status Flush() {
    if (pending_.empty()) return absl::OkStatus();
    absl::Status s = file_->Append(pending_);
    pending_.clear();
    return s;
  }
  LeafFile* file_;
  uint64_t next_ = 0;
  bool diverged_ = false;
  uint64_t chunk_begin_ = 0;
  std::vector<merkle::Hash> chunk_;
  std::vector<merkle::Hash> pending_;
};

}  // namespace

struct FileAuditLog::Recovered {
  uint64_t records = 0;
  uint64_t file_end = 0;
  std::string last_hash = kGenesisHash;
  std::vector<uint64_t> offsets;
  std::unique_ptr<LeafFile> leaves;
  std::unique_ptr<merkle::MerkleTree> tree;
  std::optional<Checkpoint> latest;
  uint64_t witness_signed = 0;  // Size of the witness's latest checkpoint (0 = none).
};

absl::StatusOr<std::unique_ptr<FileAuditLog>> FileAuditLog::Open(const std::string& path) {
  FileAuditLogOptions options;
  options.path = path;
  return Open(std::move(options));
}

absl::StatusOr<std::unique_ptr<FileAuditLog>> FileAuditLog::Open(FileAuditLogOptions options) {
  const std::string& path = options.path;
  std::unique_ptr<CheckpointSigner> signer;
  if (!options.signing_key.empty()) {
    auto s = CheckpointSigner::Load(options.signing_key);
    if (!s.ok()) return s.status();
    signer = *std::move(s);
  }
  auto fd_or = OpenForAppend(path);
  if (!fd_or.ok()) return fd_or.status();
  const int fd = *fd_or;
  auto fail = [&](absl::Status s) {
    ::close(fd);
    return s;
  };

  Recovered r;
  auto leaves = LeafFile::Open(path + ".leaves");
  if (!leaves.ok()) return fail(leaves.status());
  r.leaves = *std::move(leaves);
  LeafReconciler reconciler(r.leaves.get());

  // Recovery: check the whole chain, read-only. Only an incomplete last line
  // (no newline) can be left by a crash, since batches are written in order
  // and acknowledged after fdatasync; it is cut, but only once every check
  // below has passed. Any complete line that does not fit the chain is
  // tampering or corruption: refuse to start and change nothing.
  std::ifstream in(path, std::ios::binary);
  std::string line;
  uint64_t offset = 0;
  bool torn = false;
  while (std::getline(in, line)) {
    if (in.eof()) {
      torn = true;
      break;
    }
    std::string bad;
    auto h = CheckLine(line);
    if (!h.ok()) {
      bad = std::string(h.status().message());
    } else if (h->index != r.records) {
      bad = absl::StrCat("its index is ", h->index, ", expected ", r.records);
    } else if (h->prev != r.last_hash) {
      bad = "its prev does not match the previous record's hash";
    }
    if (!bad.empty()) {
      return fail(absl::FailedPreconditionError(absl::StrCat(
          "audit log ", path, " is corrupt at record ", r.records, " (byte ", offset, "): ", bad,
          ". Refusing to start: run `portcullis-audit verify` to see what was changed")));
    }
    if (r.records % kOffsetStride == 0) r.offsets.push_back(offset);
    absl::Status s = reconciler.Add(merkle::LeafHash(line));
    if (!s.ok()) return fail(s);
    r.last_hash = h->hash;
    ++r.records;
    offset += line.size() + 1;
  }
  const bool read_error = in.bad();
  in.close();
  struct stat st;
  if (read_error || ::fstat(fd, &st) != 0 ||
      static_cast<uint64_t>(st.st_size) != offset + (torn ? line.size() : 0)) {
    return fail(absl::UnavailableError(absl::StrCat("audit log ", path, ": could not read it to its end (", offset,
                                                    " of ", read_error ? 0 : st.st_size,
                                                    " bytes). Refusing to start")));
  }
  r.file_end = offset;
  absl::Status s = reconciler.Finish();  // The .leaves file is derived data: rewriting it is not evidence lost.
  if (!s.ok()) return fail(s);
  r.tree = std::make_unique<merkle::MerkleTree>(r.leaves.get());
  {
    std::vector<merkle::Hash> chunk;
    for (uint64_t i = 0; i < r.records; i += kLeafChunk) {
      chunk.clear();
      s = r.leaves->ReadLeaves(i, std::min<uint64_t>(r.records, i + kLeafChunk), &chunk);
      if (!s.ok()) return fail(s);
      for (const auto& leaf : chunk) r.tree->Append(leaf);
    }
  }

  // The log must still hold what its latest checkpoint, and the witness's
  // latest copy, signed: otherwise it was truncated or rewritten.
  int checkpoint_fd = -1;
  const std::string local_path = path + ".checkpoints";
  const std::string witness_path = options.witness_dir.empty() ? "" : options.witness_dir + "/checkpoints.log";
  if (signer != nullptr) {
    auto check = [&](const std::string& cpath) -> absl::StatusOr<std::optional<Checkpoint>> {
      auto checkpoints = ReadCheckpointFile(cpath);
      if (!checkpoints.ok()) return checkpoints.status();
      if (checkpoints->empty()) return std::optional<Checkpoint>();
      const Checkpoint& last = checkpoints->back();
      if (absl::Status v = signer->Verify(last); !v.ok()) {
        return absl::DataLossError(absl::StrCat("audit log ", path, ": the latest checkpoint in ", cpath,
                                                " is not validly signed by this gateway's key (", v.message(),
                                                "). Refusing to start"));
      }
      if (last.size > r.records) {
        return absl::DataLossError(absl::StrCat("audit log ", path, " holds ", r.records, " records but the checkpoint in ",
                                                cpath, " covers ", last.size,
                                                ": the log was truncated. Refusing to start"));
      }
      auto root = r.tree->Root(last.size);
      if (!root.ok() || merkle::ToHex(*root) != last.root) {
        return absl::DataLossError(absl::StrCat("audit log ", path, ": the first ", last.size,
                                                " records do not match the checkpoint in ", cpath,
                                                " (rewritten?). Refusing to start"));
      }
      return std::optional<Checkpoint>(last);
    };
    auto local = check(local_path);
    if (!local.ok()) return fail(local.status());
    r.latest = *local;
    if (!witness_path.empty()) {
      // A witness that cannot be read must not turn into "no witness": that
      // is exactly when a log restored from an old copy would pass.
      if (::access(options.witness_dir.c_str(), W_OK) != 0) {
        return fail(absl::UnavailableError(absl::StrCat("audit witness folder ", options.witness_dir,
                                                        " is not writable: ", std::strerror(errno),
                                                        ". Refusing to start")));
      }
      if (r.latest && ::access(witness_path.c_str(), F_OK) != 0) {
        return fail(absl::FailedPreconditionError(absl::StrCat(
            "audit witness file ", witness_path, " is missing although ", local_path,
            " holds checkpoints: the witness is not mounted, or it is new. Refusing to start; to start a new "
            "witness, copy ", local_path, " to ", witness_path)));
      }
      auto witness = check(witness_path);
      if (!witness.ok()) return fail(witness.status());
      if (*witness) r.witness_signed = (*witness)->size;
    }
  }
  // Every check passed: now cut what a crash left half-written.
  if (torn) {
    if (::ftruncate(fd, static_cast<off_t>(offset)) != 0 || ::fsync(fd) != 0) {
      return fail(ErrnoStatus("truncate torn tail of", path, errno));
    }
    LogLine("audit log %s: truncated an incomplete last record (torn write) at record %llu\n",
                 path.c_str(), static_cast<unsigned long long>(r.records));
  }
  if (signer != nullptr) {
    for (const std::string& cpath : {local_path, witness_path}) {
      if (cpath.empty()) continue;
      absl::Status cut = TruncateTornLine(cpath);
      if (!cut.ok()) return fail(cut);
    }
    auto cfd = OpenForAppend(local_path);
    if (!cfd.ok()) return fail(cfd.status());
    checkpoint_fd = *cfd;
    if (!witness_path.empty()) {
      // Created now, so that a crash before the first copy cannot look like a missing witness.
      auto wfd = OpenForAppend(witness_path);
      if (!wfd.ok()) {
        ::close(checkpoint_fd);
        return fail(wfd.status());
      }
      ::close(*wfd);
    }
  }
  return std::unique_ptr<FileAuditLog>(
      new FileAuditLog(std::move(options), std::move(signer), fd, checkpoint_fd, std::move(r)));
}

FileAuditLog::FileAuditLog(FileAuditLogOptions options, std::unique_ptr<CheckpointSigner> signer, int fd,
                           int checkpoint_fd, Recovered r)
    : options_(std::move(options)),
      fd_(fd),
      checkpoint_fd_(checkpoint_fd),
      signer_(std::move(signer)),
      leaves_(std::move(r.leaves)),
      tree_(std::move(r.tree)),
      last_hash_(std::move(r.last_hash)),
      file_end_(r.file_end),
      size_(r.records),
      offsets_(std::move(r.offsets)),
      latest_(std::move(r.latest)),
      last_checkpoint_time_(std::chrono::steady_clock::now()) {
  // Unsigned records found at start are adopted by a record of their own,
  // queued before the writer starts: it is the first thing written, so no
  // checkpoint signs them without the log saying so. "Signed" is by the local
  // checkpoints or, should the local file have lost its last lines, by the
  // witness's copy.
  const uint64_t signed_size = std::max<uint64_t>(latest_ ? latest_->size : 0, r.witness_signed);
  if (signer_ != nullptr && size_ > signed_size) {
    adopted_ = std::make_pair(signed_size, size_ - 1);
    AuditRecord a;
    a.time_micros = NowMicros();
    a.action = "adopt_unsigned";
    a.outcome = "adopted";
    a.reason = "UNSIGNED_AT_START";
    a.range_first = signed_size;
    a.range_last = size_ - 1;
    a.count = size_ - signed_size;
    a.detail = absl::StrCat(
        "records ", signed_size, " to ", size_ - 1, " were found after the last signed checkpoint (",
        signed_size > 0 ? absl::StrCat("size ", signed_size) : std::string("none"),
        ") when the gateway started: written before a crash or an unclean stop, or appended while the gateway was "
        "not running; no checkpoint signed them before now, and the next one signs them as adopted");
    LogLine("audit log %s: adopting unsigned records %llu to %llu (recorded as adopt_unsigned)\n",
                 options_.path.c_str(), static_cast<unsigned long long>(signed_size),
                 static_cast<unsigned long long>(size_ - 1));
    pending_.emplace_back(std::move(a), [](absl::StatusOr<uint64_t> index) {
      if (!index.ok()) {
        LogLine("could not record the adopted unsigned records: %s\n",
                     index.status().ToString().c_str());
      }
    });
  }
  // The witness thread first: the writer may sign (and queue a copy) at once.
  if (signer_ != nullptr && !options_.witness_dir.empty()) witness_thread_ = std::thread([this] { WitnessLoop(); });
  writer_ = std::thread([this] { WriterLoop(); });
}

}  // namespace portcullis
