#include "ocm/datapath/pkt.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace ocm::datapath {
namespace {

TEST(IpAddrTest, V4IsMappedAndRoundTrips) {
  IpAddr a = IpAddr::v4(0xC0A80001);
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.v4_host(), 0xC0A80001u);
  EXPECT_EQ(a.bytes[10], 0xff);
  EXPECT_EQ(a.bytes[11], 0xff);
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_FALSE(IpAddr::v6(v6).is_v4());
  EXPECT_NE(IpAddr::v6(v6), a);
}

TEST(PeerTest, EqualityAndHash) {
  Peer a = Peer::v4(0x01020304, 443);
  Peer b = Peer::v4(0x01020304, 443);
  Peer c = Peer::v4(0x01020304, 444);
  Peer d = Peer::v4(0x01020305, 443);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  EXPECT_EQ(hash_peer(a, 7), hash_peer(b, 7));
  EXPECT_NE(hash_peer(a, 7), hash_peer(c, 7));
  EXPECT_NE(hash_peer(a, 7), hash_peer(d, 7));
  EXPECT_NE(hash_peer(a, 7), hash_peer(a, 8)) << "the seed must matter";
  EXPECT_NE(hash_ip(a.addr, 7), hash_ip(d.addr, 7));
}

TEST(PeerTest, HashSpreadsSequentialPorts) {
  // Low bits select the bucket: 4096 consecutive ports from one IP should fill most of 4096
  // buckets (a random function fills ~63%).
  std::set<uint64_t> buckets;
  for (uint16_t port = 1000; port < 1000 + 4096; ++port) {
    buckets.insert(hash_peer(Peer::v4(0x0A000001, port), 99) & 4095);
  }
  EXPECT_GT(buckets.size(), 2400u);
}

class PktBufTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_.assign(256, 0);
    pkt_.attach(storage_.data(), 256);
  }
  std::vector<uint8_t> storage_;
  PktBuf pkt_;
};

TEST_F(PktBufTest, FreshPacketIsEmptyAtHeadroom) {
  EXPECT_EQ(pkt_.len(), 0);
  EXPECT_EQ(pkt_.headroom(), kHeadroom);
  EXPECT_EQ(pkt_.tailroom(), 256u - kHeadroom);
  EXPECT_EQ(pkt_.data(), storage_.data() + kHeadroom);
  EXPECT_EQ(pkt_.meta.slot, kNoSlot);
  EXPECT_EQ(pkt_.meta.drop, DropReason::kNone);
}

