#include "ocm/socket/socket_data_plane.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
// <linux/virtio_net.h> names a member `class` (virtio_net_ctrl_hdr): renamed for C++ while included.
#define class virtio_class  // NOLINT(cppcoreguidelines-macro-usage)
#include <linux/virtio_net.h>
#undef class
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "ocm/base/log.hpp"
#include "ocm/crypto/aead.hpp"
#include "ocm/crypto/dtls_record.hpp"
#include "ocm/datapath/gso.hpp"
#include "ocm/datapath/pipeline.hpp"

namespace ocm::socket {
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

// Bursts per poll() call: bounded so that TLS connections on the same loop are served between
// bursts even under a flood (8 x 32 packets ~ 100 µs of work). A TSO super-packet that is being
// cut is always finished within the call (at most 64 KiB of work), since no readiness event
// would bring us back for it.
constexpr int kBurstsPerPoll = 8;
// One burst in flight per direction plus the packets the slow path seals: 4 bursts' worth is
// never exhausted; the rest covers send_payload calls made while a burst is being processed.
constexpr uint32_t kPoolPackets = 8 * kBurst;
// Slow-path rings: 1024 handshake datagrams and 1024 CSTP packets (2 KiB each) queue while the
// loop finishes the current burst; a full ring drops and counts.
constexpr uint32_t kControlRingSize = 1024;
constexpr uint32_t kCstpRingSize = 1024;
// Room after the packet for the DTLS tag and before it for the record header (kHeadroom).
constexpr uint32_t kTailReserve = 64;
// A TSO super-packet: at most 64 KiB of IP packet (the TUN's default gso_max_size); one extra
// page so that a frame that fills the buffer is recognisably too big rather than cut short.
constexpr uint32_t kSuperBufSize = 65536 + 4096;
// Segments per GSO write to TUN: one burst's worth (a burst never holds more).
constexpr uint16_t kMaxGroSegments = kBurst;

uint64_t random_seed() {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
    seed = 0x9e3779b97f4a7c15ULL ^ static_cast<uint64_t>(getpid());
  }
  return seed;
}

datapath::Peer peer_of(const sockaddr_in& sin) {
  return datapath::Peer::v4(ntohl(sin.sin_addr.s_addr), ntohs(sin.sin_port));
}

sockaddr_in sockaddr_of(const datapath::Peer& peer) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(peer.port);
  sin.sin_addr.s_addr = htonl(peer.addr.v4_host());
  return sin;
}

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

struct SocketDataPlane::Impl {
  SocketDataPlane* owner = nullptr;  // for the control hook, which lives in the DataPlane base
  Impl(std::unique_ptr<crypto::CryptoEngine> engine_in, const SocketDataPlaneSettings& s, uint32_t slots,
       uint32_t buf_size)
      : settings(s),
        engine(std::move(engine_in)),
        pool(kPoolPackets, buf_size),
        sessions(slots, s.pool, random_seed()),
        control(kControlRingSize),
        cstp(kCstpRingSize),
        ctx(*engine, sessions, control, cstp, counters) {}

  ~Impl() {
    if (udp_fd >= 0) {
      ::close(udp_fd);
    }
  }

  void poll_udp() noexcept;
  void poll_tun(int fd) noexcept;
  uint16_t fill_tun_burst(int fd, PktBuf* in[]) noexcept;
  void send_udp(PktBuf* const pkts[], uint16_t n) noexcept;
  void send_udp_plain(PktBuf* const pkts[], uint16_t n) noexcept;
  void write_tun_burst(PktBuf* const pkts[], uint16_t n) noexcept;
  bool write_tun_one(const uint8_t* data, size_t len) noexcept;

  [[nodiscard]] uint32_t room() const noexcept { return pool.buf_size() - datapath::kHeadroom - kTailReserve; }

  SocketDataPlaneSettings settings;
  int udp_fd = -1;
  std::unique_ptr<crypto::CryptoEngine> engine;
  datapath::PktPool pool;
  datapath::SessionTable sessions;
  datapath::ControlRing control;
  datapath::CstpRing cstp;
  datapath::Counters counters;
  datapath::Ctx ctx;
  SocketDriverStats stats;

  // TUN with virtio_net headers: the super-packet being cut (contiguous in `super`).
  bool vnet = false;
  std::unique_ptr<uint8_t[]> super;
  uint32_t super_len = 0;
  datapath::TsoPlan plan;
  uint16_t next_segment = 0;
  bool pending = false;

