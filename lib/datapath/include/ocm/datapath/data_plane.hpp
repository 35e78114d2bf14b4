#pragma once
// A datapath driver as the slow path sees it: it owns the data channel's packet I/O (the UDP
// side and the TUN side) and one pipeline context. The slow path polls its descriptors, drains
// the context's rings after each poll, and uses the few calls below to inject packets and to
// change sessions. Control operations only: per-packet work happens inside poll() (or on the
// driver's own packet threads) without virtual calls.
//
// Threads. Same-thread drivers (socket, af_xdp) run the pipeline inside poll() on the slow
// path's thread; the defaults below apply session changes to ctx().sessions at once and read it
// directly. A driver whose packet threads run elsewhere (dpdk lcores) overrides every session
// call to queue an immutable command for its packet thread, and the read calls to return
// snapshots; its poll_fds() is then an eventfd the packet thread signals when its rings to the
// slow path have something.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ocm/base/result.hpp"
#include "ocm/crypto/aead.hpp"
#include "ocm/datapath/ctx.hpp"
#include "ocm/datapath/pkt.hpp"
#include "ocm/datapath/session_table.hpp"

namespace ocm::datapath {

// What the slow path reads of one slot (DPD timers, ocmctl, metrics).
struct SessionView {
  SessionState state = SessionState::kFree;
  uint64_t last_rx_ns = 0;  // 0 = no authenticated record yet
  SessionCounters counters;
};

class DataPlane {
 public:
  virtual ~DataPlane() = default;

  // Descriptors to watch for readability (UDP socket, TUN queues, ...).
  [[nodiscard]] virtual std::vector<int> poll_fds() const = 0;
  // Runs receive bursts on `fd` until it is drained or a per-call budget is spent.
  virtual void poll(int fd, uint64_t now_ns) noexcept = 0;
  virtual Ctx& ctx() noexcept = 0;

  // Sends raw bytes (a DTLS handshake flight wolfSSL produced) to a peer.
  virtual bool send_datagram(const Peer& peer, std::span<const uint8_t> datagram) noexcept = 0;
  // Seals one DTLS payload (type byte + data) for `slot` with the session's keys and sends it
  // to the session's peer (DPD requests, MTU probes from the slow path).
  virtual bool send_payload(uint32_t slot, std::span<const uint8_t> payload, uint64_t now_ns) noexcept = 0;
  // Writes one IP packet to the kernel (packets that arrived over CSTP).
  virtual bool write_tun(std::span<const uint8_t> packet) noexcept = 0;

  // ---- sessions (slow path); SessionTable documents each operation ----------------------
  // Errors are those SessionTable reports; a queuing driver also fails when its command ring
  // is full (the caller treats that like any refusal: 503 / no DTLS).
  virtual Status attach_cstp(uint32_t slot, uint32_t lease) { return ctx().sessions.attach_cstp(slot, lease); }
  virtual Status activate_dtls(uint32_t slot, uint32_t lease, const Peer& peer, const crypto::AeadKey& rx_key,
                               const crypto::AeadKey& tx_key, uint16_t epoch, uint64_t first_tx_seq) {
    return ctx().sessions.activate(slot, lease, peer, rx_key, tx_key, epoch, first_tx_seq);
  }
  virtual Status mark_dtls_inactive(uint32_t slot) { return ctx().sessions.mark_dtls_inactive(slot); }
  // The session's IPv6 subnet (empty: none); call after attach_cstp, on every CONNECT.
  virtual Status attach_ipv6(uint32_t slot, const Ipv6Subnet& lease) { return ctx().sessions.attach_ipv6(slot, lease); }
  // restrict-to-routes for the session in `slot` (count 0 = unrestricted); call after
  // attach_cstp. validate_inner drops client -> TUN packets it does not allow (kNotInRoutes);
  // CSTP -> TUN packets never pass the pipeline, so the slow path checks its own copy.
  virtual Status set_restriction(uint32_t slot, const RouteRestriction& restriction) {
    return ctx().sessions.set_restriction(slot, restriction);
  }
  // Bandwidth limits of the session in `slot` (bytes/s of inner IP packets, 0 = unlimited); call
  // after attach_cstp. The pipeline enforces them on DTLS and on TUN -> CSTP; CSTP -> TUN packets
  // (which never pass the pipeline) are charged with admit_cstp_rx.
  virtual Status set_rate_limit(uint32_t slot, uint64_t rx_bytes_per_second, uint64_t tx_bytes_per_second) {
    return ctx().sessions.set_rate_limit(slot, rx_bytes_per_second, tx_bytes_per_second);
  }
  // DTLS compression of the session in `slot` (kNone = none) and the size up to which packets
  // go uncompressed; call after attach_cstp, on every CONNECT. CSTP compression is the slow
  // path's own business (it frames CSTP itself).
  virtual Status set_compression(uint32_t slot, proto::Compression algorithm, uint16_t min_size) {
    return ctx().sessions.set_compression(slot, algorithm, min_size);
  }
  // A client -> server packet of `bytes` arrived over CSTP for `slot`: true if the session's rx
  // limit admits it (the caller drops it otherwise). Same-thread drivers charge the slot's own rx
  // bucket, so DTLS and CSTP share one allowance.
  virtual bool admit_cstp_rx(uint32_t slot, uint32_t bytes, uint64_t now_ns) noexcept {
    SessionTable& table = ctx().sessions;
    return !table.valid_slot(slot) || table.at(slot).rx_limit.take(bytes, now_ns);
  }
  virtual void release(uint32_t slot) noexcept { ctx().sessions.release(slot); }
  // A slot outside the table reads as free.
  [[nodiscard]] virtual SessionView session_view(uint32_t slot) noexcept {
    SessionTable& table = ctx().sessions;
    if (!table.valid_slot(slot)) {
      return {};
    }
    const DtlsSession& s = table.session(slot);
    return SessionView{s.state, s.last_rx_ns, s.counters};
  }
  // The pipeline counters of all packet threads, summed.
  [[nodiscard]] virtual Counters counters() noexcept { return ctx().counters; }
  // The engine the slow path expands DTLS keys with (AeadKey::create): the packet thread's own
  // when it is the slow path's thread, a separate one otherwise (ipsec-mb managers are not
  // shared between threads).
  virtual crypto::CryptoEngine& key_engine() noexcept { return ctx().engine; }

  // The driver's own counters (syscall failures, offload use) as (name, value) pairs: monotonic
  // counts exported as metrics. Control path only; allocates.
  [[nodiscard]] virtual const char* driver_name() const noexcept = 0;
  [[nodiscard]] virtual std::vector<std::pair<std::string, uint64_t>> driver_counters() const = 0;

  // The slow path's ring drain. poll() calls it right after the part of a receive burst that
  // carried handshake/CCS/alert records, before opening the records behind them: a client's
  // first data record often arrives in the same burst as its Finished, and must meet the keys
  // that Finished installs instead of being dropped as coming from an unknown peer.
  void set_control_hook(std::function<void()> hook) { control_hook_ = std::move(hook); }

 protected:
  void run_control_hook() {
    if (control_hook_) {
      control_hook_();
    }
  }

 private:
  std::function<void()> control_hook_;
};

}  // namespace ocm::datapath
