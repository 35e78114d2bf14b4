#include "ocm/tun_io/tun_io.hpp"

#include <linux/if.h>
#include <linux/if_tun.h>
// <linux/virtio_net.h> names a member `class` (virtio_net_ctrl_hdr): renamed for C++ while included.
// clang warns about any macro named like a keyword; this one is deliberate and scoped to the include.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wkeyword-macro"
#endif
#define class virtio_class  // NOLINT(cppcoreguidelines-macro-usage)
#include <linux/virtio_net.h>
#undef class
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "ocm/datapath/burst.hpp"

namespace ocm::tun_io {
namespace {

using datapath::kBurst;
using datapath::PktBuf;
using datapath::VnetHdr;

// Our mirror of the kernel's header must match it byte for byte.
static_assert(sizeof(VnetHdr) == sizeof(virtio_net_hdr));
static_assert(offsetof(VnetHdr, flags) == offsetof(virtio_net_hdr, flags));
static_assert(offsetof(VnetHdr, gso_type) == offsetof(virtio_net_hdr, gso_type));
static_assert(offsetof(VnetHdr, hdr_len) == offsetof(virtio_net_hdr, hdr_len));
static_assert(offsetof(VnetHdr, gso_size) == offsetof(virtio_net_hdr, gso_size));
static_assert(offsetof(VnetHdr, csum_start) == offsetof(virtio_net_hdr, csum_start));
static_assert(offsetof(VnetHdr, csum_offset) == offsetof(virtio_net_hdr, csum_offset));
static_assert(datapath::kVnetFlagNeedsCsum == VIRTIO_NET_HDR_F_NEEDS_CSUM);
static_assert(datapath::kVnetGsoNone == VIRTIO_NET_HDR_GSO_NONE);
static_assert(datapath::kVnetGsoTcpV4 == VIRTIO_NET_HDR_GSO_TCPV4);
static_assert(datapath::kVnetGsoTcpV6 == VIRTIO_NET_HDR_GSO_TCPV6);
static_assert(datapath::kVnetGsoUdp == VIRTIO_NET_HDR_GSO_UDP);
static_assert(datapath::kVnetGsoEcn == VIRTIO_NET_HDR_GSO_ECN);
// The TUN device's virtio_net header is in native byte order (no TUNSETVNETBE/LE here), which
// our plain uint16_t fields assume on a little-endian host.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio_net header fields are read natively");

constexpr size_t kVnetHdrLen = sizeof(VnetHdr);
// A TSO super-packet: at most 64 KiB of IP packet (the TUN's default gso_max_size); one extra
// page so that a frame that fills the buffer is recognisably too big rather than cut short.
constexpr uint32_t kSuperBufSize = 65536 + 4096;
// Segments per GSO write to TUN: one burst's worth (a burst never holds more).
constexpr uint16_t kMaxGroSegments = kBurst;

std::string errno_text() { return std::strerror(errno); }

// 1 = the descriptor is a TUN queue with IFF_VNET_HDR (header size made 10), 0 = without, -1 =
// error (message in `why`). Descriptors that are not TUN queues (tests) count as without.
int tun_vnet_hdr(int fd, std::string& why) {
  ifreq ifr{};
  if (::ioctl(fd, TUNGETIFF, &ifr) < 0) {
    return 0;
  }
  if ((ifr.ifr_flags & IFF_VNET_HDR) == 0) {
    return 0;
  }
  int size = 0;
  if (::ioctl(fd, TUNGETVNETHDRSZ, &size) < 0) {
    why = "TUNGETVNETHDRSZ: " + errno_text();
    return -1;
  }
  if (size != static_cast<int>(kVnetHdrLen)) {
    size = static_cast<int>(kVnetHdrLen);
    if (::ioctl(fd, TUNSETVNETHDRSZ, &size) < 0) {
      why = "TUNSETVNETHDRSZ: " + errno_text();
      return -1;
    }
  }
  return 1;
}

}  // namespace

Result<std::unique_ptr<TunIo>> TunIo::create(std::vector<int> fds, bool gro, uint16_t headroom,
                                             uint32_t tail_reserve) {
  if (fds.empty()) {
    return make_error("no TUN queue");
  }
  // Every queue must agree on the virtio_net header: reads and writes depend on it.
  int vnet = -2;
  for (int fd : fds) {
    std::string why;
    int v = tun_vnet_hdr(fd, why);
    if (v < 0) {
      return make_error("TUN queue " + std::to_string(fd) + ": " + why);
    }
    if (vnet != -2 && v != vnet) {
      return make_error("TUN queues disagree on IFF_VNET_HDR");
    }
    vnet = v;
  }
  return std::unique_ptr<TunIo>(new TunIo(std::move(fds), vnet == 1, gro, headroom, tail_reserve));
}

TunIo::TunIo(std::vector<int> fds, bool vnet, bool gro, uint16_t headroom, uint32_t tail_reserve)
    : fds_(std::move(fds)), vnet_(vnet), gro_(gro), headroom_(headroom), tail_reserve_(tail_reserve) {
  stats_.vnet_hdr = vnet_;
  if (vnet_) {
    super_ = std::make_unique<uint8_t[]>(kSuperBufSize);
  }
}

void TunIo::abandon_pending() noexcept {
  if (pending_) {
    stats_.gso_segments_lost += plan_.segments - next_segment_;
    pending_ = false;
  }
}

// With virtio_net headers a TSO super-packet is read whole into super_, planned, and its
// segments written straight into the packet buffers, across as many bursts as it takes.
uint16_t TunIo::fill_burst(int fd, PktBuf* const in[]) noexcept {
  const uint32_t buf_room = in[0]->capacity() - headroom_ - tail_reserve_;
  uint16_t n = 0;
  while (n < kBurst) {
    if (pending_) {
      while (n < kBurst && next_segment_ < plan_.segments) {
        uint16_t len = datapath::write_tso_segment({super_.get(), super_len_}, plan_, next_segment_,
                                                   in[n]->buffer() + headroom_);
        in[n]->set_window(headroom_, len);
        ++next_segment_;
        ++n;
      }
      if (next_segment_ == plan_.segments) {
        pending_ = false;
      }
      continue;
    }
    if (!vnet_) {
      ssize_t len = ::read(fd, in[n]->buffer() + headroom_, buf_room);
      if (len <= 0) {
        break;
      }
      in[n]->set_window(headroom_, static_cast<uint32_t>(len));
      ++n;
      continue;
    }
    // Header into `hdr`, the start of the frame straight into the packet buffer (a plain packet
    // is then already in place), anything longer into the super-packet buffer behind it.
    VnetHdr hdr{};
    uint8_t* first = in[n]->buffer() + headroom_;
    std::array<iovec, 3> iov{iovec{&hdr, kVnetHdrLen}, iovec{first, buf_room},
                             iovec{super_.get() + buf_room, kSuperBufSize - buf_room}};
    ssize_t got = ::readv(fd, iov.data(), 3);
    if (got <= 0) {
      break;
    }
    if (static_cast<size_t>(got) < kVnetHdrLen) {
      ++stats_.read_short;
      continue;
    }
    auto len = static_cast<uint32_t>(static_cast<size_t>(got) - kVnetHdrLen);
    if (len >= kSuperBufSize) {  // filled the buffer: possibly cut short by the kernel
      ++stats_.read_oversize;
      continue;
    }
    if (hdr.gso_type == datapath::kVnetGsoNone) {
      if (len > buf_room) {
        ++stats_.read_oversize;
        continue;
      }
      if ((hdr.flags & datapath::kVnetFlagNeedsCsum) != 0) {
        if (datapath::complete_checksum({first, len}, hdr.csum_start, hdr.csum_offset) != datapath::GsoVerdict::kOk) {
          ++stats_.csum_invalid;
          continue;
        }
        ++stats_.csum_completed;
      }
      in[n]->set_window(headroom_, len);
      ++n;
      continue;
    }
    // A super-packet: make it contiguous (the head went to the packet buffer) and plan the cut.
    std::memcpy(super_.get(), first, std::min(len, buf_room));
    datapath::TsoPlan p;
    if (datapath::plan_tso({super_.get(), len}, hdr, buf_room, p) != datapath::GsoVerdict::kOk) {
      ++stats_.gso_invalid;
      continue;
    }
    plan_ = p;
    super_len_ = len;
    next_segment_ = 0;
    pending_ = true;
    ++stats_.gso_frames;
    stats_.gso_segments += p.segments;
  }
  return n;
}

bool TunIo::write_plain(const uint8_t* data, size_t len) noexcept {
  int fd = fds_.front();
  if (!vnet_) {
    return ::write(fd, data, len) == static_cast<ssize_t>(len);
  }
  // Every write carries a virtio_net header; all zero = a plain packet with a full checksum.
  VnetHdr hdr{};
  std::array<iovec, 2> iov{iovec{&hdr, kVnetHdrLen}, iovec{const_cast<uint8_t*>(data), len}};
  return ::writev(fd, iov.data(), 2) == static_cast<ssize_t>(kVnetHdrLen + len);
}

bool TunIo::write_one(std::span<const uint8_t> packet) noexcept {
  if (!write_plain(packet.data(), packet.size())) {
    ++stats_.write_failures;
    return false;
  }
  return true;
}

void TunIo::write_burst(PktBuf* const pkts[], uint16_t n) noexcept {
  // TUN has no batched write: one write(2) per packet, or per merged run of TCP segments.
  if (!vnet_ || !gro_) {
    for (uint16_t i = 0; i < n; ++i) {
      write_one(pkts[i]->bytes());
    }
    return;
  }
  int fd = fds_.front();
  std::array<datapath::TcpCoalesceGroup, kBurst> groups{};
  std::array<iovec, kBurst + 1> iov{};
  uint16_t done = 0;
  while (done < n) {
    auto chunk = static_cast<uint16_t>(std::min<int>(n - done, kBurst));
    PktBuf* const* in = pkts + done;
    uint16_t ng = datapath::plan_tcp_coalesce(in, chunk, kMaxGroSegments, groups.data());
    for (uint16_t g = 0; g < ng; ++g) {
      const auto& grp = groups[g];
      if (grp.count == 1) {
        write_one(in[grp.first]->bytes());
        continue;
      }
      VnetHdr hdr{};
      datapath::finish_tcp_coalesce(in, grp, hdr);
      // The merged packet: header, the first packet whole, then the others' payloads. The
      // kernel gathers the pieces; nothing is copied here.
      iov[0] = iovec{&hdr, kVnetHdrLen};
      iov[1] = iovec{in[grp.first]->data(), in[grp.first]->len()};
      size_t total = kVnetHdrLen + in[grp.first]->len();
      for (uint16_t k = 1; k < grp.count; ++k) {
        PktBuf* m = in[grp.first + k];
        iov[k + 1] = iovec{m->data() + grp.hdr_len, static_cast<size_t>(m->len() - grp.hdr_len)};
        total += m->len() - grp.hdr_len;
      }
      if (::writev(fd, iov.data(), grp.count + 1) == static_cast<ssize_t>(total)) {
        ++stats_.gro_writes;
        stats_.gro_packets += grp.count;
      } else {
        stats_.write_failures += grp.count;
      }
    }
    done = static_cast<uint16_t>(done + chunk);
  }
}

std::vector<std::pair<std::string, uint64_t>> TunIo::counters() const {
  const TunIoStats& t = stats_;
  return {
      {"tun_write_failures", t.write_failures},
      {"tun_gso_frames", t.gso_frames},
      {"tun_gso_segments", t.gso_segments},
      {"tun_gso_invalid", t.gso_invalid},
      {"tun_gso_segments_lost", t.gso_segments_lost},
      {"tun_csum_completed", t.csum_completed},
      {"tun_csum_invalid", t.csum_invalid},
      {"tun_read_oversize", t.read_oversize},
      {"tun_read_short", t.read_short},
      {"tun_gro_writes", t.gro_writes},
      {"tun_gro_packets", t.gro_packets},
  };
}

}  // namespace ocm::tun_io
