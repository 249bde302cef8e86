#include "gateway/audit/file_audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gateway/common/sync_dir.h"
#include "gateway/audit/log_format.h"

namespace portcullis {
namespace {

constexpr uint64_t kOffsetStride = 256;
constexpr size_t kLeafChunk = 4096;

absl::Status ErrnoStatus(absl::string_view what, const std::string& path, int err) {
  return absl::UnavailableError(absl::StrCat("audit log ", what, " ", path, ": ", std::strerror(err)));
}

// Opens `path` for appending; fsyncs its directory if the file is new.
absl::StatusOr<int> OpenForAppend(const std::string& path) {
  bool existed = ::access(path.c_str(), F_OK) == 0;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  if (!existed) {
    absl::Status s = SyncParentDir(path);
    if (!s.ok()) {
      ::close(fd);
      return s;
    }
  }
  return fd;
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path);

// Cuts an incomplete last line (a checkpoint write that a crash interrupted)
// so that the next append starts on a line of its own.
absl::Status TruncateTornLine(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::OkStatus();
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  const size_t keep = content.rfind('\n') == std::string::npos ? 0 : content.rfind('\n') + 1;
  if (keep == content.size()) return absl::OkStatus();
  if (::truncate(path.c_str(), static_cast<off_t>(keep)) != 0) return ErrnoStatus("truncate torn tail of", path, errno);
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    return ErrnoStatus("fsync", path, err);
  }
  ::close(fd);
  std::fprintf(stderr, "portcullis: %s: truncated an incomplete last line (torn write)\n", path.c_str());
  return absl::OkStatus();
}

// Appends `line` to the file open on `fd` and syncs it; on failure cuts the
// file back so that no partial line stays behind.
absl::Status AppendLineDurably(int fd, const std::string& line, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus("stat", path, errno);
  absl::Status s = WriteAll(fd, line, path);
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus("fsync", path, errno);
  if (!s.ok() && ::ftruncate(fd, st.st_size) != 0) {
    std::fprintf(stderr, "portcullis: cannot cut %s back after a failed write: %s\n", path.c_str(), std::strerror(errno));
  }
  return s;
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path, errno);
    }
    off += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

#define PORTCULLIS_AUDIT_RETURN(expr) \
  do {                                \
    absl::Status s_ = (expr);         \
    if (!s_.ok()) return s_;          \
  } while (0)

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
        PORTCULLIS_AUDIT_RETURN(file_->ReadLeaves(next_, std::min<uint64_t>(file_->size(), next_ + kLeafChunk), &chunk_));
      }
      if (chunk_[next_ - chunk_begin_] == leaf) {
        ++next_;
        return absl::OkStatus();
      }
    }
    if (!diverged_) {
      diverged_ = true;
      PORTCULLIS_AUDIT_RETURN(file_->Truncate(next_));
    }
    pending_.push_back(leaf);
    ++next_;
    if (pending_.size() >= kLeafChunk) return Flush();
    return absl::OkStatus();
  }
  absl::Status Finish() {
    if (!diverged_ && next_ < file_->size()) PORTCULLIS_AUDIT_RETURN(file_->Truncate(next_));
    PORTCULLIS_AUDIT_RETURN(Flush());
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
    std::fprintf(stderr, "portcullis: audit log %s: truncated an incomplete last record (torn write) at record %llu\n",
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
    std::fprintf(stderr, "portcullis: audit log %s: adopting unsigned records %llu to %llu (recorded as adopt_unsigned)\n",
                 options_.path.c_str(), static_cast<unsigned long long>(signed_size),
                 static_cast<unsigned long long>(size_ - 1));
    pending_.emplace_back(std::move(a), [](absl::StatusOr<uint64_t> index) {
      if (!index.ok()) {
        std::fprintf(stderr, "portcullis: could not record the adopted unsigned records: %s\n",
                     index.status().ToString().c_str());
      }
    });
  }
  // The witness thread first: the writer may sign (and queue a copy) at once.
  if (signer_ != nullptr && !options_.witness_dir.empty()) witness_thread_ = std::thread([this] { WitnessLoop(); });
  writer_ = std::thread([this] { WriterLoop(); });
}

FileAuditLog::~FileAuditLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  writer_.join();
  if (signer_ != nullptr && Health().ok()) {
    auto c = CheckpointNow();
    if (!c.ok()) std::fprintf(stderr, "portcullis: final audit checkpoint failed: %s\n", c.status().ToString().c_str());
  }
  if (witness_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(witness_mu_);
      witness_stopping_ = true;
    }
    witness_cv_.notify_all();
    witness_thread_.join();  // After copying what is queued.
  }
  ::close(fd_);
  if (checkpoint_fd_ >= 0) ::close(checkpoint_fd_);
}

