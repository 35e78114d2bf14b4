#include "ocm/socket/socket_data_plane.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "ocm/crypto/aead.hpp"
#include "ocm/datapath/pipeline.hpp"

namespace ocm::socket {
namespace {

using datapath::kBurst;
using datapath::PktBuf;

// Bursts per poll() call: bounded so that TLS connections on the same loop are served between
// bursts even under a flood (8 x 32 packets ~ 100 µs of work).
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
  void write_tun_burst(PktBuf* const pkts[], uint16_t n) noexcept;

  SocketDataPlaneSettings settings;
  int udp_fd = -1;
  std::unique_ptr<crypto::CryptoEngine> engine;
  datapath::PktPool pool;
  datapath::SessionTable sessions;
  datapath::ControlRing control;
  datapath::CstpRing cstp;
  datapath::Counters counters;
  datapath::Ctx ctx;
  // Driver-level failures the pipeline cannot see.
  uint64_t udp_send_failures = 0;
  uint64_t tun_write_failures = 0;
  uint64_t pool_exhausted = 0;
};

void SocketDataPlane::Impl::send_udp(PktBuf* const pkts[], uint16_t n) noexcept {
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
      udp_send_failures += batch;
      done = static_cast<uint16_t>(done + batch);
      continue;
    }
    if (sent == 0) {
      udp_send_failures += batch;
      done = static_cast<uint16_t>(done + batch);
      continue;
    }
    done = static_cast<uint16_t>(done + sent);
  }
}

void SocketDataPlane::Impl::write_tun_burst(PktBuf* const pkts[], uint16_t n) noexcept {
  // TUN has no batched write; one write(2) per packet.
  int fd = settings.tun_fds.front();
  for (uint16_t i = 0; i < n; ++i) {
    if (::write(fd, pkts[i]->data(), pkts[i]->len()) != static_cast<ssize_t>(pkts[i]->len())) {
      ++tun_write_failures;
    }
  }
}

void SocketDataPlane::Impl::poll_udp() noexcept {
  for (int b = 0; b < kBurstsPerPoll; ++b) {
    std::array<PktBuf*, kBurst> in{};
    if (!pool.alloc_bulk(in.data(), kBurst)) {
      ++pool_exhausted;
      return;
    }
    std::array<mmsghdr, kBurst> msgs{};
    std::array<iovec, kBurst> iov{};
    std::array<sockaddr_in, kBurst> addrs{};
    uint32_t room = pool.buf_size() - datapath::kHeadroom - kTailReserve;
    for (uint16_t i = 0; i < kBurst; ++i) {
      iov[i] = iovec{in[i]->buffer() + datapath::kHeadroom, room};
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

    std::array<PktBuf*, kBurst> to_tun{};
    std::array<PktBuf*, kBurst> to_udp{};
    std::array<PktBuf*, kBurst> to_free{};
    auto r = datapath::process_udp_rx(ctx, in.data(), n, to_tun.data(), to_udp.data(), to_free.data());
    write_tun_burst(to_tun.data(), r.n_tun);
    send_udp(to_udp.data(), r.n_udp);
    pool.free_bulk(to_tun.data(), r.n_tun);
    pool.free_bulk(to_udp.data(), r.n_udp);
    pool.free_bulk(to_free.data(), r.n_free);
    if (n < kBurst) {
      return;
    }
  }
}

void SocketDataPlane::Impl::poll_tun(int fd) noexcept {
  uint32_t room = pool.buf_size() - datapath::kHeadroom - kTailReserve;
  for (int b = 0; b < kBurstsPerPoll; ++b) {
    std::array<PktBuf*, kBurst> in{};
    if (!pool.alloc_bulk(in.data(), kBurst)) {
      ++pool_exhausted;
      return;
    }
    uint16_t n = 0;
    while (n < kBurst) {
      ssize_t len = ::read(fd, in[n]->buffer() + datapath::kHeadroom, room);
      if (len <= 0) {
        break;
      }
      in[n]->set_window(datapath::kHeadroom, static_cast<uint32_t>(len));
      ++n;
    }
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
    if (n < kBurst) {
      return;
    }
  }
}

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
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(settings.udp_port);
  sin.sin_addr.s_addr = htonl(settings.bind_address);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof sin) != 0) {
    return make_error("cannot bind UDP " + format_ipv4(settings.bind_address) + ":" +
                      std::to_string(settings.udp_port) + " for DTLS: " + errno_text());
  }
  return std::unique_ptr<SocketDataPlane>(new SocketDataPlane(std::move(impl)));
}

SocketDataPlane::SocketDataPlane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SocketDataPlane::~SocketDataPlane() = default;

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
    ++impl_->udp_send_failures;
    return false;
  }
  return true;
}

bool SocketDataPlane::send_payload(uint32_t slot, std::span<const uint8_t> payload, uint64_t now_ns) noexcept {
  PktBuf* p = impl_->pool.alloc();
  if (p == nullptr) {
    ++impl_->pool_exhausted;
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
  if (::write(impl_->settings.tun_fds.front(), packet.data(), packet.size()) != static_cast<ssize_t>(packet.size())) {
    ++impl_->tun_write_failures;
    return false;
  }
  return true;
}

}  // namespace ocm::socket
