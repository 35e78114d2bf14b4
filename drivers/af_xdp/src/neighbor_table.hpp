#pragma once
// Where to send replies to a peer: the Ethernet source of the frames it sends us (its MAC when
// on-link, else the router's), the VLAN tag they carried and our address they were sent to.
// Learned on every received DTLS-port frame, the way a bridge learns; we never ARP. The same
// trust as ARP: an on-link host that forges frames can redirect a peer's records, which it
// can do with ARP anyway (records stay sealed). Fixed size, no allocation after construction.

#include <cstdint>
#include <cstring>
#include <memory>

#include "ocm/datapath/frame.hpp"
#include "ocm/datapath/pkt.hpp"

namespace ocm::af_xdp {

struct Neighbor {
  datapath::IpAddr peer;
  datapath::MacAddr mac{};
  datapath::IpAddr local;  // our address the peer sent to: the source of our replies
  uint16_t vlan_tci = 0;
  bool has_vlan = false;
  bool used = false;
  uint64_t seen_ns = 0;
};

class NeighborTable {
 public:
  // capacity: a power of two; more peers than that evict the least recently seen in a probe run.
  NeighborTable(uint32_t capacity, uint64_t seed)
      : mask_(capacity - 1), seed_(seed), entries_(std::make_unique<Neighbor[]>(capacity)) {}

  void learn(const datapath::FrameInfo& f, uint64_t now_ns) noexcept {
    Neighbor* slot = find_slot(f.src.addr);
    slot->peer = f.src.addr;
    slot->mac = f.src_mac;
    slot->local = f.dst;
    slot->vlan_tci = f.vlan_tci;
    slot->has_vlan = f.has_vlan;
    slot->used = true;
    slot->seen_ns = now_ns;
  }

  [[nodiscard]] const Neighbor* find(const datapath::IpAddr& peer) const noexcept {
    uint64_t h = datapath::hash_ip(peer, seed_);
    for (uint32_t i = 0; i < kProbe; ++i) {
      const Neighbor& n = entries_[(h + i) & mask_];
      if (n.used && n.peer == peer) {
        return &n;
      }
    }
    return nullptr;
  }

 private:
  // Probe runs are short so lookups stay O(1); a full run evicts its stalest entry.
  static constexpr uint32_t kProbe = 8;

  Neighbor* find_slot(const datapath::IpAddr& peer) noexcept {
    uint64_t h = datapath::hash_ip(peer, seed_);
    Neighbor* oldest = nullptr;
    for (uint32_t i = 0; i < kProbe; ++i) {
      Neighbor& n = entries_[(h + i) & mask_];
      if (!n.used || n.peer == peer) {
        return &n;
      }
      if (oldest == nullptr || n.seen_ns < oldest->seen_ns) {
        oldest = &n;
      }
    }
    return oldest;
  }

  uint32_t mask_;
  uint64_t seed_;
  std::unique_ptr<Neighbor[]> entries_;
};

}  // namespace ocm::af_xdp
