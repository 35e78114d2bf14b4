#pragma once
// Packet I/O on the shared TUN device for the datapath drivers (socket, af_xdp): burst reads
// into packet buffers and burst writes from them, with the kernel's offloads when the queues
// carry virtio_net headers (IFF_VNET_HDR, set up by TunDevice):
//  - reads may return TCP super-packets (TSO, up to 64 KiB), cut here into MTU-sized segments
//    straight into packet buffers (lib/datapath/gso.hpp); partial checksums are completed;
//  - writes of consecutive segments of one TCP flow are merged into one GSO write (gro).
// Packet buffers come from the caller, so each driver keeps its own pool (heap or UMEM).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ocm/base/result.hpp"
#include "ocm/datapath/ctx.hpp"
#include "ocm/datapath/gso.hpp"
#include "ocm/datapath/pipeline.hpp"
#include "ocm/datapath/pkt.hpp"

namespace ocm::tun_io {

struct TunIoStats {
  bool vnet_hdr = false;               // the TUN queues carry virtio_net headers
  uint64_t write_failures = 0;         // packets the TUN did not take
  uint64_t gso_frames = 0;             // TSO super-packets read
  uint64_t gso_segments = 0;           // segments cut from them
  uint64_t gso_invalid = 0;            // super-packets dropped: layout we cannot cut (GsoVerdict)
  uint64_t gso_segments_lost = 0;      // segments dropped because the pool ran dry mid-frame
  uint64_t csum_completed = 0;         // partial checksums completed (non-GSO frames)
  uint64_t csum_invalid = 0;           // frames dropped: checksum offsets outside the packet
  uint64_t read_oversize = 0;          // frames dropped: larger than a packet buffer / read buffer
  uint64_t read_short = 0;             // reads shorter than the virtio_net header
  uint64_t gro_writes = 0;             // GSO writes of merged segments
  uint64_t gro_packets = 0;            // packets those writes carried
};

class TunIo {
 public:
  // fds: the TUN queues (owned by the caller, non-blocking; all must agree on IFF_VNET_HDR).
  // headroom: where packets are read in each buffer (kHeadroom, or kFrameHeadroom for drivers
  // that put Ethernet headers in front); tail_reserve: bytes kept free behind the packet (tag).
  static Result<std::unique_ptr<TunIo>> create(std::vector<int> fds, bool gro, uint16_t headroom,
                                               uint32_t tail_reserve);

  // Fills in[0, kBurst) (allocated by the caller, all of one buffer size) with IP packets read
  // from fd; returns how many. A super-packet being cut continues across calls (pending()).
  uint16_t fill_burst(int fd, datapath::PktBuf* const in[]) noexcept;
  // A super-packet is partly cut: call fill_burst again without waiting for readability.
  [[nodiscard]] bool pending() const noexcept { return pending_; }
  // The caller has no buffers for the rest of the super-packet: count and forget it.
  void abandon_pending() noexcept;

  // Writes packets to the kernel (the caller keeps and frees them); failures are counted.
  void write_burst(datapath::PktBuf* const pkts[], uint16_t n) noexcept;
  bool write_one(std::span<const uint8_t> packet) noexcept;

  [[nodiscard]] const TunIoStats& stats() const noexcept { return stats_; }
  // The stats as (tun_<name>, value) pairs for DataPlane::driver_counters(). Allocates.
  [[nodiscard]] std::vector<std::pair<std::string, uint64_t>> counters() const;
  [[nodiscard]] const std::vector<int>& fds() const noexcept { return fds_; }

 private:
  TunIo(std::vector<int> fds, bool vnet, bool gro, uint16_t headroom, uint32_t tail_reserve);
  bool write_plain(const uint8_t* data, size_t len) noexcept;

  std::vector<int> fds_;
  bool vnet_;
  bool gro_;
  uint16_t headroom_;
  uint32_t tail_reserve_;
  TunIoStats stats_;
  // The super-packet being cut (contiguous in super_).
  std::unique_ptr<uint8_t[]> super_;
  uint32_t super_len_ = 0;
  datapath::TsoPlan plan_;
  uint16_t next_segment_ = 0;
  bool pending_ = false;
};

// The TUN side of a same-thread driver's poll: reads bursts from fd through the pipeline until the
// queue is drained or `budget` bursts are done (a super-packet being cut is always finished, so
// its segments are not left waiting for the next readability event). The driver supplies its
// buffers and its UDP transmit:
//   bool alloc(PktBuf* out[kBurst])                  all or nothing
//   void release(PktBuf* const pkts[], uint16_t n)   back to the driver's pool
//   void send(PktBuf* const recs[], uint16_t n)      takes the sealed records (sent or freed)
// Returns false when the pool ran dry (the rest of a super-packet is then abandoned).
template <typename Alloc, typename Release, typename Send>
bool poll_tun_bursts(TunIo& tun, int fd, datapath::Ctx& ctx, int budget, Alloc&& alloc, Release&& release,
                     Send&& send) noexcept {
  for (int b = 0; b < budget || tun.pending(); ++b) {
    datapath::PktBuf* in[datapath::kBurst];
    if (!alloc(in)) {
      tun.abandon_pending();
      return false;
    }
    uint16_t n = tun.fill_burst(fd, in);
    release(in + n, static_cast<uint16_t>(datapath::kBurst - n));
    if (n == 0) {
      return true;
    }
    datapath::PktBuf* to_udp[datapath::kBurst];
    datapath::PktBuf* to_free[datapath::kBurst];
    auto r = datapath::process_tun_rx(ctx, in, n, to_udp, to_free);
    send(to_udp, r.n_udp);
    release(to_free, r.n_free);
    if (n < datapath::kBurst && !tun.pending()) {
      return true;
    }
  }
  return true;
}

}  // namespace ocm::tun_io
