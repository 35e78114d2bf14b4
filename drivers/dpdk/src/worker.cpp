#include "worker.hpp"

#include <rte_mbuf.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "ocm/base/log.hpp"
#include "ocm/crypto/dtls_record.hpp"
#include "ocm/datapath/pipeline.hpp"

namespace ocm::dpdk {

using datapath::kBurst;
using datapath::PktBuf;

const char* to_string(Stat stat) noexcept {
#define OCM_DPDK_STAT_NAME(name, str) \
  case Stat::name:                    \
    return str;
  switch (stat) {
    OCM_DPDK_STATS(OCM_DPDK_STAT_NAME)
    case Stat::kCount:
      break;
  }
#undef OCM_DPDK_STAT_NAME
  return "?";
}

Worker::Worker(const WorkerSettings& settings, std::unique_ptr<crypto::CryptoEngine> engine, EthPort& nic,
               EthPort& tap, rte_mempool* pool, CommandRing& commands)
    : settings_(settings),
      engine_(std::move(engine)),
      nic_(nic),
      tap_(tap),
      pool_(pool),
      commands_(commands),
      sessions_(settings.slots, settings.pool, settings.hash_seed),
      control_(kControlRingSize),
      cstp_(kCstpRingSize),
      ctx_(*engine_, sessions_, control_, cstp_, counters_),
      our_ip_(datapath::IpAddr::v4(settings.address)),
      netmask_(settings.prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - settings.prefix_length)) {}

Worker::~Worker() {
  std::array<PktBuf*, ParkLot::kCapacity> all{};
  uint64_t expired = 0;
  uint32_t n = park_.take_ready([](const datapath::Peer&) { return true; }, 0, all.data(), expired);
  EthPort::free_bulk(all.data(), static_cast<uint16_t>(n));
}

uint64_t Worker::slow_path_pushes() const noexcept {
  return counters_.count(datapath::Event::kToSlowPath) + counters_.count(datapath::Event::kDisconnect) +
         counters_.count(datapath::Event::kRoamed) + counters_.count(datapath::Event::kTunToCstp);
}

bool Worker::run_once(uint64_t now_ns) noexcept {
  ctx_.now_ns = now_ns;
  uint64_t pushes = slow_path_pushes();
  bool busy = apply_commands();
  if (park_.size() > 0) {
    unpark();
  }
  busy = poll_nic() || busy;
  busy = poll_tap() || busy;
  busy = poll_tun() || busy;
  if (slow_path_pushes() != pushes && settings_.event_fd >= 0) {
    // One wake-up per iteration at most; the slow path drains both rings on it.
    uint64_t one = 1;
    if (::write(settings_.event_fd, &one, sizeof one) == static_cast<ssize_t>(sizeof one)) {
      stats_.add(Stat::kWakeups);
    }
  }
  return busy;
}

// ---- commands -------------------------------------------------------------------------------------

bool Worker::apply_commands() noexcept {
  uint32_t done = 0;
  while (done < kCommandsPerIteration) {
    const Command* c = commands_.peek();
    if (c == nullptr) {
      break;
    }
    apply(*c);
    if (c->kind == CommandKind::kActivate) {
      // Key material does not linger in the ring (the slot is reused, not freed).
      auto* slot = const_cast<Command*>(c);
      slot->rx_key = crypto::AeadKey{};
      slot->tx_key = crypto::AeadKey{};
    }
    commands_.pop();
    ++done;
  }
  stats_.add(Stat::kCommands, done);
  return done > 0;
}

