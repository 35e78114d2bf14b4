#include "ocm/base/ipv6.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace ocm {

bool Ipv6Prefix::contains(const Ipv6Addr& addr) const noexcept { return ipv6_masked(addr, length) == network; }

Ipv6Addr ipv6_masked(const Ipv6Addr& addr, uint8_t length) noexcept {
  Ipv6Addr out = addr;
  for (size_t i = 0; i < out.size(); ++i) {
    const size_t bit = i * 8;
    if (bit >= length) {
      out[i] = 0;
    } else if (bit + 8 > length) {
      out[i] = static_cast<uint8_t>(out[i] & (0xff00u >> (length - bit)));
    }
  }
  return out;
}

std::optional<Ipv6Addr> parse_ipv6(std::string_view text) noexcept {
  // inet_pton needs a terminated string; the longest valid form ("ffff:...:255.255.255.255")
  // is 45 characters.
  char buf[INET6_ADDRSTRLEN + 1] = {};
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) {
    return std::nullopt;
  }
  std::memcpy(buf, text.data(), text.size());
  Ipv6Addr addr{};
  if (::inet_pton(AF_INET6, buf, addr.data()) != 1) {
    return std::nullopt;
  }
  return addr;
}

std::optional<Ipv6Prefix> parse_ipv6_prefix(std::string_view text) noexcept {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  auto addr = parse_ipv6(text.substr(0, slash));
  auto len_text = text.substr(slash + 1);
  unsigned len = 0;
  auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (!addr || len_text.empty() || ec != std::errc{} || ptr != len_text.data() + len_text.size() || len > 128) {
    return std::nullopt;
  }
  if (ipv6_masked(*addr, static_cast<uint8_t>(len)) != *addr) {
    return std::nullopt;
  }
  return Ipv6Prefix{*addr, static_cast<uint8_t>(len)};
}

std::string format_ipv6(const Ipv6Addr& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  // Cannot fail for AF_INET6 with a buffer of INET6_ADDRSTRLEN.
  ::inet_ntop(AF_INET6, addr.data(), buf, sizeof buf);
  return buf;
}

std::string format_ipv6_prefix(const Ipv6Addr& addr, uint8_t length) {
  return format_ipv6(addr) + '/' + std::to_string(length);
}

}  // namespace ocm
