#include "gateway/audit/merkle.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "util/hex.h"
#include "gateway/common/digest.h"

namespace portcullis::merkle {
namespace {

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

// Largest power of two strictly less than n (n >= 2).
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

int Log2(uint64_t n) {
  int l = 0;
  while ((uint64_t{1} << l) < n) ++l;
  return l;
}

// Root of a perfect tree over `leaves` (size a power of two).
Hash PerfectRoot(std::vector<Hash> level) {
  while (level.size() > 1) {
    for (size_t i = 0; i < level.size() / 2; ++i) level[i] = NodeHash(level[2 * i], level[2 * i + 1]);
    level.resize(level.size() / 2);
  }
  return level[0];
}

}  // namespace

Hash LeafHash(absl::string_view leaf_bytes) {
  Hash h;
  Sha256Into(absl::string_view("\0", 1), leaf_bytes, h.data());
  return h;
}

Hash NodeHash(const Hash& left, const Hash& right) {
  char buf[65];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  Hash h;
  Sha256Into(absl::string_view(buf, sizeof buf), absl::string_view(), h.data());
  return h;
}

Hash EmptyRoot() {
  Hash h;
  SHA256(nullptr, 0, h.data());
  return h;
}

absl::StatusOr<std::vector<std::string>> HexProof(absl::StatusOr<std::vector<Hash>> proof) {
  if (!proof.ok()) return proof.status();
  std::vector<std::string> out;
  out.reserve(proof->size());
  for (const auto& h : *proof) out.push_back(ToHex(h));
  return out;
}

std::string ToHex(const Hash& h) { return HexEncode(h.data(), h.size()); }

bool FromHex(absl::string_view hex, Hash* out) {
  if (hex.size() != 64) return false;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < 32; ++i) {
    int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

absl::Status MemoryLeafSource::ReadLeaves(uint64_t begin, uint64_t end, std::vector<Hash>* out) const {
  if (begin > end || end > leaves_.size()) {
    return absl::OutOfRangeError(absl::StrCat("leaves [", begin, ", ", end, ") beyond ", leaves_.size()));
  }
  out->assign(leaves_.begin() + static_cast<ptrdiff_t>(begin), leaves_.begin() + static_cast<ptrdiff_t>(end));
  return absl::OkStatus();
}

MerkleTree::MerkleTree(const LeafSource* leaves, int cache_level) : leaves_(leaves), cache_level_(cache_level) {}

void MerkleTree::Append(const Hash& leaf) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  ++size_;
  pending_.push_back(leaf);
  if (pending_.size() < (uint64_t{1} << cache_level_)) return;
  Hash h = PerfectRoot(std::move(pending_));
  pending_.clear();
  for (size_t k = 0;; ++k) {
    if (levels_.size() <= k) levels_.emplace_back();
    levels_[k].push_back(h);
    if (levels_[k].size() % 2 != 0) break;
    h = NodeHash(levels_[k][levels_[k].size() - 2], levels_[k].back());
  }
}

uint64_t MerkleTree::size() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return size_;
}

size_t MerkleTree::cached_nodes() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  size_t n = 0;
  for (const auto& level : levels_) n += level.size();
  return n;
}

absl::Status MerkleTree::ReadLeaves(uint64_t begin, uint64_t end, std::vector<Hash>* out) const {
  const uint64_t pending_begin = size_ - pending_.size();
  if (begin >= pending_begin) {  // The incomplete last block is in memory: no read.
    out->assign(pending_.begin() + static_cast<ptrdiff_t>(begin - pending_begin),
                pending_.begin() + static_cast<ptrdiff_t>(end - pending_begin));
    return absl::OkStatus();
  }
  return leaves_->ReadLeaves(begin, end, out);
}

