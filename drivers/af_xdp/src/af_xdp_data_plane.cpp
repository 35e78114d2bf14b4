#include "ocm/af_xdp/af_xdp_data_plane.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "neighbor_table.hpp"
#include "ocm/base/log.hpp"
#include "ocm/crypto/aead.hpp"
#include "ocm/crypto/dtls_record.hpp"
#include "ocm/datapath/frame.hpp"
#include "ocm/datapath/pipeline.hpp"
#include "ocm/tun_io/tun_io.hpp"
#include "xdp_program.hpp"
#include "xsk_queue.hpp"

namespace ocm::af_xdp {
namespace {

using datapath::FrameVerdict;
using datapath::kBurst;
using datapath::PktBuf;

// Bursts per poll() call: bounded so that TLS connections on the same loop are served between
// bursts even under a flood (as in the socket driver).
constexpr int kBurstsPerPoll = 8;
// Slow-path rings, as in the socket driver: a full ring drops and counts.
constexpr uint32_t kControlRingSize = 1024;
constexpr uint32_t kCstpRingSize = 1024;
// Room behind a TUN packet for the DTLS tag.
constexpr uint32_t kTailReserve = 64;
// Peers whose next hop we remember; beyond that the stalest in a probe run is forgotten (and
// relearned from its next datagram).
constexpr uint32_t kNeighbors = 8192;

uint64_t random_seed() {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
    seed = 0x9e3779b97f4a7c15ULL ^ static_cast<uint64_t>(getpid());
  }
  return seed;
}

Result<datapath::MacAddr> interface_mac(const std::string& ifname) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return make_error(std::string("af_xdp: socket: ") + std::strerror(errno));
  }
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  int rc = ::ioctl(fd, SIOCGIFHWADDR, &ifr);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return make_error("af_xdp: cannot read the MAC address of " + ifname + ": " + std::strerror(err));
  }
  datapath::MacAddr mac{};
  std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, mac.size());
  return mac;
}

bool is_control_record(const PktBuf* p) noexcept {
  auto bytes = p->bytes();
  return !bytes.empty() && (bytes[0] == crypto::kContentHandshake || bytes[0] == crypto::kContentChangeCipherSpec ||
                            bytes[0] == crypto::kContentAlert);
}

}  // namespace

// Frames the driver itself drops, by reason (the pipeline counts its own drops).
struct AfXdpStats {
  uint64_t rx_not_ip = 0;        // the XDP program let through only IP, but it may be replaced
  uint64_t rx_not_udp = 0;
  uint64_t rx_fragment = 0;
  uint64_t rx_malformed = 0;
  uint64_t rx_other_port = 0;
  uint64_t tx_no_neighbor = 0;   // records for a peer we never received a frame from
  uint64_t tx_frame_failed = 0;  // headers did not fit (headroom) or address families differ
  uint64_t pool_exhausted = 0;   // bursts or datagrams skipped: no free UMEM frame
};

struct AfXdpDataPlane::Impl {
  Impl(std::unique_ptr<crypto::CryptoEngine> engine_in, const AfXdpDataPlaneSettings& s, uint32_t slots)
      : settings(s),
        engine(std::move(engine_in)),
        sessions(slots, s.pool, random_seed()),
        control(kControlRingSize),
        cstp(kCstpRingSize),
        ctx(*engine, sessions, control, cstp, counters),
        neighbors(kNeighbors, random_seed()) {}

  void poll_xsk(XskQueue& q) noexcept;
  void poll_tun(int fd, XskQueue& q) noexcept;
  uint16_t accept_frames(PktBuf* const in[], uint32_t n, PktBuf* out[], XskQueue& q) noexcept;
  void send_records(XskQueue& q, PktBuf* const pkts[], uint16_t n) noexcept;