void Worker::apply(const Command& c) noexcept {
  Status result;
  switch (c.kind) {
    case CommandKind::kAttachCstp:
      result = sessions_.attach_cstp(c.slot, c.lease);
      break;
    case CommandKind::kActivate:
      result = sessions_.activate(c.slot, c.lease, c.peer, c.rx_key, c.tx_key, c.epoch, c.first_tx_seq);
      break;
    case CommandKind::kMarkInactive:
      result = sessions_.mark_dtls_inactive(c.slot);
      break;
    case CommandKind::kRelease:
      sessions_.release(c.slot);
      break;
    case CommandKind::kSetRateLimit:
      result = sessions_.set_rate_limit(c.slot, c.rx_rate, c.tx_rate);
      break;
    case CommandKind::kAttachIpv6:
      result = sessions_.attach_ipv6(c.slot, c.lease6);
      break;
    case CommandKind::kSetRestriction:
      result = sessions_.set_restriction(c.slot, c.restriction);
      break;
    case CommandKind::kSetCompression:
      result = sessions_.set_compression(c.slot, c.compression, c.compress_min_size);
      break;
    case CommandKind::kSendDatagram:
    case CommandKind::kSendPayload: {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      if (m == nullptr) {
        stats_.add(Stat::kMbufExhausted);
        return;
      }
      PktBuf* p = fresh_pkt(m, datapath::kFrameHeadroom);
      if (p->append(c.len) == nullptr) {
        stats_.add(Stat::kFrameFailed);
        rte_pktmbuf_free(m);
        return;
      }
      std::memcpy(p->data(), c.data, c.len);
      if (c.kind == CommandKind::kSendDatagram) {
        p->meta.peer = c.peer;
        PktBuf* one[1] = {p};
        send_records(one, 1);
        return;
      }
      p->meta.slot = c.slot;
      p->meta.kind = datapath::PktKind::kDtlsPayload;
      PktBuf* in[1] = {p};
      PktBuf* to_udp[1] = {};
      PktBuf* to_free[1] = {};
      datapath::TunRxResult r = datapath::seal_payloads(ctx_, in, 1, to_udp, to_free);
      send_records(to_udp, r.n_udp);
      EthPort::free_bulk(to_free, r.n_free);
      return;
    }
  }
  if (!result) {
    // Rare (the slow path checks what it can before queueing); commands are not per packet.
    stats_.add(Stat::kCommandFailed);
    OCM_WARN("dpdk lcore: %s slot %u refused: %s", to_string(c.kind), c.slot, result.error().message.c_str());
  }
}

void Worker::unpark() noexcept {
  std::array<PktBuf*, ParkLot::kCapacity> ready{};
  uint64_t expired = 0;
  uint32_t n = park_.take_ready(
      [this](const datapath::Peer& peer) { return sessions_.lookup_peer(peer) != datapath::kNoSlot; }, ctx_.now_ns,
      ready.data(), expired);
  if (n == 0) {
    return;
  }
  stats_.add(Stat::kParkExpired, expired);
  stats_.add(Stat::kUnparked, n - expired);
  static_assert(ParkLot::kCapacity <= kBurst);
  run_pipeline(ready.data(), static_cast<uint16_t>(n));
}

// ---- NIC / TAP ------------------------------------------------------------------------------------

bool Worker::poll_nic() noexcept {
  std::array<PktBuf*, kBurst> rx{};
  uint64_t multiseg = nic_.stats().rx_multiseg;
  uint16_t n = nic_.rx_burst(rx.data(), kBurst);
  stats_.add(Stat::kNicRxMultiseg, nic_.stats().rx_multiseg - multiseg);
  if (n == 0) {
    return false;
  }
  stats_.add(Stat::kNicRx, n);
  std::array<PktBuf*, kBurst> dtls{};
  std::array<PktBuf*, kBurst> kernel{};
  uint16_t nd = 0;
  uint16_t nk = 0;
  for (uint16_t i = 0; i < n; ++i) {
    PktBuf* p = rx[i];
    datapath::FrameInfo fi;
    // Only untagged frames: replies are built untagged (doc/dpdk.md, limits).
    if (datapath::parse_udp_frame(p->bytes(), fi) == datapath::FrameVerdict::kUdp && !fi.ipv6 && !fi.has_vlan &&
        fi.dst == our_ip_ && fi.dst_port == settings_.udp_port) {
      neighbours_.learn(fi.src.addr.v4_host(), fi.src_mac);
      p->set_window(p->headroom() + fi.payload_offset, fi.payload_len);
      p->meta.peer = fi.src;
      dtls[nd++] = p;
      continue;
    }
    uint32_t ip = 0;
    datapath::MacAddr mac{};
    if (arp_sender(p->bytes(), ip, mac)) {
      neighbours_.learn(ip, mac);
    }
    kernel[nk++] = p;
  }
  if (nk > 0) {
    uint16_t sent = tap_.tx_burst(kernel.data(), nk);
    stats_.add(Stat::kToKernel, sent);
    if (sent < nk) {
      stats_.add(Stat::kTapTxFull, nk - sent);
      EthPort::free_bulk(kernel.data() + sent, static_cast<uint16_t>(nk - sent));
    }
  }
  if (nd > 0) {
    stats_.add(Stat::kDtlsRx, nd);
    udp_in(dtls.data(), nd);
  }
  return true;
}

