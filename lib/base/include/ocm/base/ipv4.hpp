#pragma once
// IPv4 addresses and prefixes as host-order integers: parsing and formatting for config and headers.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ocm {

struct Ipv4Prefix {
  uint32_t network = 0;  // host byte order, host bits zero
  uint8_t length = 0;    // 0..32

  [[nodiscard]] uint32_t netmask() const noexcept { return length == 0 ? 0 : ~uint32_t{0} << (32 - length); }
  [[nodiscard]] bool contains(uint32_t addr) const noexcept { return (addr & netmask()) == network; }
  bool operator==(const Ipv4Prefix&) const = default;
};

std::optional<uint32_t> parse_ipv4(std::string_view text) noexcept;
// "a.b.c.d/len"; host bits set is an error (a typo should not silently widen a route).
std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view text) noexcept;
std::string format_ipv4(uint32_t addr);
// "10.0.0.0/255.0.0.0": the form X-CSTP-Split-Include uses.
std::string format_prefix_dotted(const Ipv4Prefix& prefix);

}  // namespace ocm
