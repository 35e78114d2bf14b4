#pragma once
// restrict-user-to-routes (ocserv's per-user/group key, our [network] restrict_to_routes): a
// client may only send to the networks announced to it. A small fixed-size list per session,
// kept beside the session slots (SessionTable::restriction), so checking it allocates nothing
// and takes no lock; the slow path computes it once per CONNECT.

#include <array>
#include <cstdint>
#include <span>

#include "ocm/base/ipv4.hpp"

namespace ocm::datapath {

// ocserv deployments that restrict users give them a handful of split-include routes; a
// session with more than this many is refused rather than run unrestricted (fail closed).
// 16 keeps a slot's list at 136 bytes (a /16 pool: 8.9 MB for all slots).
inline constexpr uint32_t kMaxRestrictedRoutes = 16;

struct RouteRestriction {
  // count == 0: not restricted (the default; a session with the default route).
  uint32_t count = 0;
  // IPv6 destinations: the list is IPv4 only, so a restricted session may send IPv6 only when
  // its IPv6 routes include ::/0.
  bool allow_ipv6 = false;
  std::array<Ipv4Prefix, kMaxRestrictedRoutes> routes{};

  [[nodiscard]] bool restricted() const noexcept { return count != 0; }
  // `packet` passed check_inner (a whole IPv4 or IPv6 header is there).
  [[nodiscard]] bool allows(std::span<const uint8_t> packet) const noexcept {
    if (count == 0) {
      return true;
    }
    if ((packet[0] >> 4) == 6) {
      return allow_ipv6;
    }
    const uint32_t dst = (uint32_t{packet[16]} << 24) | (uint32_t{packet[17]} << 16) | (uint32_t{packet[18]} << 8) |
                         uint32_t{packet[19]};
    for (uint32_t i = 0; i < count; ++i) {
      if (routes[i].contains(dst)) {
        return true;
      }
    }
    return false;
  }
};

}  // namespace ocm::datapath