  AfXdpDataPlane* owner = nullptr;  // for the control hook, which lives in the DataPlane base
  AfXdpDataPlaneSettings settings;
  std::unique_ptr<crypto::CryptoEngine> engine;
  datapath::SessionTable sessions;
  datapath::ControlRing control;
  datapath::CstpRing cstp;
  datapath::Counters counters;
  datapath::Ctx ctx;
  NeighborTable neighbors;
  datapath::MacAddr mac{};
  AfXdpStats stats;
  XdpAttachMode mode = XdpAttachMode::kNative;
  // Declared before the queues so that it is destroyed after them: sockets close first, then
  // the program leaves the interface.
  std::unique_ptr<XdpProgram> program;
  std::vector<std::unique_ptr<XskQueue>> queues;
  std::unique_ptr<tun_io::TunIo> tun;
};

// ---- transmit -------------------------------------------------------------------------------------

// Puts Ethernet/IP/UDP headers in front of each record (in its own UMEM frame) and queues it.
// Takes ownership of all n.
void AfXdpDataPlane::Impl::send_records(XskQueue& q, PktBuf* const pkts[], uint16_t n) noexcept {
  std::array<PktBuf*, kBurst> out{};
  uint16_t done = 0;
  while (done < n) {
    auto chunk = static_cast<uint16_t>(std::min<int>(n - done, kBurst));
    uint16_t k = 0;
    for (uint16_t i = 0; i < chunk; ++i) {
      PktBuf* p = pkts[done + i];
      const Neighbor* nb = neighbors.find(p->meta.peer.addr);
      if (nb == nullptr) {
        ++stats.tx_no_neighbor;
        q.free(p);
        continue;
      }
      datapath::UdpFlow flow;
      flow.src_mac = mac;
      flow.dst_mac = nb->mac;
      flow.has_vlan = nb->has_vlan;
      flow.vlan_tci = nb->vlan_tci;
      flow.src = nb->local;
      flow.src_port = settings.udp_port;
      flow.dst = p->meta.peer;
      if (!datapath::build_udp_frame(*p, flow)) {
        ++stats.tx_frame_failed;
        q.free(p);
        continue;
      }
      out[k++] = p;
    }
    q.transmit(out.data(), k);
    done = static_cast<uint16_t>(done + chunk);
  }
}

// ---- receive --------------------------------------------------------------------------------------

// Turns received frames into pipeline input: window = UDP payload, meta.peer = source. Frames
// that are not DTLS-port UDP are freed and counted. Returns how many went to out.
uint16_t AfXdpDataPlane::Impl::accept_frames(PktBuf* const in[], uint32_t n, PktBuf* out[], XskQueue& q) noexcept {
  uint16_t k = 0;
  for (uint32_t i = 0; i < n; ++i) {
    PktBuf* p = in[i];
    datapath::FrameInfo info;
    FrameVerdict v = datapath::parse_udp_frame(p->bytes(), info);
    if (v != FrameVerdict::kUdp || info.dst_port != settings.udp_port) {
      switch (v) {
        case FrameVerdict::kUdp:
          ++stats.rx_other_port;
          break;
        case FrameVerdict::kNotIp:
          ++stats.rx_not_ip;
          break;
        case FrameVerdict::kNotUdp:
          ++stats.rx_not_udp;
          break;
        case FrameVerdict::kFragment:
          ++stats.rx_fragment;
          break;
        case FrameVerdict::kMalformed:
          ++stats.rx_malformed;
          break;
      }
      q.free(p);
      continue;
    }
    neighbors.learn(info, ctx.now_ns);
    p->set_window(p->headroom() + info.payload_offset, info.payload_len);
    p->meta.peer = info.src;
    out[k++] = p;
  }
  return k;
}

