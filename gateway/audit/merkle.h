// RFC 6962 / RFC 9162 Merkle tree over the audit log's records: leaf and node
// hashes, roots of any prefix, inclusion and consistency proofs, and their
// verification (docs/audit-format.md).
//
// MerkleTree keeps memory small: one cached 32-byte node per complete subtree
// of 2^cache_level leaves or more (about 2n / 2^cache_level nodes); smaller
// subtrees are recomputed from the LeafSource (at most 2^cache_level leaf
// reads). Thread-safe: one appender, many concurrent readers.
#ifndef PORTCULLIS_GATEWAY_AUDIT_MERKLE_H_
#define PORTCULLIS_GATEWAY_AUDIT_MERKLE_H_

#include <array>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace portcullis::merkle {

using Hash = std::array<uint8_t, 32>;

Hash LeafHash(absl::string_view leaf_bytes);         // SHA-256(0x00 || bytes)
Hash NodeHash(const Hash& left, const Hash& right);  // SHA-256(0x01 || left || right)
Hash EmptyRoot();                                    // SHA-256("")
std::string ToHex(const Hash& h);                    // 64 lower-case hex digits
bool FromHex(absl::string_view hex, Hash* out);      // false unless exactly 64 hex digits
// A proof as the AuditLog interface gives it: hex hashes (or the error).
absl::StatusOr<std::vector<std::string>> HexProof(absl::StatusOr<std::vector<Hash>> proof);

// Random-access source of leaf hashes; safe for concurrent reads.
class LeafSource {
 public:
  virtual ~LeafSource() = default;
  // Fills *out with the leaf hashes [begin, end) (replacing its content).
  virtual absl::Status ReadLeaves(uint64_t begin, uint64_t end, std::vector<Hash>* out) const = 0;
};

class MerkleTree {
 public:
  // `leaves` must outlive the tree and hold every Append()ed leaf.
  explicit MerkleTree(const LeafSource* leaves, int cache_level = 8);
  // Records that leaf number size() is appended (it must already be
  // readable from the LeafSource).
  void Append(const Hash& leaf);
  uint64_t size() const;
  // MTH of the first tree_size leaves (tree_size <= size()).
  absl::StatusOr<Hash> Root(uint64_t tree_size) const;
  // RFC 6962 s2.1.1 PATH(index, D[0:tree_size]); index < tree_size <= size().
  absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t tree_size) const;
  // RFC 6962 s2.1.2 PROOF(old_size, D[0:new_size]); 0 < old_size <= new_size <= size().
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size) const;
  // Cached nodes (for tests of the memory bound).
  size_t cached_nodes() const;

 private:
  absl::StatusOr<Hash> Subtree(uint64_t begin, uint64_t end) const;  // MTH(D[begin:end]), caller holds lock.
  // Leaves [begin, end) within one block: from pending_ for the incomplete
  // last block, else from the LeafSource. Caller holds lock.
  absl::Status ReadLeaves(uint64_t begin, uint64_t end, std::vector<Hash>* out) const;
  absl::Status Path(uint64_t index, uint64_t begin, uint64_t end, std::vector<Hash>* out) const;
  absl::Status SubProof(uint64_t m, uint64_t begin, uint64_t end, bool complete, std::vector<Hash>* out) const;

  const LeafSource* leaves_;
  const int cache_level_;
  mutable std::shared_mutex mu_;
  uint64_t size_ = 0;
  // levels_[k][j] = hash of leaves [j * 2^(cache_level+k), (j+1) * 2^(cache_level+k)).
  std::vector<std::vector<Hash>> levels_;
  std::vector<Hash> pending_;  // Leaves of the current incomplete bottom cache block.
};

// RFC 9162 s2.1.3.2 and s2.1.4.2.
bool VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash, const std::vector<Hash>& proof,
                     const Hash& root);
bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root, const Hash& new_root,
                       const std::vector<Hash>& proof);

// A LeafSource in memory (tests, small tools).
class MemoryLeafSource final : public LeafSource {
 public:
  void Add(const Hash& leaf) { leaves_.push_back(leaf); }
  uint64_t size() const { return leaves_.size(); }
  absl::Status ReadLeaves(uint64_t begin, uint64_t end, std::vector<Hash>* out) const override;

 private:
  std::vector<Hash> leaves_;
};

}  // namespace portcullis::merkle

#endif  // PORTCULLIS_GATEWAY_AUDIT_MERKLE_H_
