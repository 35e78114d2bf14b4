#include "kernel_iface.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ocm/base/ipv4.hpp"
#include "ocm/base/log.hpp"

namespace ocm::dpdk {
namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

sockaddr_in sin_of(uint32_t host_order) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(host_order);
  return sin;
}

}  // namespace

Status configure_kernel_iface(const std::string& name, uint32_t address, uint8_t prefix_length, uint32_t gateway) {
  if (name.size() >= IFNAMSIZ) {
    return make_error("dpdk: TAP name too long: " + name);
  }
  Fd s{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) {
    return make_error(std::string("dpdk: socket: ") + std::strerror(errno));
  }
  auto fail = [&](const char* step) {
    return make_error("dpdk: TAP " + name + ": " + step + ": " + std::strerror(errno));
  };
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  sockaddr_in addr = sin_of(address);
  std::memcpy(&ifr.ifr_addr, &addr, sizeof addr);
  if (::ioctl(s.fd, SIOCSIFADDR, &ifr) != 0) {
    return fail("SIOCSIFADDR");
  }
  uint32_t mask = prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - prefix_length);
  sockaddr_in netmask = sin_of(mask);
  std::memcpy(&ifr.ifr_netmask, &netmask, sizeof netmask);
  if (::ioctl(s.fd, SIOCSIFNETMASK, &ifr) != 0) {
    return fail("SIOCSIFNETMASK");
  }
  if (::ioctl(s.fd, SIOCGIFFLAGS, &ifr) != 0) {
    return fail("SIOCGIFFLAGS");
  }
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(s.fd, SIOCSIFFLAGS, &ifr) != 0) {
    return fail("SIOCSIFFLAGS up");
  }
  if (gateway != 0) {
    rtentry rt{};
    sockaddr_in any = sin_of(0);
    sockaddr_in gw = sin_of(gateway);
    std::memcpy(&rt.rt_dst, &any, sizeof any);
    std::memcpy(&rt.rt_genmask, &any, sizeof any);
    std::memcpy(&rt.rt_gateway, &gw, sizeof gw);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    std::string dev = name;
    rt.rt_dev = dev.data();
    if (::ioctl(s.fd, SIOCADDRT, &rt) != 0) {
      if (errno != EEXIST) {
        return fail("SIOCADDRT default via gateway");
      }
      OCM_WARN("dpdk: a default route exists already; not adding one via %s on %s", format_ipv4(gateway).c_str(),
               name.c_str());
    }
  }
  return {};
}

}  // namespace ocm::dpdk