void FileAuditLog::Append(AuditRecord record, Done done) {
  absl::Status failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_.ok() && !stopping_) {
      pending_.emplace_back(std::move(record), std::move(done));
      if (pending_.size() == 1) cv_.notify_one();
      return;
    }
    failed = failed_.ok() ? absl::UnavailableError("audit log is closing") : failed_;
  }
  done(failed);
}

absl::Status FileAuditLog::Health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

uint64_t FileAuditLog::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return size_;
}

uint64_t FileAuditLog::sync_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return syncs_;
}

uint64_t FileAuditLog::witness_failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return witness_failures_;
}

absl::Status FileAuditLog::Inject(absl::string_view op) const {
  return options_.fault_injector ? options_.fault_injector(op) : absl::OkStatus();
}

void FileAuditLog::WriterLoop() {
  std::vector<std::pair<AuditRecord, Done>> batch;
  for (;;) {
    bool checkpoint_due = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto wake = [this] { return stopping_ || !pending_.empty(); };
      const bool unsigned_records = signer_ != nullptr && size_ > (latest_ ? latest_->size : 0);
      if (unsigned_records) {
        cv_.wait_until(lock, last_checkpoint_time_ + options_.checkpoint_interval, wake);
      } else {
        cv_.wait(lock, wake);
      }
      if (pending_.empty() && stopping_) return;  // Drained; the destructor signs the last checkpoint.
      batch.swap(pending_);
      const uint64_t since = size_ - (latest_ ? latest_->size : 0);
      checkpoint_due = signer_ != nullptr && failed_.ok() &&
                       (since + batch.size() >= options_.checkpoint_every_records ||
                        std::chrono::steady_clock::now() >= last_checkpoint_time_ + options_.checkpoint_interval);
    }
    if (!batch.empty()) {
      absl::Status status = WriteBatch(&batch);
      for (auto& [record, done] : batch) {
        if (status.ok()) {
          done(record.index);
        } else {
          done(status);
        }
      }
      batch.clear();
    }
    if (checkpoint_due) {
      std::lock_guard<std::mutex> wlock(write_mu_);
      auto c = SignCheckpointLocked();
      if (!c.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        failed_ = c.status();
      }
    }
  }
}

absl::Status FileAuditLog::WriteBatch(std::vector<std::pair<AuditRecord, Done>>* batch) {
  std::lock_guard<std::mutex> wlock(write_mu_);
  uint64_t first_index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_.ok()) return failed_;
    first_index = size_;
  }
  std::string buffer;
  std::vector<merkle::Hash> leaves;
  std::vector<uint64_t> offsets;
  leaves.reserve(batch->size());
  std::string hash = last_hash_;
  uint64_t index = first_index;
  uint64_t end = file_end_;
  for (auto& [record, done] : *batch) {
    record.index = index;
    if (record.time_micros == 0) record.time_micros = NowMicros();
    record.replica_id = options_.replica_id;
    std::string line = SealLine(record, hash, &hash);
    leaves.push_back(merkle::LeafHash(line));
    if (index % kOffsetStride == 0) offsets.push_back(end);
    end += line.size() + 1;
    buffer.append(line);
    buffer.push_back('\n');
    ++index;
  }
  absl::Status status = Inject("write");
  if (status.ok()) status = WriteAll(fd_, buffer, options_.path);
  if (status.ok()) status = Inject("sync");
  if (status.ok() && ::fdatasync(fd_) != 0) status = ErrnoStatus("fdatasync", options_.path, errno);
  if (!status.ok()) {
    // Nothing in this batch is acknowledged, so none of it may stay: cut the
    // log back to its last acknowledged record. The failure is sticky: the
    // gateway refuses new work until an operator has fixed the disk and
    // restarted it.
    if (::ftruncate(fd_, static_cast<off_t>(file_end_)) != 0 || ::fdatasync(fd_) != 0) {
      status = absl::Status(status.code(), absl::StrCat(status.message(), "; and the unacknowledged records could not be "
                                                        "cut back (", std::strerror(errno), ")"));
    }
    std::lock_guard<std::mutex> lock(mu_);
    failed_ = status;
    return status;
  }
  // The records are durable and will be acknowledged. The leaf file is
  // derived data (rebuilt at start, synced at checkpoints): if it cannot be
  // written, later work is refused, but these records stand.
  absl::Status leaf_status = leaves_->Append(leaves);
  for (const auto& leaf : leaves) tree_->Append(leaf);
  last_hash_ = hash;
  file_end_ = end;
  std::lock_guard<std::mutex> lock(mu_);
  size_ = index;
  offsets_.insert(offsets_.end(), offsets.begin(), offsets.end());
  ++syncs_;
  if (!leaf_status.ok()) failed_ = leaf_status;
  return absl::OkStatus();
}

