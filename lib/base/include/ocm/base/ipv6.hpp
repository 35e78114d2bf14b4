#pragma once
// IPv6 addresses and prefixes as 16 network-order bytes: parsing and formatting for config and
// the CONNECT reply, and the prefix arithmetic the IPv6 lease pool needs.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ocm {

using Ipv6Addr = std::array<uint8_t, 16>;  // network byte order

struct Ipv6Prefix {
  Ipv6Addr network{};  // host bits zero
  uint8_t length = 0;  // 0..128

  [[nodiscard]] bool contains(const Ipv6Addr& addr) const noexcept;
  bool operator==(const Ipv6Prefix&) const = default;
};

// `addr` with every bit after the first `length` cleared.
Ipv6Addr ipv6_masked(const Ipv6Addr& addr, uint8_t length) noexcept;
// Any textual form inet_pton(AF_INET6) accepts (including "::ffff:1.2.3.4"); no zone ids.
std::optional<Ipv6Addr> parse_ipv6(std::string_view text) noexcept;
// "fd00::/64"; host bits set is an error (a typo should not silently widen a route).
std::optional<Ipv6Prefix> parse_ipv6_prefix(std::string_view text) noexcept;
// RFC 5952 form (lowercase, longest zero run compressed), as inet_ntop writes it.
std::string format_ipv6(const Ipv6Addr& addr);
// "fd00::/64": the form X-CSTP-Split-Include-IP6 and X-CSTP-Address-IP6 use.
std::string format_ipv6_prefix(const Ipv6Addr& addr, uint8_t length);

}  // namespace ocm
