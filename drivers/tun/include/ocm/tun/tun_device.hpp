#pragma once
// The kernel TUN device that all sessions share (one device, many clients): opened
// multi-queue so that each packet thread can own a queue, given the pool's first address.
// It disappears when the last queue is closed, so a crashed server leaves nothing behind.
//
// Offloads (TunSettings::offloads, on by default): the queues are opened with IFF_VNET_HDR and
// the device gets TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6), so the kernel may hand
// over TCP super-packets of up to 64 KiB with a partial checksum, and accepts GSO writes. Then
// EVERY read and write on every queue carries a 10-byte struct virtio_net_hdr in front of the
// packet (TUNGETIFF reports IFF_VNET_HDR, so a data plane can check it on the descriptors it is
// given). If the kernel refuses either step the device is recreated without them.
// TSO6 is safe to advertise: IPv6 TCP super-packets are cut like IPv4 ones (lib/datapath gso,
// 40-byte header, payload length per segment); writes coalesce only IPv4 segments.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ocm/base/ipv4.hpp"
#include "ocm/base/ipv6.hpp"
#include "ocm/base/result.hpp"

namespace ocm::tun {

struct TunSettings {
  std::string name;      // interface name, e.g. "vpns"
  uint32_t address = 0;  // server side address (host order), e.g. 192.168.100.1
  Ipv4Prefix network;    // the client pool; the kernel routes it to the device
  uint32_t mtu = 1400;
  uint32_t queues = 1;
  bool offloads = true;  // IFF_VNET_HDR + TSO/checksum offload, with fallback (see above)
  // IPv6 inside the tunnel: the device also gets network6::1/len, and with it the kernel's
  // on-link route for the whole IPv6 pool. None: IPv4 only.
  std::optional<Ipv6Prefix> network6;
};

class TunDevice {
 public:
  // Needs CAP_NET_ADMIN. Errors say which step failed and why.
  static Result<TunDevice> open(const TunSettings& settings);
  ~TunDevice();
  TunDevice(TunDevice&& other) noexcept;
  TunDevice& operator=(TunDevice&& other) noexcept;
  TunDevice(const TunDevice&) = delete;
  TunDevice& operator=(const TunDevice&) = delete;

  // Non-blocking queue descriptors, owned by this object.
  [[nodiscard]] const std::vector<int>& fds() const noexcept { return fds_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  // True when the queues carry a virtio_net header and the kernel may send TSO super-packets.
  [[nodiscard]] bool offloads() const noexcept { return offloads_; }

 private:
  TunDevice() = default;
  // Opens settings.queues queues (and sets the offloads when vnet_hdr); on error the queues
  // opened so far stay in fds_ for the caller to close.
  Status open_queues(const TunSettings& settings, bool vnet_hdr);
  void close_all() noexcept;
  std::vector<int> fds_;
  std::string name_;
  bool offloads_ = false;
};

}  // namespace ocm::tun
