#include "ocm/datapath/frame.hpp"

#include <cstring>

#include "ocm/datapath/checksum.hpp"

namespace ocm::datapath {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86DD;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoFragment = 44;  // IPv6 fragment extension header
constexpr uint16_t kIpv4FlagMf = 0x2000;
constexpr uint16_t kIpv4FragOffset = 0x1fff;
constexpr uint16_t kIpv4FlagDf = 0x4000;
constexpr uint8_t kTtl = 64;

IpAddr mapped_v4(const uint8_t* p) noexcept { return IpAddr::v4(load_be32(p)); }

IpAddr from_v6(const uint8_t* p) noexcept {
  IpAddr a;
  std::memcpy(a.bytes.data(), p, 16);
  return a;
}

// Checks the UDP header at `udp` against the bytes the IP layer says it carries (l4_avail)
// and fills the UDP part of info.
FrameVerdict parse_udp(const uint8_t* frame, uint16_t udp_off, uint32_t l4_avail, FrameInfo& info) noexcept {
  if (l4_avail < kUdpHeader) {
    return FrameVerdict::kMalformed;
  }
  const uint8_t* udp = frame + udp_off;
  uint16_t udp_len = load_be16(udp + 4);
  // UDP length may be smaller than the IP payload (the rest is ignored, RFC 768), never larger.
  if (udp_len < kUdpHeader || udp_len > l4_avail) {
    return FrameVerdict::kMalformed;
  }
  info.src.port = load_be16(udp);
  info.dst_port = load_be16(udp + 2);
  info.payload_offset = static_cast<uint16_t>(udp_off + kUdpHeader);
  info.payload_len = static_cast<uint16_t>(udp_len - kUdpHeader);
  return FrameVerdict::kUdp;
}

FrameVerdict parse_ipv4(std::span<const uint8_t> frame, uint16_t l3, FrameInfo& info) noexcept {
  if (frame.size() - l3 < kIpv4Header) {
    return FrameVerdict::kMalformed;
  }
  const uint8_t* ip = frame.data() + l3;
  if ((ip[0] >> 4) != 4) {
    return FrameVerdict::kMalformed;
  }
  uint16_t ihl = static_cast<uint16_t>((ip[0] & 0x0f) * 4);
  uint16_t total = load_be16(ip + 2);
  if (ihl < kIpv4Header || total < ihl || total > frame.size() - l3) {
    return FrameVerdict::kMalformed;
  }
  info.ipv6 = false;
  info.l3_offset = l3;
  info.src.addr = mapped_v4(ip + 12);
  info.dst = mapped_v4(ip + 16);
  if ((load_be16(ip + 6) & (kIpv4FlagMf | kIpv4FragOffset)) != 0) {
    return FrameVerdict::kFragment;
  }
  if (ip[9] != kProtoUdp) {
    return FrameVerdict::kNotUdp;
  }
  return parse_udp(frame.data(), static_cast<uint16_t>(l3 + ihl), total - ihl, info);
}

FrameVerdict parse_ipv6(std::span<const uint8_t> frame, uint16_t l3, FrameInfo& info) noexcept {
  if (frame.size() - l3 < kIpv6Header) {
    return FrameVerdict::kMalformed;
  }
  const uint8_t* ip = frame.data() + l3;
  if ((ip[0] >> 4) != 6) {
    return FrameVerdict::kMalformed;
  }
  uint16_t payload = load_be16(ip + 4);
  if (payload > frame.size() - l3 - kIpv6Header) {
    return FrameVerdict::kMalformed;
  }
  info.ipv6 = true;
  info.l3_offset = l3;
  info.src.addr = from_v6(ip + 8);
  info.dst = from_v6(ip + 24);
  // Extension headers are not walked: our peers send plain UDP; anything else is the kernel's.
  if (ip[6] == kProtoFragment) {
    return FrameVerdict::kFragment;
  }
  if (ip[6] != kProtoUdp) {
    return FrameVerdict::kNotUdp;
  }
  return parse_udp(frame.data(), static_cast<uint16_t>(l3 + kIpv6Header), payload, info);
}

}  // namespace

const char* to_string(FrameVerdict verdict) noexcept {
  switch (verdict) {
    case FrameVerdict::kUdp:
      return "udp";
    case FrameVerdict::kNotIp:
      return "not_ip";
    case FrameVerdict::kNotUdp:
      return "not_udp";
    case FrameVerdict::kFragment:
      return "fragment";
    case FrameVerdict::kMalformed:
      return "malformed";
  }
  return "unknown";
}

