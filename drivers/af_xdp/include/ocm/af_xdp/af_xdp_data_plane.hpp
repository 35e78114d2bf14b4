#pragma once
// The `af_xdp` driver: an XDP program on the client-facing interface steers UDP datagrams for
// the DTLS port into AF_XDP sockets (one per configured queue, each with its own UMEM); the
// kernel keeps everything else (TLS on TCP, ARP, ICMP), and the interface keeps its address.
// Received frames are parsed in place and enter the burst pipeline without a copy; sealed
// records get Ethernet/IP/UDP headers in front (in their UMEM frame) and leave through the
// socket's TX ring. The TUN side is the kernel TUN device, as with the socket driver, read
// straight into UMEM frames at kFrameHeadroom. Polled from the slow path's loop thread.
//
// Replies go to the MAC address the peer's frames came from (no ARP of our own), from the
// address the peer sent to. IPv4 and IPv6 peers, one VLAN tag.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ocm/base/ipv4.hpp"
#include "ocm/base/result.hpp"
#include "ocm/datapath/data_plane.hpp"

namespace ocm::af_xdp {

struct AfXdpDataPlaneSettings {
  std::string interface;
  uint32_t queues = 1;
  enum class Mode { kAuto, kNative, kGeneric } xdp_mode = Mode::kAuto;
  enum class ZeroCopy { kAuto, kOn, kOff } zero_copy = ZeroCopy::kAuto;
  uint32_t frames_per_queue = 4096;
  uint16_t udp_port = 443;    // the DTLS port the XDP program redirects
  uint32_t udp_address = 0;   // ... for this IPv4 destination only (host order); 0 = any
  Ipv4Prefix pool;            // leased addresses (route table size)
  uint32_t max_sessions = 0;  // slots; 0 = one per pool address
  std::vector<int> tun_fds;   // owned by the caller, non-blocking
  bool tun_gro = true;        // merge TCP segments into GSO writes when the TUN has IFF_VNET_HDR
};

class AfXdpDataPlane final : public datapath::DataPlane {
 public:
  // Loads and attaches the XDP program (replacing a stale one of ours), creates the UMEMs and
  // sockets. On failure nothing stays attached.
  static Result<std::unique_ptr<AfXdpDataPlane>> create(const AfXdpDataPlaneSettings& settings);
  // Detaches the XDP program: the DTLS port is the kernel's again.
  ~AfXdpDataPlane() override;

  [[nodiscard]] std::vector<int> poll_fds() const override;
  void poll(int fd, uint64_t now_ns) noexcept override;
  datapath::Ctx& ctx() noexcept override;
  bool send_datagram(const datapath::Peer& peer, std::span<const uint8_t> datagram) noexcept override;
  bool send_payload(uint32_t slot, std::span<const uint8_t> payload, uint64_t now_ns) noexcept override;
  bool write_tun(std::span<const uint8_t> packet) noexcept override;

  [[nodiscard]] const char* driver_name() const noexcept override { return "af_xdp"; }
  [[nodiscard]] std::vector<std::pair<std::string, uint64_t>> driver_counters() const override;

  struct Impl;

 private:
  explicit AfXdpDataPlane(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ocm::af_xdp
