#include "ocm/base/ipv4.hpp"

#include <charconv>

namespace ocm {

std::optional<uint32_t> parse_ipv4(std::string_view text) noexcept {
  uint32_t addr = 0;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (text.empty() || text.front() != '.') {
        return std::nullopt;
      }
      text.remove_prefix(1);
    }
    // Leading zeros are rejected: "010" is octal to inet_aton and would surprise an operator.
    if (text.empty() || (text.size() > 1 && text[0] == '0' && text[1] >= '0' && text[1] <= '9')) {
      return std::nullopt;
    }
    unsigned octet = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), octet);
    if (ec != std::errc{} || octet > 255) {
      return std::nullopt;
    }
    addr = (addr << 8) | octet;
    text.remove_prefix(static_cast<size_t>(ptr - text.data()));
  }
  if (!text.empty()) {
    return std::nullopt;
  }
  return addr;
}

std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view text) noexcept {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  auto addr = parse_ipv4(text.substr(0, slash));
  auto len_text = text.substr(slash + 1);
  unsigned len = 0;
  auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (!addr || len_text.empty() || ec != std::errc{} || ptr != len_text.data() + len_text.size() || len > 32) {
    return std::nullopt;
  }
  Ipv4Prefix prefix{*addr, static_cast<uint8_t>(len)};
  if ((*addr & ~prefix.netmask()) != 0) {
    return std::nullopt;
  }
  return prefix;
}

std::string format_ipv4(uint32_t addr) {
  return std::to_string(addr >> 24) + '.' + std::to_string((addr >> 16) & 0xff) + '.' +
         std::to_string((addr >> 8) & 0xff) + '.' + std::to_string(addr & 0xff);
}

std::string format_prefix_dotted(const Ipv4Prefix& prefix) {
  return format_ipv4(prefix.network) + '/' + format_ipv4(prefix.netmask());
}

}  // namespace ocm
