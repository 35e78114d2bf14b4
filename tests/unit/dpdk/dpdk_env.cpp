#include "dpdk_env.hpp"

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ring.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "mempool.hpp"

namespace ocm::dpdk::test {
namespace {
bool g_eal = false;
}

bool eal_ready() { return g_eal; }

rte_mempool* shared_pool() {
  // Never freed: it must outlive every test, and rte_eal_cleanup runs before static destructors.
  static rte_mempool* pool = [] {
    auto p = create_pkt_mempool("test_pool", 4095, SOCKET_ID_ANY);
    if (!p) {
      std::fprintf(stderr, "%s\n", p.error().message.c_str());
      std::abort();
    }
    return std::move(p).value().release();
  }();
  return pool;
}

PortPair ring_pair(const char* name) {
  static std::map<std::string, PortPair> pairs;
  if (auto it = pairs.find(name); it != pairs.end()) {
    return it->second;
  }
  std::string n = name;
  rte_ring* ab = rte_ring_create((n + "_ab").c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* ba = rte_ring_create((n + "_ba").c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (ab == nullptr || ba == nullptr) {
    std::abort();
  }
  int a = rte_eth_from_rings((n + "_a").c_str(), &ba, 1, &ab, 1, SOCKET_ID_ANY);  // a: tx -> ab, rx <- ba
  int b = rte_eth_from_rings((n + "_b").c_str(), &ab, 1, &ba, 1, SOCKET_ID_ANY);
  if (a < 0 || b < 0) {
    std::abort();
  }
  PortPair p{static_cast<uint16_t>(a), static_cast<uint16_t>(b)};
  pairs[name] = p;
  return p;
}

}  // namespace ocm::dpdk::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::vector<std::string> args = {"dpdk_test", "--no-huge", "--no-shconf", "-m", "256", "--no-pci", "-l", "0",
                                   "--log-level=lib.eal:error"};
  std::vector<char*> eal_argv;
  for (auto& a : args) {
    eal_argv.push_back(a.data());
  }
  ocm::dpdk::test::g_eal = rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) >= 0;
  if (!ocm::dpdk::test::g_eal) {
    std::fprintf(stderr, "EAL did not start: DPDK tests will be skipped\n");
  }
  int rc = RUN_ALL_TESTS();
  if (ocm::dpdk::test::g_eal) {
    rte_eal_cleanup();
  }
  return rc;
}
