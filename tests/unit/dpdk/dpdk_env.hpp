#pragma once
// One EAL for the whole test binary (rte_eal_init runs once per process), started by main()
// in dpdk_env.cpp, plus in-process net_ring port pairs: what one port transmits, its partner
// receives ("wire" side for the tests).

#include <rte_mempool.h>

#include <cstdint>

#include "gtest/gtest.h"

namespace ocm::dpdk::test {

// True when EAL started; tests skip otherwise (EAL needs root).
bool eal_ready();
#define OCM_REQUIRE_EAL()                                          \
  do {                                                             \
    if (!::ocm::dpdk::test::eal_ready()) {                         \
      GTEST_SKIP() << "EAL cannot start here (needs root)";        \
    }                                                              \
  } while (0)

// The shared packet mempool (created once, PktBuf handles attached).
rte_mempool* shared_pool();

// A pair of ring ports wired back to back, created once per name.
struct PortPair {
  uint16_t a = 0;
  uint16_t b = 0;
};
PortPair ring_pair(const char* name);

}  // namespace ocm::dpdk::test
