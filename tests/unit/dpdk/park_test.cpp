// drivers/dpdk/src/park.hpp: bounded in count and time, arrival order kept.

#include "park.hpp"

#include <vector>

#include "gtest/gtest.h"

namespace ocm::dpdk {
namespace {

using datapath::Peer;
using datapath::PktBuf;

TEST(ParkLot, HandshakeWindowIsPerPeerAndExpires) {
  ParkLot lot;
  Peer a = Peer::v4(0x0A000002, 1000);
  Peer b = Peer::v4(0x0A000003, 1000);
  lot.note_handshake(a, 100);
  EXPECT_TRUE(lot.recently_handshaking(a, 100 + ParkLot::kWindowNs - 1));
  EXPECT_FALSE(lot.recently_handshaking(a, 100 + ParkLot::kWindowNs));
  EXPECT_FALSE(lot.recently_handshaking(b, 100));
}

TEST(ParkLot, OldestRecentPeerIsForgottenFirst) {
  ParkLot lot;
  for (uint32_t i = 0; i <= ParkLot::kRecentPeers; ++i) {
    lot.note_handshake(Peer::v4(0x0A000000 + i, 1), 1000 + i);
  }
  EXPECT_FALSE(lot.recently_handshaking(Peer::v4(0x0A000000, 1), 1000 + ParkLot::kRecentPeers));
  EXPECT_TRUE(lot.recently_handshaking(Peer::v4(0x0A000001, 1), 1000 + ParkLot::kRecentPeers));
}

TEST(ParkLot, ReleasesReadyOrExpiredInOrderAndKeepsTheRest) {
  ParkLot lot;
  std::vector<PktBuf> pkts(4);
  Peer keyed = Peer::v4(0x0A000002, 1);
  Peer waiting = Peer::v4(0x0A000003, 1);
  pkts[0].meta.peer = keyed;
  pkts[1].meta.peer = waiting;
  pkts[2].meta.peer = keyed;
  pkts[3].meta.peer = waiting;
  for (auto& p : pkts) {
    ASSERT_TRUE(lot.park(&p, 0));
  }
  PktBuf* out[ParkLot::kCapacity];
  uint64_t expired = 0;
  auto has = [&](const Peer& p) { return p == keyed; };
  uint32_t n = lot.take_ready(has, 10, out, expired);
  ASSERT_EQ(n, 2U);
  EXPECT_EQ(out[0], &pkts[0]);
  EXPECT_EQ(out[1], &pkts[2]);
  EXPECT_EQ(expired, 0U);
  EXPECT_EQ(lot.size(), 2U);
  n = lot.take_ready(has, ParkLot::kMaxParkNs + 1, out, expired);
  ASSERT_EQ(n, 2U);
  EXPECT_EQ(out[0], &pkts[1]);
  EXPECT_EQ(out[1], &pkts[3]);
  EXPECT_EQ(expired, 2U);
  EXPECT_EQ(lot.size(), 0U);
}

TEST(ParkLot, FullLotRefuses) {
  ParkLot lot;
  std::vector<PktBuf> pkts(ParkLot::kCapacity + 1);
  for (uint32_t i = 0; i < ParkLot::kCapacity; ++i) {
    ASSERT_TRUE(lot.park(&pkts[i], 0));
  }
  EXPECT_FALSE(lot.park(&pkts.back(), 0));
}

}  // namespace
}  // namespace ocm::dpdk
