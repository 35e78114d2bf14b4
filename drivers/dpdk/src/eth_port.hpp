#pragma once
// One ethdev port as the packet loop's port (datapath/lcore.hpp's burst interface): rx_burst,
// tx_burst and free_bulk over PktBuf handles, statically bound. Queue 0 only (one lcore).
//
// Ownership: rx_burst hands the caller packets it must pass to tx_burst or free_bulk (any
// port of the same mempool); tx_burst takes the accepted prefix, the rest stay the caller's.

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <string>

#include "mbuf_pkt.hpp"
#include "ocm/base/result.hpp"
#include "ocm/datapath/ctx.hpp"
#include "ocm/datapath/frame.hpp"

namespace ocm::dpdk {

struct EthPortStats {
  uint64_t rx = 0;
  uint64_t tx = 0;
  uint64_t tx_full = 0;        // not accepted by the PMD (freed by the caller, counted here)
  uint64_t rx_multiseg = 0;    // chained mbufs (jumbo frames): dropped, we use one segment
};

class EthPort {
 public:
  // Configures one RX and one TX queue on `port_id` with the given ring sizes (adjusted to
  // what the device allows), and starts it. Errors name the port and the step.
  static Result<std::unique_ptr<EthPort>> open(uint16_t port_id, rte_mempool* pool, uint16_t rx_descriptors,
                                               uint16_t tx_descriptors);
  ~EthPort();  // stops the port (rte_eth_dev_stop)
  EthPort(const EthPort&) = delete;
  EthPort& operator=(const EthPort&) = delete;

  uint16_t rx_burst(datapath::PktBuf* out[], uint16_t n) noexcept {
    std::array<rte_mbuf*, datapath::kBurst> m;
    if (n > datapath::kBurst) {
      n = datapath::kBurst;
    }
    uint16_t got = rte_eth_rx_burst(id_, 0, m.data(), n);
    uint16_t kept = 0;
    for (uint16_t i = 0; i < got; ++i) {
      if (m[i]->nb_segs != 1) {
        ++stats_.rx_multiseg;
        rte_pktmbuf_free(m[i]);
        continue;
      }
      out[kept++] = rx_pkt(m[i]);
    }
    stats_.rx += kept;
    return kept;
  }

  uint16_t tx_burst(datapath::PktBuf* const pkts[], uint16_t n) noexcept {
    uint16_t sent = 0;
    while (sent < n) {
      std::array<rte_mbuf*, datapath::kBurst> m;
      auto chunk = static_cast<uint16_t>(n - sent < datapath::kBurst ? n - sent : datapath::kBurst);
      for (uint16_t i = 0; i < chunk; ++i) {
        m[i] = tx_mbuf(pkts[sent + i]);
      }
      uint16_t done = rte_eth_tx_burst(id_, 0, m.data(), chunk);
      sent = static_cast<uint16_t>(sent + done);
      if (done < chunk) {
        break;
      }
    }
    stats_.tx += sent;
    stats_.tx_full += n - sent;
    return sent;
  }

  static void free_bulk(datapath::PktBuf* const pkts[], uint16_t n) noexcept {
    std::array<rte_mbuf*, datapath::kBurst> m;
    uint16_t done = 0;
    while (done < n) {
      auto chunk = static_cast<uint16_t>(n - done < datapath::kBurst ? n - done : datapath::kBurst);
      for (uint16_t i = 0; i < chunk; ++i) {
        m[i] = mbuf_of(pkts[done + i]);
      }
      rte_pktmbuf_free_bulk(m.data(), chunk);
      done = static_cast<uint16_t>(done + chunk);
    }
  }

  [[nodiscard]] uint16_t id() const noexcept { return id_; }
  [[nodiscard]] const datapath::MacAddr& mac() const noexcept { return mac_; }
  [[nodiscard]] const EthPortStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  explicit EthPort(uint16_t id) : id_(id) {}
  uint16_t id_;
  datapath::MacAddr mac_{};
  std::string name_;
  EthPortStats stats_;
};

// "port 3 does not exist (2 ports: 0 net_af_packet0, 1 net_tap_ocm)" style text for errors.
std::string describe_ports();

}  // namespace ocm::dpdk
