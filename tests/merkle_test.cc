// RFC 6962 / 9162 Merkle tree: known roots from Certificate Transparency's
// test vectors, and every root and proof for small trees checked against a
// direct transcription of the RFC's recursive definitions.
#include "gateway/audit/merkle.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portcullis::merkle {
namespace {

// The eight leaves of RFC 6962's reference test data (CT's merkle_tree_test).
std::vector<std::string> CtLeaves() {
  return {std::string(),
          std::string("\x00", 1),
          std::string("\x10", 1),
          std::string("\x20\x21", 2),
          std::string("\x30\x31", 2),
          std::string("\x40\x41\x42\x43", 4),
          std::string("\x50\x51\x52\x53\x54\x55\x56\x57", 8),
          std::string("\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16)};
}

// MTH, PATH and PROOF as RFC 6962 s2.1 writes them.
uint64_t Split(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash NaiveRoot(const std::vector<Hash>& d, uint64_t b, uint64_t e) {
  if (e - b == 1) return d[b];
  const uint64_t k = Split(e - b);
  return NodeHash(NaiveRoot(d, b, b + k), NaiveRoot(d, b + k, e));
}

void NaivePath(const std::vector<Hash>& d, uint64_t m, uint64_t b, uint64_t e, std::vector<Hash>* out) {
  if (e - b == 1) return;
  const uint64_t k = Split(e - b);
  if (m < k) {
    NaivePath(d, m, b, b + k, out);
    out->push_back(NaiveRoot(d, b + k, e));
  } else {
    NaivePath(d, m - k, b + k, e, out);
    out->push_back(NaiveRoot(d, b, b + k));
  }
}

void NaiveSubProof(const std::vector<Hash>& d, uint64_t m, uint64_t b, uint64_t e, bool complete,
                   std::vector<Hash>* out) {
  const uint64_t n = e - b;
  if (m == n) {
    if (!complete) out->push_back(NaiveRoot(d, b, e));
    return;
  }
  const uint64_t k = Split(n);
  if (m <= k) {
    NaiveSubProof(d, m, b, b + k, complete, out);
    out->push_back(NaiveRoot(d, b + k, e));
  } else {
    NaiveSubProof(d, m - k, b + k, e, false, out);
    out->push_back(NaiveRoot(d, b, b + k));
  }
}

std::vector<Hash> LeafHashes(int n) {
  std::vector<Hash> out;
  for (int i = 0; i < n; ++i) out.push_back(LeafHash("record " + std::to_string(i)));
  return out;
}

TEST(Merkle, EmptyTreeAndCtReferenceRoots) {
  EXPECT_EQ(ToHex(EmptyRoot()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::vector<std::string> roots = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  for (int cache_level : {0, 1, 2, 8}) {
    MemoryLeafSource src;
    MerkleTree tree(&src, cache_level);
    for (const auto& leaf : CtLeaves()) {
      src.Add(LeafHash(leaf));
      tree.Append(LeafHash(leaf));
    }
    for (uint64_t n = 1; n <= 8; ++n) {
      auto root = tree.Root(n);
      ASSERT_TRUE(root.ok()) << root.status();
      EXPECT_EQ(ToHex(*root), roots[n - 1]) << "size " << n << " cache_level " << cache_level;
    }
  }
}

TEST(Merkle, HexRoundTripRejectsWrongLengthAndDigits) {
  const Hash h = LeafHash("x");
  Hash back;
  ASSERT_TRUE(FromHex(ToHex(h), &back));
  EXPECT_EQ(back, h);
  EXPECT_FALSE(FromHex(ToHex(h).substr(1), &back));
  EXPECT_FALSE(FromHex(std::string(64, 'g'), &back));
  EXPECT_FALSE(FromHex(ToHex(h) + "00", &back));
}

// Every root, inclusion proof and consistency proof of every tree up to 70
// leaves equals the RFC's definition and verifies; with a small cache level
// the cached-subtree path is exercised at many boundaries.
class MerkleAgainstRfc : public ::testing::TestWithParam<int> {};

TEST_P(MerkleAgainstRfc, RootsAndProofsMatchDefinitionAndVerify) {
  const int kMax = 70;
  const std::vector<Hash> d = LeafHashes(kMax);
  MemoryLeafSource src;
  MerkleTree tree(&src, GetParam());
  for (int n = 1; n <= kMax; ++n) {
    src.Add(d[n - 1]);
    tree.Append(d[n - 1]);
    ASSERT_EQ(tree.size(), static_cast<uint64_t>(n));
    const Hash root = NaiveRoot(d, 0, n);
    ASSERT_EQ(*tree.Root(n), root) << "size " << n;
    for (int i = 0; i < n; ++i) {
      std::vector<Hash> want;
      NaivePath(d, i, 0, n, &want);
      auto got = tree.InclusionProof(i, n);
      ASSERT_TRUE(got.ok()) << got.status();
      ASSERT_EQ(*got, want) << "inclusion " << i << " in " << n;
      EXPECT_TRUE(VerifyInclusion(i, n, d[i], *got, root));
      EXPECT_FALSE(VerifyInclusion(i, n, d[(i + 1) % kMax], *got, root)) << "wrong leaf accepted";
      if (!got->empty()) {
        auto bad = *got;
        bad.back()[0] ^= 1;
        EXPECT_FALSE(VerifyInclusion(i, n, d[i], bad, root)) << "altered proof accepted";
      }
    }
    for (int m = 1; m <= n; ++m) {
      std::vector<Hash> want;
      if (m < n) NaiveSubProof(d, m, 0, n, true, &want);
      auto got = tree.ConsistencyProof(m, n);
      ASSERT_TRUE(got.ok()) << got.status();
      ASSERT_EQ(*got, want) << "consistency " << m << " -> " << n;
      const Hash old_root = NaiveRoot(d, 0, m);
      EXPECT_TRUE(VerifyConsistency(m, n, old_root, root, *got)) << m << " -> " << n;
      if (m < n) {
        Hash forged = old_root;
        forged[5] ^= 0x40;
        EXPECT_FALSE(VerifyConsistency(m, n, forged, root, *got)) << "forged old root accepted";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(CacheLevels, MerkleAgainstRfc, ::testing::Values(0, 2, 3, 8));

TEST(Merkle, RefusesOutOfRangeRequests) {
  MemoryLeafSource src;
  MerkleTree tree(&src, 2);
  for (const Hash& h : LeafHashes(5)) {
    src.Add(h);
    tree.Append(h);
  }
  EXPECT_FALSE(tree.Root(6).ok());
  EXPECT_FALSE(tree.InclusionProof(5, 5).ok());
  EXPECT_FALSE(tree.InclusionProof(0, 6).ok());
  EXPECT_FALSE(tree.ConsistencyProof(0, 5).ok());
  EXPECT_FALSE(tree.ConsistencyProof(4, 3).ok());
  EXPECT_FALSE(tree.ConsistencyProof(3, 6).ok());
}

TEST(Merkle, CacheHoldsAboutTwoNodesPerBlock) {
  MemoryLeafSource src;
  MerkleTree tree(&src, 4);  // Blocks of 16 leaves.
  for (const Hash& h : LeafHashes(1600)) {
    src.Add(h);
    tree.Append(h);
  }
  // 100 blocks: 100 + 50 + 25 + 12 + 6 + 3 + 1 = 197 cached nodes, never per-leaf.
  EXPECT_LE(tree.cached_nodes(), 200u);
  EXPECT_GE(tree.cached_nodes(), 100u);
}

// Counts reads, so tests can see what the tree serves from memory.
class CountingLeafSource final : public LeafSource {
 public:
  explicit CountingLeafSource(const MemoryLeafSource* inner) : inner_(inner) {}
  absl::Status ReadLeaves(uint64_t begin, uint64_t end, std::vector<Hash>* out) const override {
    ++reads;
    return inner_->ReadLeaves(begin, end, out);
  }
  mutable int reads = 0;

 private:
  const MemoryLeafSource* inner_;
};

TEST(Merkle, TheRootOfTheWholeTreeNeedsNoLeafReads) {
  MemoryLeafSource src;
  CountingLeafSource counting(&src);
  MerkleTree tree(&counting, 4);
  const std::vector<Hash> d = LeafHashes(16 * 10 + 5);  // Ten cached blocks and an incomplete one.
  for (const Hash& h : d) {
    src.Add(h);
    tree.Append(h);
  }
  ASSERT_EQ(*tree.Root(d.size()), NaiveRoot(d, 0, d.size()));
  EXPECT_EQ(counting.reads, 0) << "the incomplete last block was read back instead of served from memory";
  std::vector<Hash> want;
  NaivePath(d, 162, 0, d.size(), &want);
  EXPECT_EQ(*tree.InclusionProof(162, d.size()), want);
  EXPECT_EQ(counting.reads, 0);
}

}  // namespace
}  // namespace portcullis::merkle