absl::StatusOr<Hash> MerkleTree::Subtree(uint64_t begin, uint64_t end) const {
  const uint64_t n = end - begin;
  if (n == 0) return EmptyRoot();
  if (IsPowerOfTwo(n) && begin % n == 0) {
    const int level = Log2(n) - cache_level_;
    if (level >= 0) {
      const uint64_t j = begin / n;
      if (static_cast<size_t>(level) < levels_.size() && j < levels_[level].size()) return levels_[level][j];
    } else {
      std::vector<Hash> leaves;
      absl::Status s = ReadLeaves(begin, end, &leaves);
      if (!s.ok()) return s;
      if (leaves.size() != n) return absl::DataLossError("leaf source returned a short read");
      return PerfectRoot(std::move(leaves));
    }
  }
  if (n == 1) {
    std::vector<Hash> leaves;
    absl::Status s = ReadLeaves(begin, end, &leaves);
    if (!s.ok()) return s;
    return leaves.at(0);
  }
  const uint64_t k = SplitPoint(n);
  auto left = Subtree(begin, begin + k);
  if (!left.ok()) return left;
  auto right = Subtree(begin + k, end);
  if (!right.ok()) return right;
  return NodeHash(*left, *right);
}

absl::StatusOr<Hash> MerkleTree::Root(uint64_t tree_size) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (tree_size > size_) {
    return absl::OutOfRangeError(absl::StrCat("tree_size ", tree_size, " exceeds the tree's ", size_, " leaves"));
  }
  return Subtree(0, tree_size);
}

absl::Status MerkleTree::Path(uint64_t index, uint64_t begin, uint64_t end, std::vector<Hash>* out) const {
  const uint64_t n = end - begin;
  if (n <= 1) return absl::OkStatus();
  const uint64_t k = SplitPoint(n);
  absl::StatusOr<Hash> sibling;
  absl::Status s;
  if (index < k) {
    s = Path(index, begin, begin + k, out);
    sibling = Subtree(begin + k, end);
  } else {
    s = Path(index - k, begin + k, end, out);
    sibling = Subtree(begin, begin + k);
  }
  if (!s.ok()) return s;
  if (!sibling.ok()) return sibling.status();
  out->push_back(*sibling);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Hash>> MerkleTree::InclusionProof(uint64_t index, uint64_t tree_size) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (tree_size > size_) {
    return absl::OutOfRangeError(absl::StrCat("tree_size ", tree_size, " exceeds the tree's ", size_, " leaves"));
  }
  if (index >= tree_size) {
    return absl::InvalidArgumentError(absl::StrCat("index ", index, " is not below tree_size ", tree_size));
  }
  std::vector<Hash> out;
  absl::Status s = Path(index, 0, tree_size, &out);
  if (!s.ok()) return s;
  return out;
}

absl::Status MerkleTree::SubProof(uint64_t m, uint64_t begin, uint64_t end, bool complete,
                                  std::vector<Hash>* out) const {
  const uint64_t n = end - begin;
  if (m == n) {
    if (complete) return absl::OkStatus();
    auto h = Subtree(begin, end);
    if (!h.ok()) return h.status();
    out->push_back(*h);
    return absl::OkStatus();
  }
  const uint64_t k = SplitPoint(n);
  absl::Status s;
  absl::StatusOr<Hash> other;
  if (m <= k) {
    s = SubProof(m, begin, begin + k, complete, out);
    other = Subtree(begin + k, end);
  } else {
    s = SubProof(m - k, begin + k, end, false, out);
    other = Subtree(begin, begin + k);
  }
  if (!s.ok()) return s;
  if (!other.ok()) return other.status();
  out->push_back(*other);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Hash>> MerkleTree::ConsistencyProof(uint64_t old_size, uint64_t new_size) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (new_size > size_) {
    return absl::OutOfRangeError(absl::StrCat("new_size ", new_size, " exceeds the tree's ", size_, " leaves"));
  }
  if (old_size == 0 || old_size > new_size) {
    return absl::InvalidArgumentError(absl::StrCat("old_size ", old_size, " must be between 1 and new_size ", new_size));
  }
  std::vector<Hash> out;
  if (old_size == new_size) return out;
  absl::Status s = SubProof(old_size, 0, new_size, true, &out);
  if (!s.ok()) return s;
  return out;
}

bool VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash, const std::vector<Hash>& proof,
                     const Hash& root) {
  if (index >= tree_size) return false;
  uint64_t fn = index, sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root, const Hash& new_root,
                       const std::vector<Hash>& proof) {
  if (old_size == 0 || old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (proof.empty()) return false;
  std::vector<Hash> path;
  if (IsPowerOfTwo(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace portcullis::merkle
