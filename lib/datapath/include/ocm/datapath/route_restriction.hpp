#pragma once
// restrict-user-to-routes and restrict-user-to-ports (ocserv's per-user/group keys, our
// [network] restrict_to_routes / restrict_to_ports): a client may only send to the networks
// announced to it, and only to the protocols/destination ports listed. Small fixed-size lists
// per session, kept beside the session slots (SessionTable::restriction), so checking them
// allocates nothing and takes no lock; the slow path computes them once per CONNECT. The two
// are independent: a session may have either, both or neither.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "ocm/base/ipv4.hpp"

namespace ocm::datapath {

// ocserv deployments that restrict users give them a handful of split-include routes; a
// session with more than this many is refused rather than run unrestricted (fail closed).
inline constexpr uint32_t kMaxRestrictedRoutes = 16;
// restrict-user-to-ports lists seen in practice name a few services; 32 covers them with room
// to spare, and more is refused like too many routes. Together a slot's lists are 264 bytes
// (8 header + 16 x 8 routes + 32 x 4 port rules; a /16 pool: 17.3 MB for all slots).
inline constexpr uint32_t kMaxPortRules = 32;

// IP protocol numbers the port rules use.
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpv6 = 58;
inline constexpr uint8_t kProtoSctp = 132;

// One entry of restrict-user-to-ports: a destination port of TCP/UDP/SCTP, or (port 0) any
// ICMP/ICMPv6 message.
struct PortRuleSlot {
  uint8_t protocol = 0;
  uint16_t port = 0;
};

enum class RestrictVerdict : uint8_t {
  kAllowed,
  kNotInRoutes,     // destination outside the routes (DropReason::kNotInRoutes)
  kPortNotAllowed,  // protocol/destination port not allowed (DropReason::kPortNotAllowed)
};

struct RouteRestriction {
  // count == 0: routes not restricted (the default; a session with the default route).
  uint32_t count = 0;
  // IPv6 destinations: the list is IPv4 only, so a restricted session may send IPv6 only when
  // its IPv6 routes include ::/0.
  bool allow_ipv6 = false;
  // Ports: port_count == 0 means not restricted. ports_negate: the rules list what is refused
  // ("!(tcp(25))") instead of what is allowed.
  bool ports_negate = false;
  uint8_t port_count = 0;
  std::array<Ipv4Prefix, kMaxRestrictedRoutes> routes{};
  std::array<PortRuleSlot, kMaxPortRules> ports{};

  [[nodiscard]] bool restricted() const noexcept { return count != 0 || port_count != 0; }

  // `packet` passed check_inner (a whole IPv4 header, or the IPv6 fixed header, is there and
  // the length fields match the frame).
  [[nodiscard]] RestrictVerdict check(std::span<const uint8_t> packet) const noexcept {
    if (count != 0 && !routes_allow(packet)) {
      return RestrictVerdict::kNotInRoutes;
    }
    if (port_count != 0 && !ports_allow(packet)) {
      return RestrictVerdict::kPortNotAllowed;
    }
    return RestrictVerdict::kAllowed;
  }
  [[nodiscard]] bool allows(std::span<const uint8_t> packet) const noexcept {
    return check(packet) == RestrictVerdict::kAllowed;
  }

 private:
  [[nodiscard]] bool routes_allow(std::span<const uint8_t> packet) const noexcept {
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

  [[nodiscard]] static bool has_ports(uint8_t protocol) noexcept {
    return protocol == kProtoTcp || protocol == kProtoUdp || protocol == kProtoSctp;
  }

  [[nodiscard]] bool any_rule_for(uint8_t protocol) const noexcept {
    for (uint32_t i = 0; i < port_count; ++i) {
      if (ports[i].protocol == protocol) {
        return true;
      }
    }
    return false;
  }

  // TCP, UDP and SCTP all start with source port, destination port: the destination is the
  // two bytes at l4 + 2. A packet too short to carry them is dropped whatever the list says:
  // it cannot be judged, and no honest client sends one.
  [[nodiscard]] bool port_matches(std::span<const uint8_t> packet, size_t l4, uint8_t protocol,
                                  bool& short_packet) const noexcept {
    if (packet.size() < l4 + 4) {
      short_packet = true;
      return false;
    }
    const auto dport = static_cast<uint16_t>((uint16_t{packet[l4 + 2]} << 8) | packet[l4 + 3]);
    for (uint32_t i = 0; i < port_count; ++i) {
      if (ports[i].protocol == protocol && ports[i].port == dport) {
        return true;
      }
    }
    return false;
  }

  [[nodiscard]] bool ports_allow(std::span<const uint8_t> packet) const noexcept {
    bool matched = false;
    bool short_packet = false;
    if ((packet[0] >> 4) == 6) {
      // Only a transport header right after the fixed header is read; walking extension
      // headers is not worth it on the fast path, so they count as an unknown protocol
      // (no rule matches: refused by an allow-list, passed by a deny-list).
      const uint8_t next = packet[6];
      if (has_ports(next)) {
        matched = port_matches(packet, 40, next, short_packet);
      } else if (next == kProtoIcmpv6) {
        matched = any_rule_for(kProtoIcmpv6);
      }
    } else {
      const uint8_t protocol = packet[9];
      const size_t ihl = size_t{packet[0] & 0x0Fu} * 4;
      const bool later_fragment = ((packet[6] & 0x1Fu) | packet[7]) != 0;
      if (later_fragment) {
        // No L4 header here. The first fragment was judged with its ports, so a refused
        // datagram never reassembles; an allow-list passes fragments of its protocols only.
        return ports_negate || any_rule_for(protocol);
      }
      if (has_ports(protocol)) {
        matched = port_matches(packet, ihl, protocol, short_packet);
      } else if (protocol == kProtoIcmp) {
        matched = any_rule_for(kProtoIcmp);
      }
    }
    if (short_packet) {
      return false;
    }
    return ports_negate ? !matched : matched;
  }
};
static_assert(sizeof(RouteRestriction) == 264, "update the per-slot memory numbers above kMaxPortRules");

}  // namespace ocm::datapath
