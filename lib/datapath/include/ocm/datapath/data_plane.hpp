#pragma once
// A datapath driver as the slow path sees it: it owns the data channel's packet I/O (the UDP
// side and the TUN side) and one pipeline context. The slow path polls its descriptors, drains
// the context's rings after each poll, and uses the few calls below to inject packets.
// Control operations only: per-packet work happens inside poll() without virtual calls.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ocm/datapath/ctx.hpp"
#include "ocm/datapath/pkt.hpp"

namespace ocm::datapath {

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