absl::StatusOr<Checkpoint> FileAuditLog::SignCheckpointLocked() {
  if (signer_ == nullptr) return absl::FailedPreconditionError("the audit log has no signing key configured");
  uint64_t size;
  {
    std::lock_guard<std::mutex> lock(mu_);
    size = size_;
    last_checkpoint_time_ = std::chrono::steady_clock::now();
    if (latest_ && latest_->size == size) return *latest_;
  }
  auto root = tree_->Root(size);
  if (!root.ok()) return root.status();
  absl::Status s = leaves_->Sync();
  if (!s.ok()) return s;
  absl::StatusOr<Checkpoint> signed_checkpoint = signer_->Sign(size, merkle::ToHex(*root), NowMicros());
  if (!signed_checkpoint.ok()) return signed_checkpoint.status();
  const Checkpoint& c = *signed_checkpoint;
  const std::string line = CheckpointToLine(c) + "\n";
  s = AppendLineDurably(checkpoint_fd_, line, options_.path + ".checkpoints");
  if (!s.ok()) return s;
  if (witness_thread_.joinable()) {
    std::lock_guard<std::mutex> lock(witness_mu_);
    witness_queue_.push_back(line);
    witness_cv_.notify_one();
  }
  std::lock_guard<std::mutex> lock(mu_);
  latest_ = c;
  return c;
}

// Copies checkpoints to the witness on a thread of its own: a slow or hung
// witness (another machine's share) never holds up an exchange.
void FileAuditLog::WitnessLoop() {
  const std::string wpath = options_.witness_dir + "/checkpoints.log";
  std::unique_lock<std::mutex> lock(witness_mu_);
  for (;;) {
    witness_cv_.wait(lock, [this] { return witness_stopping_ || !witness_queue_.empty(); });
    if (witness_queue_.empty()) return;  // Stopping, and everything is copied.
    std::string line = std::move(witness_queue_.front());
    witness_queue_.pop_front();
    lock.unlock();
    auto wfd = OpenForAppend(wpath);
    absl::Status ws = wfd.status();
    if (wfd.ok()) {
      ws = AppendLineDurably(*wfd, line, wpath);
      ::close(*wfd);
    }
    if (!ws.ok()) {
      std::fprintf(stderr, "portcullis: audit witness copy failed: %s\n", ws.ToString().c_str());
      std::lock_guard<std::mutex> mlock(mu_);
      ++witness_failures_;
    }
    lock.lock();
  }
}

absl::StatusOr<Checkpoint> FileAuditLog::CheckpointNow() {
  std::lock_guard<std::mutex> wlock(write_mu_);
  return SignCheckpointLocked();
}

std::optional<Checkpoint> FileAuditLog::LatestCheckpoint() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_;
}

absl::StatusOr<std::vector<std::string>> FileAuditLog::ReadLines(uint64_t begin, uint64_t max_count) const {
  // Before the size check: a failing disk fails every read alike.
  if (absl::Status fault = Inject("read"); !fault.ok()) return fault;
  uint64_t start_offset, end;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (begin >= size_) return std::vector<std::string>{};
    end = std::min(size_, begin + max_count);
    start_offset = offsets_[begin / kOffsetStride];
  }
  std::ifstream in(options_.path, std::ios::binary);
  if (!in) return absl::UnavailableError(absl::StrCat("cannot read audit log ", options_.path));
  in.seekg(static_cast<std::streamoff>(start_offset));
  std::vector<std::string> out;
  std::string line;
  for (uint64_t i = begin - begin % kOffsetStride; i < end && std::getline(in, line); ++i) {
    if (i >= begin) out.push_back(line);
  }
  if (out.size() != end - begin) return absl::DataLossError("audit log is shorter than its index");
  return out;
}

namespace {
std::vector<std::string> ToHexList(const std::vector<merkle::Hash>& hashes) {
  std::vector<std::string> out;
  out.reserve(hashes.size());
  for (const auto& h : hashes) out.push_back(merkle::ToHex(h));
  return out;
}
}  // namespace

absl::StatusOr<std::vector<std::string>> FileAuditLog::InclusionProof(uint64_t index, uint64_t tree_size) const {
  if (absl::Status fault = Inject("read"); !fault.ok()) return fault;
  if (tree_size > size()) return absl::OutOfRangeError(absl::StrCat("tree_size ", tree_size, " exceeds the log"));
  auto proof = tree_->InclusionProof(index, tree_size);
  if (!proof.ok()) return proof.status();
  return ToHexList(*proof);
}

absl::StatusOr<std::vector<std::string>> FileAuditLog::ConsistencyProof(uint64_t old_size, uint64_t new_size) const {
  if (absl::Status fault = Inject("read"); !fault.ok()) return fault;
  if (new_size > size()) return absl::OutOfRangeError(absl::StrCat("new_size ", new_size, " exceeds the log"));
  auto proof = tree_->ConsistencyProof(old_size, new_size);
  if (!proof.ok()) return proof.status();
  return ToHexList(*proof);
}

}  // namespace portcullis
