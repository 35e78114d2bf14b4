#pragma once
// The kernel TUN device that all sessions share (one device, many clients): opened
// multi-queue so that each packet thread can own a queue, given the pool's first address.
// It disappears when the last queue is closed, so a crashed server leaves nothing behind.

#include <cstdint>
#include <string>
#include <vector>

#include "ocm/base/ipv4.hpp"
#include "ocm/base/result.hpp"

namespace ocm::tun {

struct TunSettings {
  std::string name;      // interface name, e.g. "vpns"
  uint32_t address = 0;  // server side address (host order), e.g. 192.168.100.1
  Ipv4Prefix network;    // the client pool; the kernel routes it to the device
  uint32_t mtu = 1400;
  uint32_t queues = 1;
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

 private:
  TunDevice() = default;
  void close_all() noexcept;
  std::vector<int> fds_;
  std::string name_;
};

}  // namespace ocm::tun
