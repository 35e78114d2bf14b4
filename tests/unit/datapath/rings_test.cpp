#include "ocm/datapath/rings.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace ocm::datapath {
namespace {

TEST(SpscRingTest, CapacityRoundsUpToPowerOfTwo) {
  EXPECT_EQ(SpscRing<int>(0).capacity(), 2u);
  EXPECT_EQ(SpscRing<int>(5).capacity(), 8u);
  EXPECT_EQ(SpscRing<int>(8).capacity(), 8u);
}

TEST(SpscRingTest, FifoUntilFullThenRefuses) {
  SpscRing<int> ring(4);
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.peek(), nullptr);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(ring.push(i));
  }
  EXPECT_FALSE(ring.push(99));
  EXPECT_EQ(ring.reserve(), nullptr);
  EXPECT_EQ(ring.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    ASSERT_NE(ring.peek(), nullptr);
    EXPECT_EQ(*ring.peek(), i);
    ring.pop();
  }
  EXPECT_TRUE(ring.empty());
}

TEST(SpscRingTest, IndicesWrapAround) {
  SpscRing<uint32_t> ring(4);
  for (uint32_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(ring.push(i));
    ASSERT_TRUE(ring.push(i + 1));
    ASSERT_EQ(*ring.peek(), i);
    ring.pop();
    ASSERT_EQ(*ring.peek(), i + 1);
    ring.pop();
  }
}

TEST(SpscRingTest, TwoThreadsSeeEveryItemInOrder) {
  SpscRing<uint64_t> ring(64);
  constexpr uint64_t kItems = 200000;
  std::thread producer([&] {
    for (uint64_t i = 0; i < kItems;) {
      if (ring.push(i)) {
        ++i;
      }
    }
  });
  uint64_t expect = 0;
  while (expect < kItems) {
    const uint64_t* v = ring.peek();
    if (v == nullptr) {
      continue;
    }
    ASSERT_EQ(*v, expect);
    ring.pop();
    ++expect;
  }
  producer.join();
  EXPECT_TRUE(ring.empty());
}

struct PushCase {
  const char* name;
  size_t len;
  PushResult expected;
};

class PushControlTest : public ::testing::TestWithParam<PushCase> {};

TEST_P(PushControlTest, CopiesOrRefuses) {
  ControlRing ring(2);
  const PushCase& c = GetParam();
  std::vector<uint8_t> data(c.len, 0x42);
  Peer peer = Peer::v4(0x01020304, 55);
  EXPECT_EQ(push_control(ring, ControlKind::kRecord, 22, 7, peer, 123, data), c.expected);
  if (c.expected == PushResult::kOk) {
    const ControlEvent* ev = ring.peek();
    ASSERT_NE(ev, nullptr);
    EXPECT_EQ(ev->kind, ControlKind::kRecord);
    EXPECT_EQ(ev->content_type, 22);
    EXPECT_EQ(ev->slot, 7u);
    EXPECT_EQ(ev->peer, peer);
    EXPECT_EQ(ev->time_ns, 123u);
    EXPECT_EQ(std::vector<uint8_t>(ev->bytes().begin(), ev->bytes().end()), data);
  } else {
    EXPECT_TRUE(ring.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, PushControlTest,
                         ::testing::Values(PushCase{"empty", 0, PushResult::kOk},
                                           PushCase{"small", 60, PushResult::kOk},
                                           PushCase{"slot_size", kControlPayload, PushResult::kOk},
                                           PushCase{"too_big", kControlPayload + 1, PushResult::kTooBig}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(PushControlTest, FullRingRefuses) {
  ControlRing ring(2);
  std::vector<uint8_t> data(10);
  EXPECT_EQ(push_control(ring, ControlKind::kDisconnect, 0, 1, Peer{}, 0, data), PushResult::kOk);
  EXPECT_EQ(push_control(ring, ControlKind::kDisconnect, 0, 1, Peer{}, 0, data), PushResult::kOk);
  EXPECT_EQ(push_control(ring, ControlKind::kDisconnect, 0, 1, Peer{}, 0, data), PushResult::kFull);
  EXPECT_STREQ(to_string(ControlKind::kPeerChanged), "peer_changed");
}

TEST(PushCstpTest, CopiesFullAndTooBig) {
  CstpRing ring(2);
  std::vector<uint8_t> pkt(100, 7);
  EXPECT_EQ(push_cstp(ring, 3, 0x0A0A0005, pkt), PushResult::kOk);
  EXPECT_EQ(push_cstp(ring, 3, 0x0A0A0005, std::vector<uint8_t>(kCstpPayload + 1)), PushResult::kTooBig);
  EXPECT_EQ(push_cstp(ring, 4, 0x0A0A0006, pkt), PushResult::kOk);
  EXPECT_EQ(push_cstp(ring, 5, 0x0A0A0007, pkt), PushResult::kFull);
  const CstpPacket* p = ring.peek();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->slot, 3u);
  EXPECT_EQ(p->lease, 0x0A0A0005u);
  EXPECT_EQ(std::vector<uint8_t>(p->bytes().begin(), p->bytes().end()), pkt);
}

}  // namespace
}  // namespace ocm::datapath