  // UDP GSO: records above this size are sent one by one (learned from EMSGSIZE).
  bool udp_gso = false;
  uint16_t gso_seg_limit = UINT16_MAX;
};

// ---- UDP transmit ---------------------------------------------------------------------------------

void SocketDataPlane::Impl::send_udp_plain(PktBuf* const pkts[], uint16_t n) noexcept {
  std::array<mmsghdr, kBurst> msgs{};
  std::array<iovec, kBurst> iov{};
  std::array<sockaddr_in, kBurst> addrs{};
  uint16_t done = 0;
  while (done < n) {
    uint16_t batch = static_cast<uint16_t>(std::min<int>(n - done, kBurst));
    for (uint16_t i = 0; i < batch; ++i) {
      PktBuf* p = pkts[done + i];
      addrs[i] = sockaddr_of(p->meta.peer);
      iov[i] = iovec{p->data(), p->len()};
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = ::sendmmsg(udp_fd, msgs.data(), batch, MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR) {
        continue;
      }
      // Socket buffer full or the peer unreachable: UDP is lossy by contract, drop the rest of
      // this batch rather than spin.
      stats.udp_send_failures += batch;
      done = static_cast<uint16_t>(done + batch);
      continue;
    }
    if (sent == 0) {
      stats.udp_send_failures += batch;
      done = static_cast<uint16_t>(done + batch);
      continue;
    }
    done = static_cast<uint16_t>(done + sent);
  }
}

void SocketDataPlane::Impl::send_udp(PktBuf* const pkts[], uint16_t n) noexcept {
  if (!udp_gso) {
    send_udp_plain(pkts, n);
    return;
  }
  // One cmsg buffer per message, aligned for cmsghdr.
  union GsoCmsg {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    cmsghdr align;
  };
  std::array<datapath::UdpGsoGroup, kBurst> groups{};
  std::array<mmsghdr, kBurst> msgs{};
  std::array<iovec, kBurst> iov{};
  std::array<sockaddr_in, kBurst> addrs{};
  std::array<GsoCmsg, kBurst> cmsgs{};
  uint16_t base = 0;
  while (base < n) {
    if (!udp_gso) {  // switched off while sending an earlier chunk
      send_udp_plain(pkts + base, static_cast<uint16_t>(n - base));
      return;
    }
    auto chunk = static_cast<uint16_t>(std::min<int>(n - base, kBurst));
    PktBuf* const* in = pkts + base;
    uint16_t ng = datapath::group_udp_gso(in, chunk, datapath::kUdpMaxSegments, gso_seg_limit, groups.data());
    for (uint16_t i = 0; i < chunk; ++i) {
      iov[i] = iovec{in[i]->data(), in[i]->len()};
    }
    for (uint16_t g = 0; g < ng; ++g) {
      const auto& grp = groups[g];
      addrs[g] = sockaddr_of(in[grp.first]->meta.peer);
      msgs[g] = mmsghdr{};
      msghdr& m = msgs[g].msg_hdr;
      m.msg_name = &addrs[g];
      m.msg_namelen = sizeof(sockaddr_in);
      m.msg_iov = &iov[grp.first];
      m.msg_iovlen = grp.count;
      if (grp.count > 1) {
        m.msg_control = cmsgs[g].buf;
        m.msg_controllen = sizeof(cmsgs[g].buf);
        cmsghdr* c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t seg = grp.seg_size;
        std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
      }
    }
    uint16_t g = 0;
    while (g < ng) {
      int sent = ::sendmmsg(udp_fd, msgs.data() + g, ng - g, MSG_DONTWAIT);
      if (sent > 0) {
        for (int k = 0; k < sent; ++k) {
          const auto& grp = groups[g + k];
          if (grp.count > 1) {
            ++stats.udp_gso_sends;
            stats.udp_gso_records += grp.count;
          }
        }
        g = static_cast<uint16_t>(g + sent);
        continue;
      }
      int err = sent < 0 ? errno : EAGAIN;
      if (err == EINTR) {
        continue;
      }
      const auto& grp = groups[g];
      if (grp.count > 1 && (err == EIO || err == EINVAL)) {
        // The kernel (or the egress device: no checksum offload) does not do UDP GSO.
        udp_gso = false;
        stats.udp_gso_disabled = 1;
        OCM_WARN("UDP GSO refused by the kernel (%s); sending datagrams one by one", std::strerror(err));
        send_udp_plain(in + grp.first, static_cast<uint16_t>(chunk - grp.first));
        return;
      }
      if (grp.count > 1 && err == EMSGSIZE) {
        // A segment exceeds the path MTU: without GSO the kernel fragments it, as it always did.
        ++stats.udp_gso_emsgsize;
        gso_seg_limit = static_cast<uint16_t>(grp.seg_size - 1);
        send_udp_plain(in + grp.first, grp.count);
        ++g;
        continue;
      }
      if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
        // Socket buffer full: UDP is lossy by contract, drop the rest rather than spin.
        for (uint16_t k = g; k < ng; ++k) {
          stats.udp_send_failures += groups[k].count;
        }
        break;
      }
      // This destination failed (e.g. unreachable); the others may still go out.
      stats.udp_send_failures += grp.count;
      ++g;
    }
    base = static_cast<uint16_t>(base + chunk);
  }
}

