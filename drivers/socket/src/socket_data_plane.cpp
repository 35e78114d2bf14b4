#include "ocm/socket/socket_data_plane.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
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
#include <netinet/in.h>
#include <netinet/udp.h>
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
#include "ocm/tun_io/tun_io.hpp"

namespace ocm::socket {
namespace {

using datapath::kBurst;
using datapath::PktBuf;

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
  void send_udp(PktBuf* const pkts[], uint16_t n) noexcept;
  void send_udp_plain(PktBuf* const pkts[], uint16_t n) noexcept;

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

  std::unique_ptr<tun_io::TunIo> tun;

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
      tun->write_burst(to_tun.data(), r.n_tun);
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

void SocketDataPlane::Impl::poll_tun(int fd) noexcept {
  bool had_buffers = tun_io::poll_tun_bursts(
      *tun, fd, ctx, kBurstsPerPoll, [this](PktBuf** out) { return pool.alloc_bulk(out, kBurst); },
      [this](PktBuf* const* pkts, uint16_t n) { pool.free_bulk(pkts, n); },
      [this](PktBuf* const* recs, uint16_t n) {
        send_udp(recs, n);
        pool.free_bulk(recs, n);
      });
  if (!had_buffers) {
    ++stats.pool_exhausted;
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

  auto made_tun = tun_io::TunIo::create(settings.tun_fds, settings.tun_gro, datapath::kHeadroom, kTailReserve);
  if (!made_tun) {
    return make_error("socket driver: " + made_tun.error().message);
  }
  impl->tun = std::move(made_tun).value();

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
  OCM_INFO("socket data plane: TUN %s, UDP GSO %s", impl->tun->stats().vnet_hdr ? "with TSO/GSO offloads" : "plain",
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
  return impl_->tun->write_one(packet);
}

SocketDriverStats SocketDataPlane::driver_stats() const noexcept {
  SocketDriverStats s = impl_->stats;
  s.udp_gso = impl_->udp_gso;
  const tun_io::TunIoStats& t = impl_->tun->stats();
  s.tun_write_failures = t.write_failures;
  s.tun_vnet_hdr = t.vnet_hdr;
  s.tun_gso_frames = t.gso_frames;
  s.tun_gso_segments = t.gso_segments;
  s.tun_gso_invalid = t.gso_invalid;
  s.tun_gso_segments_lost = t.gso_segments_lost;
  s.tun_csum_completed = t.csum_completed;
  s.tun_csum_invalid = t.csum_invalid;
  s.tun_read_oversize = t.read_oversize;
  s.tun_read_short = t.read_short;
  s.tun_gro_writes = t.gro_writes;
  s.tun_gro_packets = t.gro_packets;
  return s;
}

std::vector<std::pair<std::string, uint64_t>> SocketDataPlane::driver_counters() const {
  SocketDriverStats st = driver_stats();
  std::vector<std::pair<std::string, uint64_t>> out{
      {"udp_send_failures", st.udp_send_failures},
      {"pool_exhausted", st.pool_exhausted},
      {"udp_gso_sends", st.udp_gso_sends},
      {"udp_gso_records", st.udp_gso_records},
      {"udp_gso_emsgsize", st.udp_gso_emsgsize},
      {"udp_gso_disabled", st.udp_gso_disabled},
  };
  auto tun_counters = impl_->tun->counters();
  out.insert(out.end(), tun_counters.begin(), tun_counters.end());
  return out;
}

}  // namespace ocm::socket
