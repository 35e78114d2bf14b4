#pragma once
// Early data records. A client sends its first data record (openconnect: an MTU probe) right
// behind its Finished, often in the same NIC burst. The Finished goes to the slow path through
// the control ring, and the keys it completes come back as a command only later, so that record
// would meet no session and be dropped as unknown_peer. Instead, application_data datagrams
// from a peer that sent handshake records in the last kWindowNs and has no session yet are
// parked here (the packet itself, no copy) and re-run through the pipeline after the next
// command drain that gives the peer a session, or when they are older than kMaxParkNs (then
// the pipeline drops and counts them as it would have). Bounded in count and time; lcore-only.

#include <array>
#include <cstdint>

#include "ocm/datapath/pkt.hpp"

namespace ocm::dpdk {

class ParkLot {
 public:
  static constexpr uint32_t kRecentPeers = 16;  // handshakes in progress at once worth covering
  static constexpr uint32_t kCapacity = 32;     // parked packets (counted in the mempool size)
  // A peer counts as "just handshaking" for 1 s after its last handshake record: the slow path
  // answers within milliseconds, retransmission timers are >= 1 s.
  static constexpr uint64_t kWindowNs = 1'000'000'000;
  // A parked record waits at most 200 ms for its keys: far above the slow path's latency, far
  // below the client's DPD/MTU-probe timeouts.
  static constexpr uint64_t kMaxParkNs = 200'000'000;

  void note_handshake(const datapath::Peer& peer, uint64_t now_ns) noexcept {
    uint32_t victim = 0;
    for (uint32_t i = 0; i < kRecentPeers; ++i) {
      if (recent_[i].until_ns != 0 && recent_[i].peer == peer) {
        recent_[i].until_ns = now_ns + kWindowNs;
        return;
      }
      if (recent_[i].until_ns < recent_[victim].until_ns) {
        victim = i;
      }
    }
    recent_[victim] = Recent{peer, now_ns + kWindowNs};
  }
  [[nodiscard]] bool recently_handshaking(const datapath::Peer& peer, uint64_t now_ns) const noexcept {
    for (const Recent& r : recent_) {
      if (r.until_ns > now_ns && r.peer == peer) {
        return true;
      }
    }
    return false;
  }

  // Takes the packet; false (packet stays the caller's) when full.
  bool park(datapath::PktBuf* pkt, uint64_t now_ns) noexcept {
    if (count_ == kCapacity) {
      return false;
    }
    parked_[count_++] = Parked{pkt, now_ns};
    return true;
  }
  [[nodiscard]] uint32_t size() const noexcept { return count_; }

  // Hands back, in arrival order, the packets whose peer now has a session (`has_session(peer)`)
  // or that waited longer than kMaxParkNs; `expired` counts the latter. Returns how many were
  // written to out (room for kCapacity).
  template <typename HasSession>
  uint32_t take_ready(HasSession has_session, uint64_t now_ns, datapath::PktBuf* out[], uint64_t& expired) noexcept {
    uint32_t n = 0;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < count_; ++i) {
      Parked p = parked_[i];
      bool ready = has_session(p.pkt->meta.peer);
      bool old = now_ns - p.since_ns > kMaxParkNs;
      if (ready || old) {
        if (!ready) {
          ++expired;
        }
        out[n++] = p.pkt;
      } else {
        parked_[kept++] = p;
      }
    }
    count_ = kept;
    return n;
  }

 private:
  struct Recent {
    datapath::Peer peer;
    uint64_t until_ns = 0;
  };
  struct Parked {
    datapath::PktBuf* pkt = nullptr;
    uint64_t since_ns = 0;
  };
  std::array<Recent, kRecentPeers> recent_{};
  std::array<Parked, kCapacity> parked_{};
  uint32_t count_ = 0;
};

}  // namespace ocm::dpdk