bool Worker::poll_tap() noexcept {
  std::array<PktBuf*, kBurst> rx{};
  uint16_t n = tap_.rx_burst(rx.data(), kBurst);
  if (n == 0) {
    return false;
  }
  uint16_t sent = nic_.tx_burst(rx.data(), n);
  stats_.add(Stat::kFromKernel, sent);
  stats_.add(Stat::kNicTx, sent);
  if (sent < n) {
    stats_.add(Stat::kNicTxFull, n - sent);
    EthPort::free_bulk(rx.data() + sent, static_cast<uint16_t>(n - sent));
  }
  return true;
}

// ---- DTLS -----------------------------------------------------------------------------------------

void Worker::udp_in(PktBuf* const pkts[], uint16_t n) noexcept {
  std::array<PktBuf*, kBurst> run{};
  uint16_t nr = 0;
  for (uint16_t i = 0; i < n; ++i) {
    PktBuf* p = pkts[i];
    uint8_t type = p->len() > 0 ? p->data()[0] : 0;
    if (type == crypto::kContentHandshake || type == crypto::kContentChangeCipherSpec ||
        type == crypto::kContentAlert) {
      park_.note_handshake(p->meta.peer, ctx_.now_ns);
    } else if (type == crypto::kContentApplicationData && park_.recently_handshaking(p->meta.peer, ctx_.now_ns) &&
               sessions_.lookup_peer(p->meta.peer) == datapath::kNoSlot) {
      if (park_.park(p, ctx_.now_ns)) {
        stats_.add(Stat::kParked);
        continue;
      }
      stats_.add(Stat::kParkFull);
    }
    run[nr++] = p;
  }
  if (nr > 0) {
    run_pipeline(run.data(), nr);
  }
}

void Worker::run_pipeline(PktBuf* const pkts[], uint16_t n) noexcept {
  std::array<PktBuf*, kBurst> to_tun{};
  std::array<PktBuf*, kBurst> to_udp{};
  std::array<PktBuf*, kBurst> to_free{};
  datapath::UdpRxResult r = datapath::process_udp_rx(ctx_, pkts, n, to_tun.data(), to_udp.data(), to_free.data());
  write_tun(to_tun.data(), r.n_tun);
  send_records(to_udp.data(), r.n_udp);
  EthPort::free_bulk(to_free.data(), r.n_free);
}

const datapath::MacAddr* Worker::next_hop(const datapath::Peer& peer) const noexcept {
  if (!peer.addr.is_v4()) {
    return nullptr;
  }
  uint32_t ip = peer.addr.v4_host();
  if (const datapath::MacAddr* mac = neighbours_.find(ip)) {
    return mac;
  }
  bool on_link = (ip & netmask_) == (settings_.address & netmask_);
  if (!on_link && settings_.gateway != 0) {
    return neighbours_.find(settings_.gateway);
  }
  return nullptr;
}

void Worker::send_records(PktBuf* const pkts[], uint16_t n) noexcept {
  std::array<PktBuf*, kBurst> ready{};
  std::array<PktBuf*, kBurst> failed{};
  uint16_t nr = 0;
  uint16_t nf = 0;
  datapath::UdpFlow flow;
  flow.src_mac = nic_.mac();
  flow.src = our_ip_;
  flow.src_port = settings_.udp_port;
  for (uint16_t i = 0; i < n; ++i) {
    PktBuf* p = pkts[i];
    const datapath::MacAddr* mac = next_hop(p->meta.peer);
    if (mac == nullptr) {
      stats_.add(Stat::kNoNeighbour);
      failed[nf++] = p;
      continue;
    }
    flow.dst_mac = *mac;
    flow.dst = p->meta.peer;
    if (!datapath::build_udp_frame(*p, flow)) {
      stats_.add(Stat::kFrameFailed);
      failed[nf++] = p;
      continue;
    }
    ready[nr++] = p;
  }
  if (nr > 0) {
    uint16_t sent = nic_.tx_burst(ready.data(), nr);
    stats_.add(Stat::kDtlsTx, sent);
    stats_.add(Stat::kNicTx, sent);
    if (sent < nr) {
      stats_.add(Stat::kNicTxFull, nr - sent);
      EthPort::free_bulk(ready.data() + sent, static_cast<uint16_t>(nr - sent));
    }
  }
  EthPort::free_bulk(failed.data(), nf);
}

