#pragma once
// One AF_XDP socket bound to one queue of the interface, with its own UMEM: frames_per_queue
// frames of kFrameSize bytes, each with a PktBuf handle for the burst pipeline. A frame is at
// any time in exactly one place: the free stack here, the kernel (fill, rx, tx or completion
// ring), or held by the driver as a PktBuf*. Not thread-safe: the loop thread owns it.

#include <xdp/xsk.h>

#include <cstdint>
#include <memory>
#include <string>

#include "ocm/base/result.hpp"
#include "ocm/datapath/pkt.hpp"

namespace ocm::af_xdp {

// 2 KiB frames: a 1500-byte frame after the kernel's 256-byte XDP headroom, or a TUN packet at
// kFrameHeadroom plus the DTLS tag. Also the pipeline's kDefaultBufSize, so handles map 1:1.
inline constexpr uint32_t kFrameSize = datapath::kDefaultBufSize;

enum class CopyChoice { kZeroCopy, kCopy, kAuto };

struct XskQueueSettings {
  std::string ifname;
  uint32_t queue_id = 0;
  uint32_t frames = 4096;
  CopyChoice copy = CopyChoice::kAuto;
  int xsks_map_fd = -1;  // the XDP program's XSKMAP; entry queue_id is set to this socket
};

struct XskQueueStats {
  uint64_t rx_frames = 0;
  uint64_t tx_frames = 0;
  uint64_t tx_ring_full = 0;     // frames dropped: no TX descriptor free even after reclaiming
  uint64_t kick_failures = 0;    // sendto() wake-ups that failed with something else than EAGAIN/EBUSY
  uint64_t fill_starved = 0;     // refills that found no free frame (RX will drop in the kernel)
};

class XskQueue {
 public:
  static Result<std::unique_ptr<XskQueue>> create(const XskQueueSettings& settings);
  ~XskQueue();
  XskQueue(const XskQueue&) = delete;
  XskQueue& operator=(const XskQueue&) = delete;

  [[nodiscard]] int fd() const noexcept;
  [[nodiscard]] bool zero_copy() const noexcept { return zero_copy_; }

  // Up to max received frames as PktBufs whose window is the whole frame; the caller owns them
  // and gives each back with free() (or hands it to transmit()).
  uint32_t receive(datapath::PktBuf* out[], uint32_t max) noexcept;
  // Frames for the driver's own use (TUN reads, slow-path datagrams): reset, window empty at
  // kHeadroom. All or nothing.
  bool alloc_bulk(datapath::PktBuf* out[], uint32_t n) noexcept;
  datapath::PktBuf* alloc() noexcept;
  void free(datapath::PktBuf* pkt) noexcept;
  void free_bulk(datapath::PktBuf* const pkts[], uint32_t n) noexcept;
  // Queues frames (window = the whole Ethernet frame) on the TX ring and wakes the kernel.
  // Takes ownership of all n; those that do not fit are freed and counted. Returns how many
  // were queued.
  uint32_t transmit(datapath::PktBuf* const pkts[], uint32_t n) noexcept;
  // Moves completed TX frames back to the free stack and tops up the fill ring.
  void reclaim() noexcept;

  [[nodiscard]] const XskQueueStats& stats() const noexcept { return stats_; }
  // The kernel's view (XDP_STATISTICS): drops it saw on this socket.
  struct KernelStats {
    uint64_t rx_dropped = 0;
    uint64_t rx_invalid_descs = 0;
    uint64_t tx_invalid_descs = 0;
    uint64_t rx_ring_full = 0;
    uint64_t rx_fill_ring_empty_descs = 0;
    uint64_t tx_ring_empty_descs = 0;
  };
  [[nodiscard]] KernelStats kernel_stats() const noexcept;
  [[nodiscard]] uint32_t free_frames() const noexcept { return free_count_; }

 private:
  XskQueue() = default;
  void refill() noexcept;
  datapath::PktBuf* handle_of(uint64_t addr) noexcept { return &handles_[addr / kFrameSize]; }
  uint64_t addr_of(const datapath::PktBuf* p) const noexcept;

  struct UmemDeleter {
    uint32_t bytes;
    void operator()(uint8_t* p) const noexcept;
  };
  std::unique_ptr<uint8_t, UmemDeleter> area_;
  uint32_t frames_ = 0;
  std::unique_ptr<datapath::PktBuf[]> handles_;
  std::unique_ptr<uint32_t[]> free_;  // stack of free frame indices
  uint32_t free_count_ = 0;
  xsk_umem* umem_ = nullptr;
  xsk_socket* xsk_ = nullptr;
  xsk_ring_prod fill_{};
  xsk_ring_cons comp_{};
  xsk_ring_cons rx_{};
  xsk_ring_prod tx_{};
  uint32_t ring_size_ = 0;
  bool zero_copy_ = false;
  XskQueueStats stats_;
};

}  // namespace ocm::af_xdp
