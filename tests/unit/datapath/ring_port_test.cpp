#include "ocm/datapath/ring_port.hpp"

#include <gtest/gtest.h>

namespace ocm::datapath {
namespace {

TEST(RingPortTest, InjectThenRxBurstInOrder) {
  PktPool pool(16);
  RingPort port(pool, 8);
  PktBuf* in[5];
  ASSERT_TRUE(port.alloc_bulk(in, 5));
  for (int i = 0; i < 5; ++i) {
    in[i]->meta.slot = static_cast<uint32_t>(i);
  }
  EXPECT_EQ(port.inject_burst(in, 5), 5);
  EXPECT_EQ(port.rx_pending(), 5u);
  PktBuf* out[8];
  EXPECT_EQ(port.rx_burst(out, 3), 3);
  EXPECT_EQ(port.rx_burst(out + 3, 8), 2);
  EXPECT_EQ(port.rx_burst(out, 8), 0);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(out[i], in[i]);
  }
  EXPECT_EQ(port.stats().rx_packets, 5u);
  port.free_bulk(out, 5);
  EXPECT_EQ(pool.available(), 16u);
}

TEST(RingPortTest, TxBurstAcceptsAPrefixWhenFull) {
  PktPool pool(16);
  RingPort port(pool, 4);
  PktBuf* pkts[6];
  ASSERT_TRUE(port.alloc_bulk(pkts, 6));
  EXPECT_EQ(port.tx_burst(pkts, 6), 4);
  EXPECT_EQ(port.stats().tx_packets, 4u);
  EXPECT_EQ(port.stats().tx_full, 2u);
  PktBuf* drained[8];
  EXPECT_EQ(port.drain(drained, 8), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(drained[i], pkts[i]);
  }
  port.free_bulk(pkts, 6);
  EXPECT_EQ(pool.available(), 16u);
}

TEST(RingPortTest, InjectRefusesWhenFull) {
  PktPool pool(4);
  RingPort port(pool, 2);
  PktBuf* pkts[3];
  ASSERT_TRUE(port.alloc_bulk(pkts, 3));
  EXPECT_EQ(port.inject_burst(pkts, 3), 2);
  EXPECT_EQ(port.stats().inject_full, 1u);
  PktBuf* out[2];
  ASSERT_EQ(port.rx_burst(out, 2), 2);
  port.free_bulk(pkts, 3);
}

}  // namespace
}  // namespace ocm::datapath