// ---- TUN transmit ---------------------------------------------------------------------------------

bool SocketDataPlane::Impl::write_tun_one(const uint8_t* data, size_t len) noexcept {
  int fd = settings.tun_fds.front();
  if (!vnet) {
    return ::write(fd, data, len) == static_cast<ssize_t>(len);
  }
  // Every write carries a virtio_net header; all zero = a plain packet with a full checksum.
  VnetHdr hdr{};
  std::array<iovec, 2> iov{iovec{&hdr, kVnetHdrLen}, iovec{const_cast<uint8_t*>(data), len}};
  return ::writev(fd, iov.data(), 2) == static_cast<ssize_t>(kVnetHdrLen + len);
}

void SocketDataPlane::Impl::write_tun_burst(PktBuf* const pkts[], uint16_t n) noexcept {
  // TUN has no batched write: one write(2) per packet, or per merged run of TCP segments.
  if (!vnet || !settings.tun_gro) {
    for (uint16_t i = 0; i < n; ++i) {
      if (!write_tun_one(pkts[i]->data(), pkts[i]->len())) {
        ++stats.tun_write_failures;
      }
    }
    return;
  }
  int fd = settings.tun_fds.front();
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
        if (!write_tun_one(in[grp.first]->data(), in[grp.first]->len())) {
          ++stats.tun_write_failures;
        }
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
        ++stats.tun_gro_writes;
        stats.tun_gro_packets += grp.count;
      } else {
        stats.tun_write_failures += grp.count;
      }
    }
    done = static_cast<uint16_t>(done + chunk);
  }
}

// ---- UDP receive ----------------------------------------------------------------------------------