TEST_F(PktBufTest, PrependAdjAppendStayInBounds) {
  ASSERT_TRUE(pkt_.assign(std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(pkt_.prepend(kHeadroom + 1), nullptr);
  EXPECT_EQ(pkt_.len(), 3);
  uint8_t* front = pkt_.prepend(22);
  ASSERT_NE(front, nullptr);
  EXPECT_EQ(pkt_.len(), 25);
  EXPECT_EQ(pkt_.headroom(), kHeadroom - 22);
  EXPECT_EQ(pkt_.adj(26), nullptr);
  ASSERT_NE(pkt_.adj(22), nullptr);
  EXPECT_EQ(pkt_.data()[0], 1);
  EXPECT_EQ(pkt_.append(pkt_.tailroom() + 1), nullptr);
  uint8_t* tail = pkt_.append(16);
  ASSERT_NE(tail, nullptr);
  EXPECT_EQ(tail, pkt_.data() + 3);
  EXPECT_EQ(pkt_.len(), 19);
  EXPECT_EQ(pkt_.tailroom(), 256u - kHeadroom - 19);
}

struct WindowCase {
  const char* name;
  uint32_t offset;
  uint32_t len;
  bool ok;
};

class PktBufWindowTest : public ::testing::TestWithParam<WindowCase> {};

TEST_P(PktBufWindowTest, SetWindow) {
  std::vector<uint8_t> storage(128);
  PktBuf p;
  p.attach(storage.data(), 128);
  const WindowCase& c = GetParam();
  EXPECT_EQ(p.set_window(c.offset, c.len), c.ok);
  if (c.ok) {
    EXPECT_EQ(p.headroom(), c.offset);
    EXPECT_EQ(p.len(), c.len);
  } else {
    EXPECT_EQ(p.headroom(), kHeadroom);
    EXPECT_EQ(p.len(), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, PktBufWindowTest,
                         ::testing::Values(WindowCase{"whole", 0, 128, true}, WindowCase{"empty_at_end", 128, 0, true},
                                           WindowCase{"middle", 10, 20, true},
                                           WindowCase{"offset_beyond", 129, 0, false},
                                           WindowCase{"len_beyond", 100, 29, false},
                                           WindowCase{"overflowing_sum", 1, 0xffffffffu, false}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(PktBufTest, SetWindowByPointerRejectsForeignPointers) {
  uint8_t other[4];
  EXPECT_FALSE(pkt_.set_window_at(other, 1));
  EXPECT_TRUE(pkt_.set_window_at(storage_.data() + 5, 7));
  EXPECT_EQ(pkt_.headroom(), 5);
  EXPECT_EQ(pkt_.len(), 7);
}

TEST_F(PktBufTest, AssignRejectsTooBig) {
  EXPECT_FALSE(pkt_.assign(std::vector<uint8_t>(256 - kHeadroom + 1)));
  EXPECT_TRUE(pkt_.assign(std::vector<uint8_t>(256 - kHeadroom)));
  EXPECT_EQ(pkt_.tailroom(), 0u);
}

TEST(PktPoolTest, AllocFreeAndAccounting) {
  PktPool pool(8, 512);
  EXPECT_EQ(pool.capacity(), 8u);
  EXPECT_EQ(pool.available(), 8u);
  std::set<uint8_t*> buffers;
  std::vector<PktBuf*> held;
  for (int i = 0; i < 8; ++i) {
    PktBuf* p = pool.alloc();
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(pool.owns(p));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p->buffer()) % 64, 0u) << "buffers are cache-aligned";
    EXPECT_EQ(p->capacity(), 512u);
    buffers.insert(p->buffer());
    held.push_back(p);
  }
  EXPECT_EQ(buffers.size(), 8u);
  EXPECT_EQ(pool.alloc(), nullptr);
  pool.free_bulk(held.data(), 8);
  EXPECT_EQ(pool.available(), 8u);
}

TEST(PktPoolTest, AllocBulkIsAllOrNothing) {
  PktPool pool(4);
  PktBuf* out[5] = {};
  EXPECT_FALSE(pool.alloc_bulk(out, 5));
  EXPECT_EQ(pool.available(), 4u);
  EXPECT_TRUE(pool.alloc_bulk(out, 3));
  EXPECT_EQ(pool.available(), 1u);
  pool.free_bulk(out, 3);
}

TEST(PktPoolTest, AllocResetsState) {
  PktPool pool(1);
  PktBuf* p = pool.alloc();
  ASSERT_TRUE(p->assign(std::vector<uint8_t>{1, 2, 3}));
  p->meta.slot = 5;
  p->meta.drop = DropReason::kReplay;
  p->adj(1);
  pool.free(p);
  p = pool.alloc();
  EXPECT_EQ(p->len(), 0);
  EXPECT_EQ(p->headroom(), kHeadroom);
  EXPECT_EQ(p->meta.slot, kNoSlot);
  EXPECT_EQ(p->meta.drop, DropReason::kNone);
  pool.free(p);
}

TEST(PktPoolDeathTest, DoubleFreeAborts) {
  PktPool pool(2);
  PktBuf* p = pool.alloc();
  pool.free(p);
  EXPECT_DEATH(
      {
        pool.free(p);
        pool.free(p);
      },
      "freed twice");
}

TEST(PktPoolDeathTest, ForeignPacketAborts) {
  PktPool a(1);
  PktPool b(1);
  PktBuf* p = a.alloc();
  EXPECT_DEATH(b.free(p), "wrong pool");
  a.free(p);
}

}  // namespace
}  // namespace ocm::datapath
