// drivers/dpdk/src/eth_port.cpp over net_ring ports: frames keep their bytes and windows
// through tx_burst -> ring -> rx_burst, and setup errors name the port.

#include "eth_port.hpp"

#include <rte_mbuf.h>

#include <numeric>
#include <vector>

#include "dpdk_env.hpp"
#include "gtest/gtest.h"

namespace ocm::dpdk {
namespace {

datapath::PktBuf* make_frame(size_t len, uint8_t seed, uint16_t offset) {
  rte_mbuf* m = rte_pktmbuf_alloc(test::shared_pool());
  if (m == nullptr) {
    return nullptr;
  }
  datapath::PktBuf* p = fresh_pkt(m, offset);
  uint8_t* d = p->append(static_cast<uint16_t>(len));
  for (size_t i = 0; i < len; ++i) {
    d[i] = static_cast<uint8_t>(seed + i);
  }
  return p;
}

TEST(EthPort, NonexistentPortIsAClearError) {
  OCM_REQUIRE_EAL();
  auto port = EthPort::open(RTE_MAX_ETHPORTS - 1, test::shared_pool(), 128, 128);
  ASSERT_FALSE(port);
  EXPECT_NE(port.error().message.find("does not exist"), std::string::npos) << port.error().message;
}

struct BurstCase {
  const char* name;
  uint16_t count;
  uint16_t len;
  uint16_t offset;  // where the sender's data starts in the buffer
};

class EthPortBurstTest : public ::testing::TestWithParam<BurstCase> {};

TEST_P(EthPortBurstTest, TxOnOneSideArrivesIntactOnTheOther) {
  OCM_REQUIRE_EAL();
  const BurstCase& c = GetParam();
  test::PortPair pair = test::ring_pair("burst");
  // Kept for the process (never stopped: rte_eal_cleanup runs before static destructors).
  static EthPort* a = nullptr;
  static EthPort* b = nullptr;
  if (a == nullptr) {
    auto pa = EthPort::open(pair.a, test::shared_pool(), 256, 256);
    auto pb = EthPort::open(pair.b, test::shared_pool(), 256, 256);
    ASSERT_TRUE(pa) << pa.error().message;
    ASSERT_TRUE(pb) << pb.error().message;
    a = std::move(pa).value().release();
    b = std::move(pb).value().release();
  }
  unsigned before = rte_mempool_avail_count(test::shared_pool());
  std::vector<datapath::PktBuf*> out(c.count);
  for (uint16_t i = 0; i < c.count; ++i) {
    out[i] = make_frame(c.len, static_cast<uint8_t>(i), c.offset);
    ASSERT_NE(out[i], nullptr);
  }
  uint16_t sent = a->tx_burst(out.data(), c.count);
  ASSERT_EQ(sent, c.count);
  std::vector<datapath::PktBuf*> in(datapath::kBurst);
  uint16_t got = 0;
  while (got < c.count) {
    uint16_t n = b->rx_burst(in.data(), datapath::kBurst);
    ASSERT_GT(n, 0) << "lost frames";
    for (uint16_t k = 0; k < n; ++k) {
      datapath::PktBuf* p = in[k];
      ASSERT_EQ(p->len(), c.len);
      EXPECT_EQ(p->headroom(), c.offset);  // net_ring passes the mbuf itself
      for (uint16_t j = 0; j < c.len; ++j) {
        ASSERT_EQ(p->data()[j], static_cast<uint8_t>(got + k + j)) << "frame " << got + k << " byte " << j;
      }
    }
    EthPort::free_bulk(in.data(), n);
    got = static_cast<uint16_t>(got + n);
  }
  EXPECT_EQ(rte_mempool_avail_count(test::shared_pool()), before) << "mbufs leaked";
}

INSTANTIATE_TEST_SUITE_P(Table, EthPortBurstTest,
                         ::testing::Values(BurstCase{"one_min_frame", 1, 60, RTE_PKTMBUF_HEADROOM},
                                           BurstCase{"burst_full_frames", 32, 1514, RTE_PKTMBUF_HEADROOM},
                                           BurstCase{"more_than_a_burst", 80, 200, RTE_PKTMBUF_HEADROOM},
                                           BurstCase{"frame_built_at_frame_headroom", 5, 1000, 64}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace ocm::dpdk
