#include "ocm/tun/tun_device.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ocm/base/log.hpp"

namespace ocm::tun {
namespace {

std::string errno_text() { return std::strerror(errno); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

void set_sockaddr(sockaddr& sa, uint32_t host_order) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(host_order);
  std::memcpy(&sa, &sin, sizeof sin);
}

Status configure_interface(const TunSettings& s) {
  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) {
    return make_error("socket(AF_INET): " + errno_text());
  }
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, s.name.c_str(), IFNAMSIZ - 1);
  set_sockaddr(ifr.ifr_addr, s.address);
  if (::ioctl(sock.get(), SIOCSIFADDR, &ifr) < 0) {
    return make_error("cannot set address of " + s.name + ": " + errno_text());
  }
  set_sockaddr(ifr.ifr_netmask, s.network.netmask());
  if (::ioctl(sock.get(), SIOCSIFNETMASK, &ifr) < 0) {
    return make_error("cannot set netmask of " + s.name + ": " + errno_text());
  }
  ifr.ifr_mtu = static_cast<int>(s.mtu);
  if (::ioctl(sock.get(), SIOCSIFMTU, &ifr) < 0) {
    return make_error("cannot set MTU " + std::to_string(s.mtu) + " on " + s.name + ": " + errno_text());
  }
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) {
    return make_error("cannot read flags of " + s.name + ": " + errno_text());
  }
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) < 0) {
    return make_error("cannot bring " + s.name + " up: " + errno_text());
  }
  return {};
}

// struct in6_ifreq from <linux/ipv6.h>, which cannot be included next to <netinet/in.h>.
struct In6Ifreq {
  in6_addr addr;
  uint32_t prefixlen;
  int ifindex;
};

// SIOCSIFADDR on an AF_INET6 socket adds the address (the interface is up, so addrconf is
// running); the kernel adds the on-link route for the prefix with it. TUN devices are NOARP, so
// there is no duplicate address detection and the address is usable at once.
Status configure_ipv6(const TunSettings& s) {
  Fd sock(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) {
    return make_error("socket(AF_INET6): " + errno_text() + " (is IPv6 disabled in the kernel?)");
  }
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, s.name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFINDEX, &ifr) < 0) {
    return make_error("cannot find the index of " + s.name + ": " + errno_text());
  }
  Ipv6Addr server = s.network6->network;
  server[15] = static_cast<uint8_t>(server[15] | 1);
  In6Ifreq req{};
  std::memcpy(&req.addr, server.data(), server.size());
  req.prefixlen = s.network6->length;
  req.ifindex = ifr.ifr_ifindex;
  if (::ioctl(sock.get(), SIOCSIFADDR, &req) < 0 && errno != EEXIST) {
    std::string why = errno_text();
    if (errno == EACCES || errno == EPERM) {
      why += " (needs CAP_NET_ADMIN)";
    } else if (errno == ENODEV || errno == EADDRNOTAVAIL) {
      why += " (is net.ipv6.conf." + s.name + ".disable_ipv6 set?)";
    }
    return make_error("cannot set IPv6 address " + format_ipv6_prefix(server, s.network6->length) + " on " + s.name +
                      ": " + why);
  }
  return {};
}

// What the data plane does with TSO frames: TCP over IPv4 and IPv6, partial checksums. No
// TUN_F_TSO_ECN (the kernel segments CWR frames itself), no UFO/USO (UDP is not coalesced).
constexpr unsigned kTunOffloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

// The header every read and write carries with IFF_VNET_HDR: struct virtio_net_hdr.
constexpr int kVnetHdrSize = 10;

}  // namespace

Status TunDevice::open_queues(const TunSettings& settings, bool vnet_hdr) {
  for (uint32_t q = 0; q < settings.queues; ++q) {
    int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      return make_error("cannot open /dev/net/tun: " + errno_text() +
                        (errno == ENOENT ? " (is the tun module loaded?)" : ""));
    }
    fds_.push_back(fd);
    ifreq ifr{};
    ifr.ifr_flags = static_cast<short>(IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | (vnet_hdr ? IFF_VNET_HDR : 0));
    std::strncpy(ifr.ifr_name, settings.name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
      std::string why = errno_text();
      if (errno == EPERM) {
        why += " (needs root or CAP_NET_ADMIN)";
      } else if (errno == EBUSY || errno == EINVAL) {
        why += " (does a non-multi-queue device with this name already exist?)";
      }
      return make_error("cannot create TUN device " + settings.name + ": " + why);
    }
    if (vnet_hdr) {
      int size = kVnetHdrSize;
      if (::ioctl(fd, TUNSETVNETHDRSZ, &size) < 0) {
        return make_error("TUNSETVNETHDRSZ on " + settings.name + ": " + errno_text());
      }
    }
  }
  if (vnet_hdr && !fds_.empty()) {
    // Device-wide: one call covers every queue.
    if (::ioctl(fds_.front(), TUNSETOFFLOAD, static_cast<unsigned long>(kTunOffloads)) < 0) {
      return make_error("TUNSETOFFLOAD on " + settings.name + ": " + errno_text());
    }
  }
  return {};
}

Result<TunDevice> TunDevice::open(const TunSettings& settings) {
  if (settings.name.empty() || settings.name.size() >= IFNAMSIZ) {
    return make_error("invalid TUN device name '" + settings.name + "'");
  }
  TunDevice dev;
  dev.name_ = settings.name;
  if (settings.offloads) {
    if (auto st = dev.open_queues(settings, true); st) {
      dev.offloads_ = true;
    } else {
      // Closing every queue deletes the device, so the plain attempt starts from scratch.
      OCM_WARN("TUN offloads unavailable (%s); using plain TUN I/O", st.error().message.c_str());
      dev.close_all();
    }
  }
  if (!dev.offloads_) {
    if (auto st = dev.open_queues(settings, false); !st) {
      return st.error();
    }
  }
  if (auto st = configure_interface(settings); !st) {
    return st.error();
  }
  if (settings.network6) {
    if (auto st = configure_ipv6(settings); !st) {
      return st.error();
    }
  }
  return dev;
}

TunDevice::~TunDevice() { close_all(); }

TunDevice::TunDevice(TunDevice&& other) noexcept
    : fds_(std::move(other.fds_)), name_(std::move(other.name_)), offloads_(other.offloads_) {
  other.fds_.clear();
}

TunDevice& TunDevice::operator=(TunDevice&& other) noexcept {
  if (this != &other) {
    close_all();
    fds_ = std::move(other.fds_);
    name_ = std::move(other.name_);
    offloads_ = other.offloads_;
    other.fds_.clear();
  }
  return *this;
}

void TunDevice::close_all() noexcept {
  for (int fd : fds_) {
    ::close(fd);
  }
  fds_.clear();
}

}  // namespace ocm::tun
