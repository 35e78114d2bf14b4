#include "mempool.hpp"

#include <rte_errno.h>
#include <rte_mbuf.h>

#include <bit>
#include <new>

#include "mbuf_pkt.hpp"
#include "ocm/datapath/ctx.hpp"

namespace ocm::dpdk {

uint32_t mempool_size(const MempoolSizing& s) noexcept {
  uint64_t nic = uint64_t{s.nic_queues} * (uint64_t{s.nic_rx_descriptors} + s.nic_tx_descriptors) * s.lcores;
  uint64_t tap = 2ULL * s.tap_descriptors;
  uint64_t per_lcore = uint64_t{kMempoolCache} * 3 / 2 + 4ULL * datapath::kBurst;
  uint64_t total = nic + tap + per_lcore * s.lcores + s.ring_packets;
  total += total / 4;
  uint64_t rounded = std::bit_ceil(total + 1) - 1;
  return rounded > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(rounded);
}

void MempoolDeleter::operator()(rte_mempool* mp) const noexcept { rte_mempool_free(mp); }

namespace {
void attach_handle(rte_mempool* /*mp*/, void* /*opaque*/, void* obj, unsigned /*index*/) {
  auto* m = static_cast<rte_mbuf*>(obj);
  auto* p = new (rte_mbuf_to_priv(m)) datapath::PktBuf();
  p->attach(static_cast<uint8_t*>(m->buf_addr), m->buf_len);
}
}  // namespace

Result<MempoolPtr> create_pkt_mempool(const std::string& name, uint32_t mbufs, int socket) {
  rte_mempool* mp = rte_pktmbuf_pool_create(name.c_str(), mbufs, kMempoolCache, kMbufPrivSize, kDataRoom, socket);
  if (mp == nullptr) {
    return make_error("dpdk: cannot create mempool of " + std::to_string(mbufs) + " mbufs (" +
                      std::to_string(kDataRoom + kMbufPrivSize + sizeof(rte_mbuf)) + " bytes each) on socket " +
                      std::to_string(socket) + ": " + rte_strerror(rte_errno) +
                      " (give EAL more memory with -m, reserve more hugepages, or lower datapath.dpdk.mbufs)");
  }
  rte_mempool_obj_iter(mp, attach_handle, nullptr);
  return MempoolPtr(mp);
}

}  // namespace ocm::dpdk
