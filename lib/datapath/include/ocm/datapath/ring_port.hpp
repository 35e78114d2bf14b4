#pragma once
// An in-memory port: the burst interface a driver offers the packet loop (rx_burst, tx_burst,
// alloc_bulk, free_bulk), backed by two rings of PktBuf pointers instead of a NIC, socket or
// TUN device. Tests and ocm-perf put packets in with inject() (the "wire" side) and take what
// the pipeline transmitted out with drain().
//
// Ownership: inject() takes the packet (the port holds it until rx_burst hands it to the
// loop); tx_burst() takes the packets it accepts (held until drain() hands them to the test);
// rejected packets stay with the caller. Buffers come from and go back to the PktPool given at
// construction. Safe for one thread on each side (SPSC rings), e.g. a generator thread.

#include <cstdint>

#include "ocm/datapath/pkt.hpp"
#include "ocm/datapath/rings.hpp"

namespace ocm::datapath {

struct PortStats {
  uint64_t rx_packets = 0;   // handed to the loop by rx_burst
  uint64_t tx_packets = 0;   // accepted by tx_burst
  uint64_t tx_full = 0;      // rejected by tx_burst (tx ring full)
  uint64_t inject_full = 0;  // rejected by inject (rx ring full)
};

class RingPort {  // NOLINT(clang-analyzer-optin.performance.Padding): the rings are cache-aligned
 public:
  // depth: packets each direction can hold (rounded up to a power of two).
  RingPort(PktPool& pool, uint32_t depth);

  // ---- the loop's side (the port interface) -----------------------------------------------
  uint16_t rx_burst(PktBuf* out[], uint16_t n) noexcept;
  // Returns how many of pkts[0, n) were accepted (a prefix); the rest remain the caller's.
  uint16_t tx_burst(PktBuf* const pkts[], uint16_t n) noexcept;
  bool alloc_bulk(PktBuf* out[], uint16_t n) noexcept { return pool_.alloc_bulk(out, n); }
  void free_bulk(PktBuf* const pkts[], uint16_t n) noexcept { pool_.free_bulk(pkts, n); }

  // ---- the wire side (tests, benchmarks) ----------------------------------------------------
  bool inject(PktBuf* pkt) noexcept;
  // Injects a prefix of pkts; returns how many were taken.
  uint16_t inject_burst(PktBuf* const pkts[], uint16_t n) noexcept;
  uint16_t drain(PktBuf* out[], uint16_t n) noexcept;
  [[nodiscard]] uint32_t rx_pending() const noexcept { return rx_.size(); }
  [[nodiscard]] uint32_t tx_pending() const noexcept { return tx_.size(); }

  [[nodiscard]] const PortStats& stats() const noexcept { return stats_; }
  [[nodiscard]] PktPool& pool() noexcept { return pool_; }

 private:
  PktPool& pool_;
  SpscRing<PktBuf*> rx_;
  SpscRing<PktBuf*> tx_;
  PortStats stats_;
};

}  // namespace ocm::datapath
