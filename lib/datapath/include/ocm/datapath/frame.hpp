#pragma once
// Ethernet framing for the drivers that see whole frames (af_xdp, dpdk): parse a received frame
// down to its UDP payload, and put Ethernet/IP/UDP headers in front of a sealed DTLS record.
// Driver-neutral (no DPDK/libbpf types), so both drivers and the tests share one implementation.
//
// Headroom: a TUN packet sealed into a DTLS record grows by dtls_plaintext_offset() (at most 22
// bytes) in front; the L2/L3/L4 headers need up to kMaxUdpHeaders more. Drivers that frame
// packets therefore receive TUN packets at kFrameHeadroom, not kHeadroom.

#include <array>
#include <cstdint>
#include <span>

#include "ocm/datapath/pkt.hpp"

namespace ocm::datapath {

using MacAddr = std::array<uint8_t, 6>;

inline constexpr uint16_t kEthHeader = 14;
inline constexpr uint16_t kVlanTag = 4;
inline constexpr uint16_t kIpv4Header = 20;  // we never send IPv4 options
inline constexpr uint16_t kIpv6Header = 40;
inline constexpr uint16_t kUdpHeader = 8;
// Ethernet + one VLAN tag + IPv6 + UDP: the most build_udp_frame() ever prepends.
inline constexpr uint16_t kMaxUdpHeaders = kEthHeader + kVlanTag + kIpv6Header + kUdpHeader;
// Room in front of an IP packet for the DTLS record header, explicit nonce and type byte (22,
// rounded up) plus kMaxUdpHeaders, rounded up to a cache line.
inline constexpr uint16_t kDtlsRecordPrefix = 22;  // 13 record header + 8 explicit nonce + 1 type
inline constexpr uint16_t kFrameHeadroom = 128;
static_assert(kFrameHeadroom >= kDtlsRecordPrefix + kMaxUdpHeaders);
static_assert(kFrameHeadroom >= kHeadroom, "the pipeline expects at least kHeadroom in front");

enum class FrameVerdict : uint8_t {
  kUdp,          // IPv4 or IPv6 UDP datagram, headers valid: info filled
  kNotIp,        // ARP, LLDP, anything with another EtherType
  kNotUdp,       // IP, but not UDP (ICMP, TCP, IPv6 extension headers we do not walk)
  kFragment,     // an IP fragment (DTLS records are never fragmented by our peers' stacks)
  kMalformed,    // truncated or inconsistent lengths/IHL/version; never trust such a frame
};
const char* to_string(FrameVerdict verdict) noexcept;

struct FrameInfo {
  MacAddr src_mac{};
  MacAddr dst_mac{};
  uint16_t vlan_tci = 0;  // 0 = untagged (one 802.1Q tag is understood)
  bool has_vlan = false;
  bool ipv6 = false;
  uint16_t l3_offset = 0;       // IP header, from the frame start
  uint16_t payload_offset = 0;  // UDP payload, from the frame start
  uint16_t payload_len = 0;     // UDP length - 8, checked against the IP and frame lengths
  Peer src;                     // source address and port
  IpAddr dst;                   // destination address
  uint16_t dst_port = 0;        // host order
};

// Parses an Ethernet frame. Bounds are checked on every header; trailing Ethernet padding after
// the IP datagram is ignored. The UDP checksum is not verified: the DTLS record's AEAD tag
// protects the payload, and a corrupted header only misroutes to a session that rejects it.
FrameVerdict parse_udp_frame(std::span<const uint8_t> frame, FrameInfo& info) noexcept;

// What a driver needs to send to one peer: our side of the flow and the next hop's MAC.
struct UdpFlow {
  MacAddr src_mac{};
  MacAddr dst_mac{};  // the peer's MAC when on-link, else the gateway's
  bool has_vlan = false;
  uint16_t vlan_tci = 0;
  IpAddr src;              // our address (IPv4-mapped for IPv4); must be the peer's family
  uint16_t src_port = 0;   // host order
  Peer dst;
};

// Prepends Ethernet [+ VLAN] + IPv4/IPv6 + UDP headers to pkt's data (the UDP payload):
// IPv4 header checksum computed, DF set, TTL 64; UDP checksum computed for IPv6 (mandatory)
// and for IPv4 (cheap next to the AEAD, and some middleboxes drop zero checksums).
// False (pkt unchanged) without enough headroom, when src and dst families differ, or when the
// datagram would exceed 65535 bytes.
bool build_udp_frame(PktBuf& pkt, const UdpFlow& flow) noexcept;

}  // namespace ocm::datapath
