// drivers/dpdk/src/mempool.cpp and mbuf_pkt.hpp: the sizing arithmetic, the PktBuf handle in
// the mbuf private area, and the window sync between handle and mbuf.

#include "mempool.hpp"

#include <rte_mbuf.h>

#include <vector>

#include "dpdk_env.hpp"
#include "gtest/gtest.h"
#include "mbuf_pkt.hpp"
#include "ocm/datapath/frame.hpp"

namespace ocm::dpdk {
namespace {

struct SizingCase {
  const char* name;
  MempoolSizing sizing;
  uint32_t at_least;  // the sum written in doc/dpdk.md before slack and rounding
};

class MempoolSizingTest : public ::testing::TestWithParam<SizingCase> {};

TEST_P(MempoolSizingTest, CoversEveryHolderAndIsTwoToTheNMinusOne) {
  const SizingCase& c = GetParam();
  uint32_t n = mempool_size(c.sizing);
  EXPECT_GE(n, c.at_least + c.at_least / 4) << c.name;
  EXPECT_EQ((n + 1) & n, 0U) << c.name << ": " << n << " is not 2^k - 1";
  EXPECT_LT(n, 2 * (c.at_least + c.at_least / 4) + 1) << c.name << ": rounding more than doubles";
}

// 1024+1024 NIC descriptors, 2 x 512 TAP, cache 384 + 4 x 32 per lcore, 32 parked.
INSTANTIATE_TEST_SUITE_P(Table, MempoolSizingTest,
                         ::testing::Values(SizingCase{"default", {1, 1, 1024, 1024, 512, 32}, 2048 + 1024 + 512 + 32},
                                           SizingCase{"small_rings", {1, 1, 128, 128, 64, 0}, 256 + 128 + 512},
                                           SizingCase{"big_rings", {1, 1, 4096, 4096, 512, 32},
                                                      8192 + 1024 + 512 + 32},
                                           SizingCase{"two_lcores", {2, 1, 1024, 1024, 512, 32},
                                                      4096 + 1024 + 1024 + 32}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Mempool, EveryMbufCarriesItsHandleAttachedToItsBuffer) {
  OCM_REQUIRE_EAL();
  rte_mempool* mp = test::shared_pool();
  std::vector<rte_mbuf*> mbufs(64);
  ASSERT_EQ(rte_pktmbuf_alloc_bulk(mp, mbufs.data(), 64), 0);
  for (rte_mbuf* m : mbufs) {
    datapath::PktBuf* p = pkt_of(m);
    EXPECT_EQ(p->buffer(), static_cast<uint8_t*>(m->buf_addr));
    EXPECT_EQ(p->capacity(), m->buf_len);
    EXPECT_EQ(mbuf_of(p), m);
    EXPECT_GE(m->buf_len, kDataRoom);
  }
  rte_pktmbuf_free_bulk(mbufs.data(), 64);
}

struct WindowCase {
  const char* name;
  uint16_t rx_off;   // where the PMD put the frame
  uint16_t rx_len;
  int16_t grow;      // prepended (>0) or stripped (<0) bytes before TX
  uint16_t append;   // bytes appended before TX
};

class MbufWindowTest : public ::testing::TestWithParam<WindowCase> {};

TEST_P(MbufWindowTest, RxWindowFollowsMbufAndTxSyncsBack) {
  OCM_REQUIRE_EAL();
  const WindowCase& c = GetParam();
  rte_mbuf* m = rte_pktmbuf_alloc(test::shared_pool());
  ASSERT_NE(m, nullptr);
  m->data_off = c.rx_off;
  m->data_len = c.rx_len;
  m->pkt_len = c.rx_len;
  datapath::PktBuf* p = rx_pkt(m);
  EXPECT_EQ(p->data(), rte_pktmbuf_mtod(m, uint8_t*));
  EXPECT_EQ(p->len(), c.rx_len);
  EXPECT_EQ(p->meta.driver, reinterpret_cast<uintptr_t>(m));
  if (c.grow > 0) {
    ASSERT_NE(p->prepend(static_cast<uint16_t>(c.grow)), nullptr);
  } else if (c.grow < 0) {
    ASSERT_NE(p->adj(static_cast<uint16_t>(-c.grow)), nullptr);
  }
  ASSERT_NE(p->append(c.append), nullptr);
  rte_mbuf* t = tx_mbuf(p);
  EXPECT_EQ(t, m);
  EXPECT_EQ(rte_pktmbuf_mtod(t, uint8_t*), p->data());
  EXPECT_EQ(t->data_len, p->len());
  EXPECT_EQ(t->pkt_len, p->len());
  EXPECT_EQ(t->nb_segs, 1);
  rte_pktmbuf_free(t);
}

INSTANTIATE_TEST_SUITE_P(Table, MbufWindowTest,
                         ::testing::Values(WindowCase{"as_received", RTE_PKTMBUF_HEADROOM, 60, 0, 0},
                                           WindowCase{"udp_payload_then_frame", RTE_PKTMBUF_HEADROOM, 1000, -42, 0},
                                           WindowCase{"sealed_in_place", RTE_PKTMBUF_HEADROOM + 42, 1200, 22, 16},
                                           WindowCase{"full_frame_headers", datapath::kFrameHeadroom, 1400,
                                                      datapath::kMaxUdpHeaders, 16}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace ocm::dpdk