// ---- TUN ------------------------------------------------------------------------------------------

void Worker::write_tun(PktBuf* const pkts[], uint16_t n) noexcept {
  if (settings_.tun_port != nullptr) {
    uint16_t sent = settings_.tun_port->tx_burst(pkts, n);
    stats_.add(Stat::kTunTx, sent);
    if (sent < n) {
      stats_.add(Stat::kTunWriteFailed, n - sent);
      EthPort::free_bulk(pkts + sent, static_cast<uint16_t>(n - sent));
    }
    return;
  }
  // TUN has no batched write: one write(2) per packet (kernel TUN writes are thread-safe, so
  // the slow path's CSTP writes may interleave).
  for (uint16_t i = 0; i < n; ++i) {
    if (::write(settings_.tun_fd, pkts[i]->data(), pkts[i]->len()) == static_cast<ssize_t>(pkts[i]->len())) {
      stats_.add(Stat::kTunTx);
    } else {
      stats_.add(Stat::kTunWriteFailed);
    }
  }
  EthPort::free_bulk(pkts, n);
}

bool Worker::poll_tun() noexcept {
  if (settings_.tun_port != nullptr) {
    std::array<PktBuf*, kBurst> rx{};
    uint16_t n = settings_.tun_port->rx_burst(rx.data(), kBurst);
    if (n == 0) {
      return false;
    }
    stats_.add(Stat::kTunRx, n);
    tun_in(rx.data(), n);
    return true;
  }
  std::array<rte_mbuf*, kBurst> m{};
  if (rte_pktmbuf_alloc_bulk(pool_, m.data(), kBurst) != 0) {
    stats_.add(Stat::kMbufExhausted);
    return false;
  }
  std::array<PktBuf*, kBurst> in{};
  uint16_t n = 0;
  uint16_t used = 0;  // mbufs holding a packet (== n)
  // Bounded: oversize packets reuse their mbuf, so a flood of them must not hold the loop.
  for (uint32_t reads = 0; used < kBurst && reads < 2U * kBurst; ++reads) {
    PktBuf* p = fresh_pkt(m[used], datapath::kFrameHeadroom);
    uint32_t room = p->capacity() - datapath::kFrameHeadroom - kTailReserve;
    ssize_t len = ::read(settings_.tun_fd, p->data(), room);
    if (len <= 0) {
      break;
    }
    if (static_cast<uint32_t>(len) >= room) {  // possibly cut short: never forward a truncated packet
      stats_.add(Stat::kTunReadOversize);
      continue;  // the same mbuf is read into again
    }
    p->set_window(datapath::kFrameHeadroom, static_cast<uint32_t>(len));
    in[n++] = p;
    ++used;
  }
  if (used < kBurst) {
    rte_pktmbuf_free_bulk(m.data() + used, kBurst - used);
  }
  if (n == 0) {
    return false;
  }
  stats_.add(Stat::kTunRx, n);
  tun_in(in.data(), n);
  return true;
}

void Worker::tun_in(PktBuf* const pkts[], uint16_t n) noexcept {
  std::array<PktBuf*, kBurst> to_udp{};
  std::array<PktBuf*, kBurst> to_free{};
  datapath::TunRxResult r = datapath::process_tun_rx(ctx_, pkts, n, to_udp.data(), to_free.data());
  send_records(to_udp.data(), r.n_udp);
  EthPort::free_bulk(to_free.data(), r.n_free);
}

}  // namespace ocm::dpdk
