#include "ocm/datapath/flat_index.hpp"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

#include "ocm/datapath/pkt.hpp"

namespace ocm::datapath {
namespace {

struct IdentityHash {
  uint64_t operator()(uint32_t k) const noexcept { return k; }
};
// Every key in one bucket: the worst case for probing and backward-shift deletion.
struct ConstantHash {
  uint64_t operator()(uint32_t) const noexcept { return 5; }
};
struct PeerHash {
  uint64_t operator()(const Peer& p) const noexcept { return hash_peer(p, 42); }
};

TEST(FlatIndexTest, SizingIsHalfFullAtMost) {
  FlatIndex<uint32_t, uint32_t, IdentityHash> idx(100, IdentityHash{});
  EXPECT_EQ(idx.max_entries(), 100u);
  EXPECT_EQ(idx.bucket_count(), 256u);
  FlatIndex<uint32_t, uint32_t, IdentityHash> one(0, IdentityHash{});
  EXPECT_EQ(one.max_entries(), 1u);
  EXPECT_GE(one.bucket_count(), 2u);
}

TEST(FlatIndexTest, InsertFindErase) {
  FlatIndex<uint32_t, uint32_t, IdentityHash> idx(4, IdentityHash{});
  EXPECT_EQ(idx.find(1), nullptr);
  EXPECT_TRUE(idx.insert(1, 10));
  EXPECT_FALSE(idx.insert(1, 11)) << "duplicate";
  EXPECT_TRUE(idx.insert(9, 90));  // same bucket as 1 (8 buckets)
  EXPECT_TRUE(idx.insert(2, 20));
  EXPECT_TRUE(idx.insert(3, 30));
  EXPECT_FALSE(idx.insert(4, 40)) << "full at max_entries";
  ASSERT_NE(idx.find(9), nullptr);
  EXPECT_EQ(*idx.find(9), 90u);
  EXPECT_TRUE(idx.erase(1));
  EXPECT_FALSE(idx.erase(1));
  ASSERT_NE(idx.find(9), nullptr) << "backward shift keeps the chain reachable";
  EXPECT_EQ(*idx.find(9), 90u);
  EXPECT_EQ(idx.size(), 3u);
  EXPECT_TRUE(idx.insert(4, 40));
}

// Differential test against std::unordered_map (style.md rule 12) with random operations.
template <typename Hash>
void run_differential(Hash hash, uint32_t max_entries, uint32_t key_space, int ops, uint32_t seed) {
  FlatIndex<uint32_t, uint32_t, Hash> idx(max_entries, hash);
  std::unordered_map<uint32_t, uint32_t> ref;
  std::mt19937 rng(seed);
  for (int i = 0; i < ops; ++i) {
    uint32_t key = rng() % key_space;
    switch (rng() % 3) {
      case 0: {
        bool expect = ref.size() < max_entries && ref.count(key) == 0;
        ASSERT_EQ(idx.insert(key, key * 7), expect) << "op " << i;
        if (expect) {
          ref[key] = key * 7;
        }
        break;
      }
      case 1:
        ASSERT_EQ(idx.erase(key), ref.erase(key) == 1) << "op " << i;
        break;
      default: {
        const uint32_t* v = idx.find(key);
        auto it = ref.find(key);
        ASSERT_EQ(v != nullptr, it != ref.end()) << "op " << i;
        if (v != nullptr) {
          ASSERT_EQ(*v, it->second);
        }
      }
    }
    ASSERT_EQ(idx.size(), ref.size());
  }
  for (uint32_t k = 0; k < key_space; ++k) {
    ASSERT_EQ(idx.find(k) != nullptr, ref.count(k) == 1) << k;
  }
}

TEST(FlatIndexTest, DifferentialIdentityHash) {
  run_differential(IdentityHash{}, 64, 300, 20000, 1);
}
TEST(FlatIndexTest, DifferentialConstantHash) {
  run_differential(ConstantHash{}, 16, 40, 5000, 2);
}
TEST(FlatIndexTest, DifferentialWrapAround) {
  // Keys hashing to the last buckets make chains wrap past the end of the array.
  struct HighHash {
    uint64_t operator()(uint32_t k) const noexcept { return 0xfffffff0u + (k % 4); }
  };
  run_differential(HighHash{}, 8, 30, 5000, 3);
}

TEST(FlatIndexTest, PeerKeys) {
  FlatIndex<Peer, uint32_t, PeerHash> idx(1000, PeerHash{});
  for (uint32_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(idx.insert(Peer::v4(0x0A000000 + i / 10, static_cast<uint16_t>(i)), i));
  }
  for (uint32_t i = 0; i < 1000; ++i) {
    const uint32_t* v = idx.find(Peer::v4(0x0A000000 + i / 10, static_cast<uint16_t>(i)));
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(*v, i);
  }
  EXPECT_EQ(idx.find(Peer::v4(0x0A000005, 1)), nullptr);
}

}  // namespace
}  // namespace ocm::datapath