void SocketDataPlane::Impl::poll_udp() noexcept {
  for (int b = 0; b < kBurstsPerPoll; ++b) {
    std::array<PktBuf*, kBurst> in{};
    if (!pool.alloc_bulk(in.data(), kBurst)) {
      ++stats.pool_exhausted;
      return;
    }
    std::array<mmsghdr, kBurst> msgs{};
    std::array<iovec, kBurst> iov{};
    std::array<sockaddr_in, kBurst> addrs{};
    for (uint16_t i = 0; i < kBurst; ++i) {
      iov[i] = iovec{in[i]->buffer() + datapath::kHeadroom, room()};
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int got = ::recvmmsg(udp_fd, msgs.data(), kBurst, MSG_DONTWAIT, nullptr);
    if (got <= 0) {
      pool.free_bulk(in.data(), kBurst);
      return;
    }
    auto n = static_cast<uint16_t>(got);
    for (uint16_t i = 0; i < n; ++i) {
      in[i]->set_window(datapath::kHeadroom, msgs[i].msg_len);
      in[i]->meta.peer = peer_of(addrs[i]);
    }
    pool.free_bulk(in.data() + n, kBurst - n);

    // The burst is cut after every datagram that starts with a handshake, CCS or alert record,
    // and the slow path runs (control hook) before the rest is opened: a client's Finished and
    // its first data record often arrive together, and that record needs the keys the Finished
    // completes.
    uint16_t start = 0;
    while (start < n) {
      uint16_t end = start;
      bool has_control = false;
      while (end < n && !has_control) {
        auto bytes = in[end]->bytes();
        has_control = !bytes.empty() && (bytes[0] == crypto::kContentHandshake ||
                                     bytes[0] == crypto::kContentChangeCipherSpec || bytes[0] == crypto::kContentAlert);
        ++end;
      }
      std::array<PktBuf*, kBurst> to_tun{};
      std::array<PktBuf*, kBurst> to_udp{};
      std::array<PktBuf*, kBurst> to_free{};
      auto r = datapath::process_udp_rx(ctx, in.data() + start, static_cast<uint16_t>(end - start), to_tun.data(),
                                        to_udp.data(), to_free.data());
      write_tun_burst(to_tun.data(), r.n_tun);
      send_udp(to_udp.data(), r.n_udp);
      pool.free_bulk(to_tun.data(), r.n_tun);
      pool.free_bulk(to_udp.data(), r.n_udp);
      pool.free_bulk(to_free.data(), r.n_free);
      if (has_control && end < n) {
        owner->run_control_hook();
      }
      start = end;
    }
    if (n < kBurst) {
      return;
    }
  }
}

// ---- TUN receive ----------------------------------------------------------------------------------

// Fills in[0, kBurst) (allocated) with IP packets from TUN; returns how many. With virtio_net
// headers a TSO super-packet is read whole into `super`, planned, and its segments written
// straight into the packet buffers, across as many bursts as it takes (pending).
uint16_t SocketDataPlane::Impl::fill_tun_burst(int fd, PktBuf* in[]) noexcept {
  const uint32_t buf_room = room();
  uint16_t n = 0;
  while (n < kBurst) {
    if (pending) {
      while (n < kBurst && next_segment < plan.segments) {
        uint16_t len = datapath::write_tso_segment({super.get(), super_len}, plan, next_segment,
                                                   in[n]->buffer() + datapath::kHeadroom);
        in[n]->set_window(datapath::kHeadroom, len);
        ++next_segment;
        ++n;
      }
      if (next_segment == plan.segments) {
        pending = false;
      }
      continue;
    }
    if (!vnet) {
      ssize_t len = ::read(fd, in[n]->buffer() + datapath::kHeadroom, buf_room);
      if (len <= 0) {
        break;
      }
      in[n]->set_window(datapath::kHeadroom, static_cast<uint32_t>(len));
      ++n;
      continue;
    }
    // Header into `hdr`, the start of the frame straight into the packet buffer (a plain packet
    // is then already in place), anything longer into the super-packet buffer behind it.
    VnetHdr hdr{};
    uint8_t* first = in[n]->buffer() + datapath::kHeadroom;
    std::array<iovec, 3> iov{iovec{&hdr, kVnetHdrLen}, iovec{first, buf_room},
                             iovec{super.get() + buf_room, kSuperBufSize - buf_room}};
    ssize_t got = ::readv(fd, iov.data(), 3);
    if (got <= 0) {
      break;
    }
    if (static_cast<size_t>(got) < kVnetHdrLen) {
      ++stats.tun_read_short;
      continue;
    }
    auto len = static_cast<uint32_t>(static_cast<size_t>(got) - kVnetHdrLen);
    if (len >= kSuperBufSize) {  // filled the buffer: possibly cut short by the kernel
      ++stats.tun_read_oversize;
      continue;
    }
    if (hdr.gso_type == datapath::kVnetGsoNone) {
      if (len > buf_room) {
        ++stats.tun_read_oversize;
        continue;
      }
      if ((hdr.flags & datapath::kVnetFlagNeedsCsum) != 0) {
        if (datapath::complete_checksum({first, len}, hdr.csum_start, hdr.csum_offset) != datapath::GsoVerdict::kOk) {
          ++stats.tun_csum_invalid;
          continue;
        }
        ++stats.tun_csum_completed;
      }
      in[n]->set_window(datapath::kHeadroom, len);
      ++n;
      continue;
    }
    // A super-packet: make it contiguous (the head went to the packet buffer) and plan the cut.
    std::memcpy(super.get(), first, std::min(len, buf_room));
    datapath::TsoPlan p;
    if (datapath::plan_tso({super.get(), len}, hdr, buf_room, p) != datapath::GsoVerdict::kOk) {
      ++stats.tun_gso_invalid;
      continue;
    }
    plan = p;
    super_len = len;
    next_segment = 0;
    pending = true;
    ++stats.tun_gso_frames;
    stats.tun_gso_segments += p.segments;
  }
  return n;
}

void SocketDataPlane::Impl::poll_tun(int fd) noexcept {
  for (int b = 0; b < kBurstsPerPoll || pending; ++b) {
    std::array<PktBuf*, kBurst> in{};
    if (!pool.alloc_bulk(in.data(), kBurst)) {
      ++stats.pool_exhausted;
      if (pending) {
        stats.tun_gso_segments_lost += plan.segments - next_segment;
        pending = false;
      }
      return;
    }
    uint16_t n = fill_tun_burst(fd, in.data());
    pool.free_bulk(in.data() + n, kBurst - n);
    if (n == 0) {
      return;
    }
    std::array<PktBuf*, kBurst> to_udp{};
    std::array<PktBuf*, kBurst> to_free{};
    auto r = datapath::process_tun_rx(ctx, in.data(), n, to_udp.data(), to_free.data());
    send_udp(to_udp.data(), r.n_udp);
    pool.free_bulk(to_udp.data(), r.n_udp);
    pool.free_bulk(to_free.data(), r.n_free);
    if (n < kBurst && !pending) {
      return;
    }
  }
}

// ---- setup ----------------------------------------------------------------------------------------

Result<std::unique_ptr<SocketDataPlane>> SocketDataPlane::create(const SocketDataPlaneSettings& settings) {
  if (settings.tun_fds.empty()) {
    return make_error("socket driver: no TUN queue");
  }
  auto engine = crypto::CryptoEngine::create();
  if (!engine) {
    return engine.error();
  }
  uint32_t pool_addresses = settings.pool.length >= 32 ? 1u : (1u << (32 - settings.pool.length));
  uint32_t slots = settings.max_sessions != 0 ? settings.max_sessions : pool_addresses;
  auto impl = std::make_unique<Impl>(std::move(engine).value(), settings, slots, datapath::kDefaultBufSize);

  // Every queue must agree on the virtio_net header: reads and writes depend on it.
  int vnet = -2;
  for (int tfd : settings.tun_fds) {
    std::string why;
    int v = tun_vnet_hdr(tfd, why);
    if (v < 0) {
      return make_error("socket driver: TUN queue " + std::to_string(tfd) + ": " + why);
    }
    if (vnet != -2 && v != vnet) {
      return make_error("socket driver: TUN queues disagree on IFF_VNET_HDR");
    }
    vnet = v;
  }
  impl->vnet = vnet == 1;
  impl->stats.tun_vnet_hdr = impl->vnet;
  if (impl->vnet) {
    impl->super = std::make_unique<uint8_t[]>(kSuperBufSize);
  }

  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return make_error("socket driver: socket(AF_INET, SOCK_DGRAM): " + errno_text());
  }
  impl->udp_fd = fd;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int size = settings.socket_buffer_bytes;
  // The *FORCE variants pass net.core.[rw]mem_max when we run as root; otherwise the kernel
  // caps the request, which still works, only with more drops under bursts.
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
  if (settings.udp_gso) {
    // Probe: a kernel without UDP GSO (< 4.18) rejects the option; per-send cmsgs are used after.
    int seg = 0;
    impl->udp_gso = ::setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) == 0;
    if (!impl->udp_gso) {
      OCM_WARN("UDP GSO unavailable (%s); sending datagrams one by one", errno_text().c_str());
    }
  }
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(settings.udp_port);
  sin.sin_addr.s_addr = htonl(settings.bind_address);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof sin) != 0) {
    return make_error("cannot bind UDP " + format_ipv4(settings.bind_address) + ":" +
                      std::to_string(settings.udp_port) + " for DTLS: " + errno_text());
  }
  OCM_INFO("socket data plane: TUN %s, UDP GSO %s", impl->vnet ? "with TSO/GSO offloads" : "plain",
           impl->udp_gso ? "on" : "off");
  return std::unique_ptr<SocketDataPlane>(new SocketDataPlane(std::move(impl)));
}

