#pragma once
// The `dpdk` driver (doc/dpdk.md). DPDK owns the NIC port; one polling lcore runs the burst
// pipeline on it:
//   NIC RX: UDP to our address and DTLS port -> process_udp_rx; every other frame (ARP, ICMP,
//           TCP to the TLS port, IPv6 ND, ...) -> the TAP exception port, unchanged, so the
//           kernel (with `address` and the port's MAC on the TAP) serves TLS, ARP and ping.
//   TAP RX: the kernel's frames -> NIC TX, unchanged.
//   TUN:    decrypted inner packets are written to the kernel TUN fd; packets read from it are
//           sealed, framed (Ethernet/IPv4/UDP, next-hop MAC learned) and sent on the NIC.
//
// Threads. create() starts one thread that calls rte_eal_init (EAL pins it to the first `-l`
// core: it is the main lcore) and then runs the poll loop; setup errors come back to create().
// The slow path (libuv thread) never touches lcore state directly: session changes and sends
// are immutable commands copied into a bounded SPSC ring the lcore applies between bursts; a
// full ring is an error for that call and is counted (the lcore never waits). The lcore's rings
// to the slow path are ctx().control / ctx().cstp; it signals the eventfd in poll_fds() (at most
// once per loop iteration) when it pushed to them. Reads (session_view, counters,
// driver_counters) are relaxed loads of lcore-owned, naturally aligned fields: see the .cpp.
//
// No DPDK type appears here, so the app does not need DPDK's compile flags.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ocm/base/ipv4.hpp"
#include "ocm/base/result.hpp"
#include "ocm/datapath/data_plane.hpp"

namespace ocm::dpdk {

struct DpdkDataPlaneSettings {
  std::vector<std::string> eal_args;  // without argv[0]
  uint16_t port = 0;                  // DPDK port id of the NIC
  uint32_t address = 0;               // our IPv4 address on the port (host order)
  uint8_t prefix_length = 24;
  uint32_t gateway = 0;               // host order; 0 = clients are on-link only
  std::string tap_name = "ocm-tap0";  // kernel exception interface
  uint16_t udp_port = 443;            // DTLS port (host order)
  Ipv4Prefix pool;                    // leased addresses (route table size)
  uint32_t max_sessions = 0;          // slots; 0 = one per pool address
  uint32_t mbufs = 0;                 // 0 = computed (mempool_size, doc/dpdk.md)
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  int tun_fd = -1;  // kernel TUN queue WITHOUT IFF_VNET_HDR, owned by the caller, non-blocking
};

class DpdkDataPlane final : public datapath::DataPlane {
 public:
  // Starts EAL on its own thread, sets up the mempool, the NIC port and the TAP exception port,
  // and starts polling. Errors: EAL cannot start (with a hint when hugepages are missing), port
  // does not exist, more than one lcore, mempool/port/TAP setup. EAL can start only once per
  // process, so create() succeeds at most once.
  static Result<std::unique_ptr<DpdkDataPlane>> create(const DpdkDataPlaneSettings& settings);
  ~DpdkDataPlane() override;  // stops the lcore, the ports, and EAL

  [[nodiscard]] std::vector<int> poll_fds() const override;
  void poll(int fd, uint64_t now_ns) noexcept override;
  datapath::Ctx& ctx() noexcept override;
  bool send_datagram(const datapath::Peer& peer, std::span<const uint8_t> datagram) noexcept override;
  bool send_payload(uint32_t slot, std::span<const uint8_t> payload, uint64_t now_ns) noexcept override;
  bool write_tun(std::span<const uint8_t> packet) noexcept override;

  Status attach_cstp(uint32_t slot, uint32_t lease) override;
  Status activate_dtls(uint32_t slot, uint32_t lease, const datapath::Peer& peer, const crypto::AeadKey& rx_key,
                       const crypto::AeadKey& tx_key, uint16_t epoch, uint64_t first_tx_seq) override;
  Status mark_dtls_inactive(uint32_t slot) override;
  Status set_rate_limit(uint32_t slot, uint64_t rx_bytes_per_second, uint64_t tx_bytes_per_second) override;
  Status attach_ipv6(uint32_t slot, const datapath::Ipv6Subnet& lease) override;
  Status set_restriction(uint32_t slot, const datapath::RouteRestriction& restriction) override;
  Status set_compression(uint32_t slot, proto::Compression algorithm, uint16_t min_size) override;
  bool admit_cstp_rx(uint32_t slot, uint32_t bytes, uint64_t now_ns) noexcept override;
  void release(uint32_t slot) noexcept override;
  [[nodiscard]] datapath::SessionView session_view(uint32_t slot) noexcept override;
  [[nodiscard]] datapath::Counters counters() noexcept override;
  crypto::CryptoEngine& key_engine() noexcept override;

  [[nodiscard]] const char* driver_name() const noexcept override { return "dpdk"; }
  [[nodiscard]] std::vector<std::pair<std::string, uint64_t>> driver_counters() const override;

  struct Impl;

 private:
  explicit DpdkDataPlane(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ocm::dpdk