FrameVerdict parse_udp_frame(std::span<const uint8_t> frame, FrameInfo& info) noexcept {
  info = FrameInfo{};
  // Offsets are 16-bit; no Ethernet frame we can receive is larger.
  if (frame.size() < kEthHeader || frame.size() > UINT16_MAX) {
    return FrameVerdict::kMalformed;
  }
  const uint8_t* eth = frame.data();
  std::memcpy(info.dst_mac.data(), eth, 6);
  std::memcpy(info.src_mac.data(), eth + 6, 6);
  uint16_t type = load_be16(eth + 12);
  uint16_t l3 = kEthHeader;
  if (type == kEtherVlan) {
    if (frame.size() < kEthHeader + kVlanTag) {
      return FrameVerdict::kMalformed;
    }
    info.has_vlan = true;
    info.vlan_tci = load_be16(eth + 14);
    type = load_be16(eth + 16);
    l3 = kEthHeader + kVlanTag;
  }
  switch (type) {
    case kEtherIpv4:
      return parse_ipv4(frame, l3, info);
    case kEtherIpv6:
      return parse_ipv6(frame, l3, info);
    default:
      return FrameVerdict::kNotIp;
  }
}

bool build_udp_frame(PktBuf& pkt, const UdpFlow& flow) noexcept {
  const bool v4 = flow.src.is_v4();
  if (v4 != flow.dst.addr.is_v4()) {
    return false;
  }
  const uint16_t l2 = flow.has_vlan ? kEthHeader + kVlanTag : kEthHeader;
  const uint16_t l3 = v4 ? kIpv4Header : kIpv6Header;
  const uint32_t udp_len = uint32_t{pkt.len()} + kUdpHeader;
  // IPv4 total length covers its header; the IPv6 payload length does not.
  if ((v4 ? l3 + udp_len : udp_len) > UINT16_MAX) {
    return false;
  }
  const uint16_t payload_len = pkt.len();
  uint8_t* frame = pkt.prepend(static_cast<uint16_t>(l2 + l3 + kUdpHeader));
  if (frame == nullptr) {
    return false;
  }
  std::memcpy(frame, flow.dst_mac.data(), 6);
  std::memcpy(frame + 6, flow.src_mac.data(), 6);
  if (flow.has_vlan) {
    store_be16(frame + 12, kEtherVlan);
    store_be16(frame + 14, flow.vlan_tci);
  }
  store_be16(frame + l2 - 2, v4 ? kEtherIpv4 : kEtherIpv6);

  uint8_t* ip = frame + l2;
  uint8_t* udp = ip + l3;
  uint64_t acc = 0;
  if (v4) {
    ip[0] = 0x45;
    ip[1] = 0;
    store_be16(ip + 2, static_cast<uint16_t>(kIpv4Header + udp_len));
    // DF set: the ID only matters for reassembly, which DF rules out (RFC 6864).
    store_be16(ip + 4, 0);
    store_be16(ip + 6, kIpv4FlagDf);
    ip[8] = kTtl;
    ip[9] = kProtoUdp;
    store_be16(ip + 10, 0);
    std::memcpy(ip + 12, flow.src.bytes.data() + 12, 4);
    std::memcpy(ip + 16, flow.dst.addr.bytes.data() + 12, 4);
    ipv4_set_header_checksum(ip, kIpv4Header);
    acc = csum_pseudo_v4(ip + 12, ip + 16, kProtoUdp, static_cast<uint16_t>(udp_len));
  } else {
    store_be32(ip, 0x60000000);  // version 6, traffic class 0, flow label 0
    store_be16(ip + 4, static_cast<uint16_t>(udp_len));
    ip[6] = kProtoUdp;
    ip[7] = kTtl;
    std::memcpy(ip + 8, flow.src.bytes.data(), 16);
    std::memcpy(ip + 24, flow.dst.addr.bytes.data(), 16);
    acc = csum_pseudo_v6(ip + 8, ip + 24, kProtoUdp, udp_len);
  }
  store_be16(udp, flow.src_port);
  store_be16(udp + 2, flow.dst.port);
  store_be16(udp + 4, static_cast<uint16_t>(udp_len));
  store_be16(udp + 6, 0);
  acc = csum_partial(udp, kUdpHeader, acc);
  acc = csum_partial(udp + kUdpHeader, payload_len, acc);
  uint16_t sum = csum_finish(acc);
  // A computed 0 is sent as 0xffff: 0 means "no checksum" in IPv4 and is illegal in IPv6.
  store_be16(udp + 6, sum == 0 ? 0xffff : sum);
  return true;
}

}  // namespace ocm::datapath
