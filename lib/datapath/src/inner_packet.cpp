#include "ocm/datapath/inner_packet.hpp"

namespace ocm::datapath {
namespace {
uint32_t load_be32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
constexpr size_t kIpv4MinHeader = 20;
}  // namespace

const char* to_string(InnerVerdict verdict) noexcept {
  switch (verdict) {
    case InnerVerdict::kOk:
      return "ok";
    case InnerVerdict::kTooShort:
      return "inner_too_short";
    case InnerVerdict::kNotIpv4:
      return "inner_not_ipv4";
    case InnerVerdict::kBadHeaderLength:
      return "inner_bad_header_length";
    case InnerVerdict::kBadTotalLength:
      return "inner_bad_total_length";
    case InnerVerdict::kSourceSpoofed:
      return "inner_src_spoofed";
    case InnerVerdict::kIpv6TooShort:
      return "inner6_too_short";
    case InnerVerdict::kIpv6BadPayloadLength:
      return "inner6_bad_payload_length";
    case InnerVerdict::kIpv6NoLease:
      return "inner6_no_lease";
    case InnerVerdict::kIpv6SourceSpoofed:
      return "inner6_src_spoofed";
  }
  return "?";
}

InnerVerdict check_inner_ipv4(std::span<const uint8_t> packet, uint32_t leased_source) noexcept {
  if (packet.size() < kIpv4MinHeader) {
    return InnerVerdict::kTooShort;
  }
  if ((packet[0] >> 4) != 4) {
    return InnerVerdict::kNotIpv4;
  }
  size_t header_len = size_t{packet[0] & 0x0fu} * 4;
  if (header_len < kIpv4MinHeader || header_len > packet.size()) {
    return InnerVerdict::kBadHeaderLength;
  }
  size_t total_len = (size_t{packet[2]} << 8) | packet[3];
  // Trailing bytes beyond total length would be written to TUN as part of the packet, so the
  // lengths must agree exactly.
  if (total_len != packet.size()) {
    return InnerVerdict::kBadTotalLength;
  }
  if (load_be32(&packet[12]) != leased_source) {
    return InnerVerdict::kSourceSpoofed;
  }
  return InnerVerdict::kOk;
}

bool Ipv6Subnet::contains(const uint8_t* addr) const noexcept {
  const size_t full = prefix_length / 8;
  for (size_t i = 0; i < full; ++i) {
    if (addr[i] != network[i]) {
      return false;
    }
  }
  const unsigned rest = prefix_length % 8;
  if (rest == 0) {
    return true;
  }
  const auto mask = static_cast<uint8_t>(0xff00u >> rest);
  return (addr[full] & mask) == network[full];
}

InnerVerdict check_inner_ipv6(std::span<const uint8_t> packet, const Ipv6Subnet& lease) noexcept {
  if (packet.size() < kIpv6HeaderSize) {
    return InnerVerdict::kIpv6TooShort;
  }
  if ((packet[0] >> 4) != 6) {
    return InnerVerdict::kNotIpv4;
  }
  // As for IPv4: trailing bytes would reach TUN as part of the packet, so the lengths must agree.
  // A jumbogram (payload length 0 + hop-by-hop option) cannot fit a tunnel record anyway.
  const size_t payload_len = (size_t{packet[4]} << 8) | packet[5];
  if (payload_len + kIpv6HeaderSize != packet.size()) {
    return InnerVerdict::kIpv6BadPayloadLength;
  }
  if (lease.empty()) {
    return InnerVerdict::kIpv6NoLease;
  }
  // The client owns its whole subnet (ipv6_subnet_prefix), not only the announced address.
  if (!lease.contains(&packet[8])) {
    return InnerVerdict::kIpv6SourceSpoofed;
  }
  return InnerVerdict::kOk;
}

InnerVerdict check_inner(std::span<const uint8_t> packet, uint32_t leased_source, const Ipv6Subnet& lease6) noexcept {
  if (!packet.empty() && (packet[0] >> 4) == 6) {
    return check_inner_ipv6(packet, lease6);
  }
  return check_inner_ipv4(packet, leased_source);
}

const uint8_t* ipv6_destination(std::span<const uint8_t> packet) noexcept {
  if (packet.size() < kIpv6HeaderSize || (packet[0] >> 4) != 6) {
    return nullptr;
  }
  return &packet[24];
}

bool ipv4_destination(std::span<const uint8_t> packet, uint32_t& out) noexcept {
  if (packet.size() < kIpv4MinHeader || (packet[0] >> 4) != 4) {
    return false;
  }
  out = load_be32(&packet[16]);
  return true;
}

}  // namespace ocm::datapath
