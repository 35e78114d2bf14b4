#include "ocm/datapath/lcore.hpp"

#include <gtest/gtest.h>

#include "ocm/datapath/ring_port.hpp"
#include "test_support.hpp"

namespace ocm::datapath {
namespace {

using test::Harness;

TEST(PollOnceTest, MovesBothDirectionsAndFreesTheRest) {
  Harness h(4, 64);
  auto keys = h.activate(0);
  RingPort udp(h.pool, 16);
  RingPort tun(h.pool, 16);
  auto ip_in = test::ipv4_packet(Harness::lease_of(0), test::kRemote, 50);
  auto ip_out = test::ipv4_packet(test::kRemote, Harness::lease_of(0), 70);
  ASSERT_TRUE(udp.inject(
      h.packet(test::client_seal(*h.engine, keys.c2s, 1, 1, test::with_type(0x00, ip_in)), Harness::peer_of(0))));
  ASSERT_TRUE(udp.inject(
      h.packet(test::client_seal(*h.engine, keys.c2s, 1, 2, std::vector<uint8_t>{0x07}), Harness::peer_of(0))));
  ASSERT_TRUE(tun.inject(h.packet(ip_out)));

  PollResult r = poll_once(h.ctx, udp, tun);
  EXPECT_EQ(r.udp_rx, 2);
  EXPECT_EQ(r.tun_rx, 1);
  PktBuf* out[4];
  ASSERT_EQ(tun.drain(out, 4), 1);
  EXPECT_EQ(test::bytes_of(out[0]), ip_in);
  h.pool.free(out[0]);
  ASSERT_EQ(udp.drain(out, 4), 1);
  auto opened = test::client_open(*h.engine, keys.s2c, 1, test::bytes_of(out[0]));
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, test::with_type(0x00, ip_out));
  h.pool.free(out[0]);
  EXPECT_EQ(h.pool.available(), h.pool.capacity()) << "the keepalive was freed";
}

TEST(PollOnceTest, TxRingFullIsCountedAndFreed) {
  Harness h(4, 64);
  auto keys = h.activate(0);
  RingPort udp(h.pool, 16);
  RingPort tun(h.pool, 2);
  auto ip_in = test::ipv4_packet(Harness::lease_of(0), test::kRemote, 50);
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    ASSERT_TRUE(udp.inject(
        h.packet(test::client_seal(*h.engine, keys.c2s, 1, seq, test::with_type(0x00, ip_in)), Harness::peer_of(0))));
  }
  poll_once(h.ctx, udp, tun);
  EXPECT_EQ(h.counters.dropped(DropReason::kTunTxFull), 3u);
  PktBuf* out[4];
  ASSERT_EQ(tun.drain(out, 4), 2);
  h.pool.free_bulk(out, 2);
  EXPECT_EQ(h.pool.available(), h.pool.capacity());
}

}  // namespace
}  // namespace ocm::datapath