void AfXdpDataPlane::Impl::poll_xsk(XskQueue& q) noexcept {
  q.reclaim();
  for (int b = 0; b < kBurstsPerPoll; ++b) {
    std::array<PktBuf*, kBurst> frames{};
    uint32_t got = q.receive(frames.data(), kBurst);
    if (got == 0) {
      return;
    }
    std::array<PktBuf*, kBurst> in{};
    uint16_t n = accept_frames(frames.data(), got, in.data(), q);
    // Cut after each handshake/CCS/alert datagram and let the slow path run before the rest is
    // opened: a client's first data record often rides right behind the Finished that keys it.
    uint16_t start = 0;
    while (start < n) {
      uint16_t end = start;
      while (end < n && !is_control_record(in[end])) {
        ++end;
      }
      const bool cut = end < n;
      end = static_cast<uint16_t>(end + (cut ? 1 : 0));
      std::array<PktBuf*, kBurst> to_tun{};
      std::array<PktBuf*, kBurst> to_udp{};
      std::array<PktBuf*, kBurst> to_free{};
      auto r = datapath::process_udp_rx(ctx, in.data() + start, static_cast<uint16_t>(end - start), to_tun.data(),
                                        to_udp.data(), to_free.data());
      tun->write_burst(to_tun.data(), r.n_tun);
      q.free_bulk(to_tun.data(), r.n_tun);
      send_records(q, to_udp.data(), r.n_udp);
      q.free_bulk(to_free.data(), r.n_free);
      if (cut && end < n) {
        owner->run_control_hook();
      }
      start = end;
    }
    if (got < kBurst) {
      return;
    }
  }
}

void AfXdpDataPlane::Impl::poll_tun(int fd, XskQueue& q) noexcept {
  bool had_buffers = tun_io::poll_tun_bursts(
      *tun, fd, ctx, kBurstsPerPoll,
      [&q](PktBuf** out) {
        if (q.alloc_bulk(out, kBurst)) {
          return true;
        }
        q.reclaim();  // TX completions give frames back
        return q.alloc_bulk(out, kBurst);
      },
      [&q](PktBuf* const* pkts, uint16_t n) { q.free_bulk(pkts, n); },
      [this, &q](PktBuf* const* recs, uint16_t n) { send_records(q, recs, n); });
  if (!had_buffers) {
    ++stats.pool_exhausted;
  }
}

// ---- setup ----------------------------------------------------------------------------------------

Result<std::unique_ptr<AfXdpDataPlane>> AfXdpDataPlane::create(const AfXdpDataPlaneSettings& s) {
  if (s.queues == 0 || s.queues > OCM_XDP_MAX_QUEUES) {
    return make_error("af_xdp: queues must be between 1 and " + std::to_string(OCM_XDP_MAX_QUEUES));
  }
  if (if_nametoindex(s.interface.c_str()) == 0) {
    return make_error("af_xdp: interface '" + s.interface + "' does not exist");
  }
  auto mac = interface_mac(s.interface);
  if (!mac) {
    return mac.error();
  }
  auto engine = crypto::CryptoEngine::create();
  if (!engine) {
    return engine.error();
  }
  uint32_t pool_addresses = s.pool.length >= 32 ? 1u : (1u << (32 - s.pool.length));
  uint32_t slots = s.max_sessions != 0 ? s.max_sessions : pool_addresses;
  auto impl = std::make_unique<Impl>(std::move(engine).value(), s, slots);
  impl->mac = *mac;

  auto made_tun = tun_io::TunIo::create(s.tun_fds, s.tun_gro, datapath::kFrameHeadroom, kTailReserve);
  if (!made_tun) {
    return make_error("af_xdp: " + made_tun.error().message);
  }
  impl->tun = std::move(made_tun).value();

  auto program = XdpProgram::load(s.udp_port, s.udp_address);
  if (!program) {
    return program.error();
  }
  impl->program = std::move(program).value();
  using Mode = AfXdpDataPlaneSettings::Mode;
  XdpModeChoice choice = s.xdp_mode == Mode::kNative    ? XdpModeChoice::kNative
                         : s.xdp_mode == Mode::kGeneric ? XdpModeChoice::kGeneric
                                                        : XdpModeChoice::kAuto;
  auto mode = impl->program->attach(s.interface, choice);
  if (!mode) {
    return mode.error();
  }
  impl->mode = *mode;
  using Zc = AfXdpDataPlaneSettings::ZeroCopy;
  CopyChoice copy = s.zero_copy == Zc::kOn ? CopyChoice::kZeroCopy
                    : s.zero_copy == Zc::kOff ? CopyChoice::kCopy
                                              : CopyChoice::kAuto;
  // From here on a failure destroys impl, which detaches the program again.
  for (uint32_t i = 0; i < s.queues; ++i) {
    XskQueueSettings qs{s.interface, i, s.frames_per_queue, copy, impl->program->xsks_map_fd()};
    auto q = XskQueue::create(qs);
    if (!q) {
      return q.error();
    }
    impl->queues.push_back(std::move(q).value());
  }
  OCM_INFO("af_xdp data plane: %s, %s XDP, %u queue(s) in %s mode, %u frames each, UDP port %u, TUN %s",
           s.interface.c_str(), to_string(impl->mode), s.queues, impl->queues[0]->zero_copy() ? "zero-copy" : "copy",
           s.frames_per_queue, s.udp_port, impl->tun->stats().vnet_hdr ? "with TSO/GSO offloads" : "plain");
  return std::unique_ptr<AfXdpDataPlane>(new AfXdpDataPlane(std::move(impl)));
}

