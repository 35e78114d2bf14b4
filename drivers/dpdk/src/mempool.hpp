#pragma once
// The packet mempool: mbufs with a PktBuf handle in the private area (mbuf_pkt.hpp), sized
// from config with the arithmetic below (doc/dpdk.md "Mempool").

#include <rte_mempool.h>

#include <cstdint>
#include <memory>
#include <string>

#include "ocm/base/result.hpp"

namespace ocm::dpdk {

// Data room: DPDK's default headroom (128, which is also kFrameHeadroom) + 2048, which holds a
// 1518-byte frame with the DTLS tag's growth and the pipeline's tail reserve.
inline constexpr uint16_t kDataRoom = RTE_PKTMBUF_HEADROOM + 2048;
// Per-lcore mempool cache: DPDK's guidance is a divisor of the pool size close to it / 1.5 at
// most; 256 keeps bursts of 32 out of the shared ring.
inline constexpr uint32_t kMempoolCache = 256;

struct MempoolSizing {
  uint32_t lcores = 1;
  uint32_t nic_queues = 1;       // RX and TX queues per lcore on the NIC
  uint16_t nic_rx_descriptors = 1024;
  uint16_t nic_tx_descriptors = 1024;
  uint16_t tap_descriptors = 512;  // RX and TX each
  uint32_t ring_packets = 0;       // mbufs that can sit in driver rings (parked records)
};

// rx descriptors (always full of empty mbufs) + tx descriptors (mbufs not yet reclaimed) on
// every NIC and TAP queue, + per lcore: its cache (up to 1.5 x kMempoolCache held) and the
// bursts in flight in one loop iteration (NIC rx, TAP rx, TUN rx, commands: 4 x 32),
// + ring contents, + 25 % slack for PMDs that hold more than their ring size briefly; rounded up
// to 2^n - 1 (the size rte_mempool stores most efficiently).
[[nodiscard]] uint32_t mempool_size(const MempoolSizing& s) noexcept;

struct MempoolDeleter {
  void operator()(rte_mempool* mp) const noexcept;
};
using MempoolPtr = std::unique_ptr<rte_mempool, MempoolDeleter>;

// Creates the pool on `socket` and attaches every mbuf's PktBuf handle to its buffer. Errors
// say how many mbufs of which size could not be had, and hint at -m / hugepages.
Result<MempoolPtr> create_pkt_mempool(const std::string& name, uint32_t mbufs, int socket);

}  // namespace ocm::dpdk
