// A file of fixed 32-byte Merkle leaf hashes, one per audit record: the
// LeafSource of the audit log's MerkleTree. Derived data: the audit log
// rebuilds it from the records when it disagrees.
//
// One writer (Append/Sync/Truncate), many concurrent readers (ReadLeaves uses
// pread). Errors name the path and the system error.
#ifndef PORTCULLIS_GATEWAY_AUDIT_LEAF_FILE_H_
#define PORTCULLIS_GATEWAY_AUDIT_LEAF_FILE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "gateway/audit/merkle.h"

namespace portcullis {

class LeafFile final : public merkle::LeafSource {
 public:
  // Opens or creates `path`; a torn tail (size not a multiple of 32) is cut off.
  static absl::StatusOr<std::unique_ptr<LeafFile>> Open(const std::string& path);
  ~LeafFile() override;

  uint64_t size() const { return size_.load(); }                  // Leaves.
  absl::Status Append(const std::vector<merkle::Hash>& leaves);  // One write(2), no fsync.
  absl::Status Sync();                                            // fdatasync(2).
  absl::Status Truncate(uint64_t leaves);                         // Drops leaves >= `leaves`.
  absl::Status ReadLeaves(uint64_t begin, uint64_t end, std::vector<merkle::Hash>* out) const override;

 private:
  LeafFile(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  const std::string path_;
  const int fd_;
  std::atomic<uint64_t> size_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_AUDIT_LEAF_FILE_H_