SocketDataPlane::SocketDataPlane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->owner = this; }

SocketDataPlane::~SocketDataPlane() {
  const SocketDriverStats s = driver_stats();
  OCM_INFO(
      "socket data plane: tun_gso_frames=%lu tun_gso_segments=%lu tun_gso_invalid=%lu tun_gso_segments_lost=%lu "
      "tun_csum_completed=%lu tun_csum_invalid=%lu tun_read_oversize=%lu tun_read_short=%lu tun_gro_writes=%lu "
      "tun_gro_packets=%lu tun_write_failures=%lu udp_gso=%s udp_gso_sends=%lu udp_gso_records=%lu "
      "udp_gso_emsgsize=%lu udp_gso_disabled=%lu udp_send_failures=%lu pool_exhausted=%lu",
      static_cast<unsigned long>(s.tun_gso_frames), static_cast<unsigned long>(s.tun_gso_segments),
      static_cast<unsigned long>(s.tun_gso_invalid), static_cast<unsigned long>(s.tun_gso_segments_lost),
      static_cast<unsigned long>(s.tun_csum_completed), static_cast<unsigned long>(s.tun_csum_invalid),
      static_cast<unsigned long>(s.tun_read_oversize), static_cast<unsigned long>(s.tun_read_short),
      static_cast<unsigned long>(s.tun_gro_writes), static_cast<unsigned long>(s.tun_gro_packets),
      static_cast<unsigned long>(s.tun_write_failures), s.udp_gso ? "on" : "off",
      static_cast<unsigned long>(s.udp_gso_sends), static_cast<unsigned long>(s.udp_gso_records),
      static_cast<unsigned long>(s.udp_gso_emsgsize), static_cast<unsigned long>(s.udp_gso_disabled),
      static_cast<unsigned long>(s.udp_send_failures), static_cast<unsigned long>(s.pool_exhausted));
}