AfXdpDataPlane::AfXdpDataPlane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->owner = this; }

AfXdpDataPlane::~AfXdpDataPlane() {
  std::string line;
  for (const auto& [name, value] : driver_counters()) {
    if (value != 0) {
      line += " " + name + "=" + std::to_string(value);
    }
  }
  OCM_INFO("af_xdp data plane:%s", line.c_str());
  // impl_ goes next: sockets close, the XDP program leaves the interface.
  impl_.reset();
  OCM_INFO("af_xdp: XDP program detached");
}

std::vector<int> AfXdpDataPlane::poll_fds() const {
  std::vector<int> fds;
  for (const auto& q : impl_->queues) {
    fds.push_back(q->fd());
  }
  fds.insert(fds.end(), impl_->settings.tun_fds.begin(), impl_->settings.tun_fds.end());
  return fds;
}

void AfXdpDataPlane::poll(int fd, uint64_t now_ns) noexcept {
  impl_->ctx.now_ns = now_ns;
  auto& queues = impl_->queues;
  for (auto& q : queues) {
    if (q->fd() == fd) {
      impl_->poll_xsk(*q);
      return;
    }
  }
  // TUN queue i sends through socket i mod queues, so its frames come from that UMEM.
  const auto& tun_fds = impl_->settings.tun_fds;
  for (size_t i = 0; i < tun_fds.size(); ++i) {
    if (tun_fds[i] == fd) {
      impl_->poll_tun(fd, *queues[i % queues.size()]);
      return;
    }
  }
}

datapath::Ctx& AfXdpDataPlane::ctx() noexcept { return impl_->ctx; }

bool AfXdpDataPlane::send_datagram(const datapath::Peer& peer, std::span<const uint8_t> datagram) noexcept {
  XskQueue& q = *impl_->queues.front();
  PktBuf* p = q.alloc();
  if (p == nullptr) {
    ++impl_->stats.pool_exhausted;
    return false;
  }
  // At kFrameHeadroom, so that the largest header stack fits in front.
  if (datagram.size() > p->capacity() - datapath::kFrameHeadroom || !p->set_window(datapath::kFrameHeadroom, 0)) {
    q.free(p);
    return false;
  }
  std::memcpy(p->append(static_cast<uint16_t>(datagram.size())), datagram.data(), datagram.size());
  p->meta.peer = peer;
  uint64_t before = q.stats().tx_frames;
  impl_->send_records(q, &p, 1);
  return q.stats().tx_frames != before;
}

