#pragma once
// The PktBuf handle of every mbuf lives in the mbuf's private area (mempool priv_size =
// kMbufPrivSize), attached once to the mbuf's buffer when the pool is created (mempool.cpp).
// Converting is pointer arithmetic: no lookup, no per-packet state outside the mbuf.
//   RX: the handle's window is set from data_off/data_len, meta cleared, meta.driver = mbuf.
//   TX: data_off/data_len/pkt_len are set from the handle's window.
// Only single-segment mbufs are used (the data room holds a full 1500-byte frame).

#include <rte_mbuf.h>

#include <cstdint>

#include "ocm/datapath/pkt.hpp"

namespace ocm::dpdk {

inline constexpr uint16_t kMbufPrivSize = sizeof(datapath::PktBuf);
static_assert(kMbufPrivSize % RTE_MBUF_PRIV_ALIGN == 0, "mbuf private area must keep mbuf alignment");
static_assert(alignof(datapath::PktBuf) <= RTE_MBUF_PRIV_ALIGN, "the private area is only 8-byte aligned");

[[nodiscard]] inline datapath::PktBuf* pkt_of(rte_mbuf* m) noexcept {
  return static_cast<datapath::PktBuf*>(rte_mbuf_to_priv(m));
}
[[nodiscard]] inline rte_mbuf* mbuf_of(datapath::PktBuf* p) noexcept {
  return reinterpret_cast<rte_mbuf*>(reinterpret_cast<char*>(p) - sizeof(rte_mbuf));
}

// A received mbuf as a packet: window = the frame.
inline datapath::PktBuf* rx_pkt(rte_mbuf* m) noexcept {
  datapath::PktBuf* p = pkt_of(m);
  p->set_window(m->data_off, m->data_len);
  p->meta = datapath::PktMeta{};
  p->meta.driver = reinterpret_cast<uintptr_t>(m);
  return p;
}

// A freshly allocated mbuf as an empty packet whose data starts at `offset`.
inline datapath::PktBuf* fresh_pkt(rte_mbuf* m, uint16_t offset) noexcept {
  datapath::PktBuf* p = pkt_of(m);
  p->set_window(offset, 0);
  p->meta = datapath::PktMeta{};
  p->meta.driver = reinterpret_cast<uintptr_t>(m);
  return p;
}

// The mbuf to transmit for a packet: its fields follow the handle's window.
inline rte_mbuf* tx_mbuf(datapath::PktBuf* p) noexcept {
  rte_mbuf* m = mbuf_of(p);
  m->data_off = p->headroom();
  m->data_len = p->len();
  m->pkt_len = p->len();
  m->nb_segs = 1;
  m->next = nullptr;
  m->ol_flags = 0;
  return m;
}

}  // namespace ocm::dpdk