std::vector<int> SocketDataPlane::poll_fds() const {
  std::vector<int> fds{impl_->udp_fd};
  fds.insert(fds.end(), impl_->settings.tun_fds.begin(), impl_->settings.tun_fds.end());
  return fds;
}

void SocketDataPlane::poll(int fd, uint64_t now_ns) noexcept {
  impl_->ctx.now_ns = now_ns;
  if (fd == impl_->udp_fd) {
    impl_->poll_udp();
  } else {
    impl_->poll_tun(fd);
  }
}

datapath::Ctx& SocketDataPlane::ctx() noexcept { return impl_->ctx; }

bool SocketDataPlane::send_datagram(const datapath::Peer& peer, std::span<const uint8_t> datagram) noexcept {
  sockaddr_in sin = sockaddr_of(peer);
  ssize_t n = ::sendto(impl_->udp_fd, datagram.data(), datagram.size(), MSG_DONTWAIT,
                       reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
  if (n != static_cast<ssize_t>(datagram.size())) {
    ++impl_->stats.udp_send_failures;
    return false;
  }
  return true;
}

bool SocketDataPlane::send_payload(uint32_t slot, std::span<const uint8_t> payload, uint64_t now_ns) noexcept {
  PktBuf* p = impl_->pool.alloc();
  if (p == nullptr) {
    ++impl_->stats.pool_exhausted;
    return false;
  }
  if (!p->assign(payload)) {
    impl_->pool.free(p);
    return false;
  }
  p->meta.slot = slot;
  p->meta.kind = datapath::PktKind::kDtlsPayload;
  impl_->ctx.now_ns = now_ns;
  PktBuf* to_udp[1] = {};
  PktBuf* to_free[1] = {};
  PktBuf* in[1] = {p};
  auto r = datapath::seal_payloads(impl_->ctx, in, 1, to_udp, to_free);
  impl_->send_udp(to_udp, r.n_udp);
  impl_->pool.free_bulk(to_udp, r.n_udp);
  impl_->pool.free_bulk(to_free, r.n_free);
  return r.n_udp == 1;
}

bool SocketDataPlane::write_tun(std::span<const uint8_t> packet) noexcept {
  if (!impl_->write_tun_one(packet.data(), packet.size())) {
    ++impl_->stats.tun_write_failures;
    return false;
  }
  return true;
}

SocketDriverStats SocketDataPlane::driver_stats() const noexcept {
  SocketDriverStats s = impl_->stats;
  s.udp_gso = impl_->udp_gso;
  return s;
}

std::vector<std::pair<std::string, uint64_t>> SocketDataPlane::driver_counters() const {
  SocketDriverStats st = driver_stats();
  return {
      {"udp_send_failures", st.udp_send_failures},
      {"tun_write_failures", st.tun_write_failures},
      {"pool_exhausted", st.pool_exhausted},
      {"tun_gso_frames", st.tun_gso_frames},
      {"tun_gso_segments", st.tun_gso_segments},
      {"tun_gso_invalid", st.tun_gso_invalid},
      {"tun_gso_segments_lost", st.tun_gso_segments_lost},
      {"tun_csum_completed", st.tun_csum_completed},
      {"tun_csum_invalid", st.tun_csum_invalid},
      {"tun_read_oversize", st.tun_read_oversize},
      {"tun_read_short", st.tun_read_short},
      {"tun_gro_writes", st.tun_gro_writes},
      {"tun_gro_packets", st.tun_gro_packets},
      {"udp_gso_sends", st.udp_gso_sends},
      {"udp_gso_records", st.udp_gso_records},
      {"udp_gso_emsgsize", st.udp_gso_emsgsize},
      {"udp_gso_disabled", st.udp_gso_disabled},
  };
}

}  // namespace ocm::socket
