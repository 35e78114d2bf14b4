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

bool ipv4_destination(std::span<const uint8_t> packet, uint32_t& out) noexcept {
  if (packet.size() < kIpv4MinHeader || (packet[0] >> 4) != 4) {
    return false;
  }
  out = load_be32(&packet[16]);
  return true;
}

}  // namespace ocm::datapath