bool AfXdpDataPlane::send_payload(uint32_t slot, std::span<const uint8_t> payload, uint64_t now_ns) noexcept {
  XskQueue& q = *impl_->queues.front();
  PktBuf* p = q.alloc();
  if (p == nullptr) {
    ++impl_->stats.pool_exhausted;
    return false;
  }
  if (payload.size() > p->capacity() - datapath::kFrameHeadroom - kTailReserve ||
      !p->set_window(datapath::kFrameHeadroom, 0)) {
    q.free(p);
    return false;
  }
  if (!payload.empty()) {
    std::memcpy(p->append(static_cast<uint16_t>(payload.size())), payload.data(), payload.size());
  }
  p->meta.slot = slot;
  p->meta.kind = datapath::PktKind::kDtlsPayload;
  impl_->ctx.now_ns = now_ns;
  PktBuf* to_udp[1] = {};
  PktBuf* to_free[1] = {};
  PktBuf* in[1] = {p};
  auto r = datapath::seal_payloads(impl_->ctx, in, 1, to_udp, to_free);
  q.free_bulk(to_free, r.n_free);
  uint64_t before = q.stats().tx_frames;
  impl_->send_records(q, to_udp, r.n_udp);
  return r.n_udp == 1 && q.stats().tx_frames != before;
}

bool AfXdpDataPlane::write_tun(std::span<const uint8_t> packet) noexcept { return impl_->tun->write_one(packet); }

std::vector<std::pair<std::string, uint64_t>> AfXdpDataPlane::driver_counters() const {
  const Impl& m = *impl_;
  XskQueueStats qs;
  XskQueue::KernelStats ks;
  for (const auto& q : m.queues) {
    qs.rx_frames += q->stats().rx_frames;
    qs.tx_frames += q->stats().tx_frames;
    qs.tx_ring_full += q->stats().tx_ring_full;
    qs.kick_failures += q->stats().kick_failures;
    qs.fill_starved += q->stats().fill_starved;
    XskQueue::KernelStats k = q->kernel_stats();
    ks.rx_dropped += k.rx_dropped;
    ks.rx_invalid_descs += k.rx_invalid_descs;
    ks.tx_invalid_descs += k.tx_invalid_descs;
    ks.rx_ring_full += k.rx_ring_full;
    ks.rx_fill_ring_empty_descs += k.rx_fill_ring_empty_descs;
    ks.tx_ring_empty_descs += k.tx_ring_empty_descs;
  }
  std::vector<std::pair<std::string, uint64_t>> out{
      {"xsk_rx_frames", qs.rx_frames},
      {"xsk_tx_frames", qs.tx_frames},
      {"xsk_tx_ring_full", qs.tx_ring_full},
      {"xsk_kick_failures", qs.kick_failures},
      {"xsk_fill_starved", qs.fill_starved},
      {"xsk_kernel_rx_dropped", ks.rx_dropped},
      {"xsk_kernel_rx_invalid_descs", ks.rx_invalid_descs},
      {"xsk_kernel_tx_invalid_descs", ks.tx_invalid_descs},
      {"xsk_kernel_rx_ring_full", ks.rx_ring_full},
      {"xsk_kernel_rx_fill_ring_empty", ks.rx_fill_ring_empty_descs},
      {"rx_not_ip", m.stats.rx_not_ip},
      {"rx_not_udp", m.stats.rx_not_udp},
      {"rx_fragment", m.stats.rx_fragment},
      {"rx_malformed", m.stats.rx_malformed},
      {"rx_other_port", m.stats.rx_other_port},
      {"tx_no_neighbor", m.stats.tx_no_neighbor},
      {"tx_frame_failed", m.stats.tx_frame_failed},
      {"pool_exhausted", m.stats.pool_exhausted},
  };
  XdpStats xs = m.program->stats();
  for (int i = 0; i < OCM_XDP_STAT_COUNT; ++i) {
    out.emplace_back(xdp_stat_name(i), xs[static_cast<size_t>(i)]);
  }
  auto tun_counters = m.tun->counters();
  out.insert(out.end(), tun_counters.begin(), tun_counters.end());
  return out;
}

}  // namespace ocm::af_xdp
