#pragma once
// One iteration of a packet thread's loop, generic over the two ports (statically bound: no
// virtual call per packet). A port offers:
//   uint16_t rx_burst(PktBuf* out[], uint16_t n) noexcept;
//   uint16_t tx_burst(PktBuf* const pkts[], uint16_t n) noexcept;  // accepted prefix
//   void free_bulk(PktBuf* const pkts[], uint16_t n) noexcept;
// Packets are freed through the port they were received on. Packets a port does not accept
// for transmission are counted (udp_tx_full / tun_tx_full) and freed.
// The driver's loop: { ctx.now_ns = clock(); poll_once(ctx, udp, tun); drain rings/timers... }

#include <cstdint>

#include "ocm/datapath/burst.hpp"
#include "ocm/datapath/pipeline.hpp"

namespace ocm::datapath {

namespace detail {
template <typename TxPort, typename OwnerPort>
void transmit(Ctx& ctx, TxPort& tx, OwnerPort& owner, PktBuf* const pkts[], uint16_t n, DropReason full) noexcept {
  if (n == 0) {
    return;
  }
  uint16_t sent = tx.tx_burst(pkts, n);
  if (sent < n) {
    for (uint16_t i = sent; i < n; ++i) {
      pkts[i]->meta.drop = full;
      ctx.counters.drop(full);
    }
    owner.free_bulk(pkts + sent, static_cast<uint16_t>(n - sent));
  }
}
}  // namespace detail

struct PollResult {
  uint16_t udp_rx = 0;
  uint16_t tun_rx = 0;
};

// Up to one burst from each port through the pipeline.
template <typename UdpPort, typename TunPort>
PollResult poll_once(Ctx& ctx, UdpPort& udp, TunPort& tun) noexcept {
  PollResult result;
  PktBuf* rx[kBurst];
  PktBuf* to_tun[kBurst];
  PktBuf* to_udp[kBurst];
  PktBuf* to_free[kBurst];

  result.udp_rx = udp.rx_burst(rx, kBurst);
  if (result.udp_rx > 0) {
    UdpRxResult r = process_udp_rx(ctx, rx, result.udp_rx, to_tun, to_udp, to_free);
    detail::transmit(ctx, tun, udp, to_tun, r.n_tun, DropReason::kTunTxFull);
    detail::transmit(ctx, udp, udp, to_udp, r.n_udp, DropReason::kUdpTxFull);
    if (r.n_free > 0) {
      udp.free_bulk(to_free, r.n_free);
    }
  }

  result.tun_rx = tun.rx_burst(rx, kBurst);
  if (result.tun_rx > 0) {
    TunRxResult r = process_tun_rx(ctx, rx, result.tun_rx, to_udp, to_free);
    detail::transmit(ctx, udp, tun, to_udp, r.n_udp, DropReason::kUdpTxFull);
    if (r.n_free > 0) {
      tun.free_bulk(to_free, r.n_free);
    }
  }
  return result;
}

}  // namespace ocm::datapath
