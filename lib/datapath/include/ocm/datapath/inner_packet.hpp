#pragma once
// Checks on an IP packet that came out of a client's tunnel before it may reach the TUN device:
// decryption (TLS here) says who sent it, not that it is well-formed or honestly addressed.

#include <cstddef>
#include <cstdint>
#include <span>

#include "ocm/base/ipv6.hpp"

namespace ocm::datapath {

enum class InnerVerdict : uint8_t {
  kOk,
  kTooShort,        // shorter than an IPv4 header
  kNotIpv4,         // version nibble neither 4 nor 6 (name kept: it is a metric name)
  kBadHeaderLength, // IHL < 5 or header longer than the packet
  kBadTotalLength,  // total length field disagrees with the frame length
  kSourceSpoofed,   // source address is not the session's lease
  // IPv6 (RFC 8200 fixed header; extension headers are the receiver's business).
  kIpv6TooShort,          // shorter than the 40-byte IPv6 header
  kIpv6BadPayloadLength,  // payload length + 40 != frame length (0 = jumbogram, never valid here)
  kIpv6NoLease,           // the session has no IPv6 lease (no pool, or the client declined IPv6)
  kIpv6SourceSpoofed,     // source address is outside the session's IPv6 subnet
};
inline constexpr size_t kInnerVerdictCount = static_cast<size_t>(InnerVerdict::kIpv6SourceSpoofed) + 1;

// A session's IPv6 lease as the data path checks it: the client's subnet (network bits only).
// prefix_length 0 means "no IPv6 lease".
struct Ipv6Subnet {
  Ipv6Addr network{};
  uint8_t prefix_length = 0;
  [[nodiscard]] bool empty() const noexcept { return prefix_length == 0; }
  // True when `addr` (16 bytes, network order) lies inside the subnet.
  [[nodiscard]] bool contains(const uint8_t* addr) const noexcept;
  bool operator==(const Ipv6Subnet&) const = default;
};

const char* to_string(InnerVerdict verdict) noexcept;

InnerVerdict check_inner_ipv4(std::span<const uint8_t> packet, uint32_t leased_source) noexcept;
InnerVerdict check_inner_ipv6(std::span<const uint8_t> packet, const Ipv6Subnet& lease) noexcept;
// Either family by the version nibble: what a session with these leases may send.
InnerVerdict check_inner(std::span<const uint8_t> packet, uint32_t leased_source, const Ipv6Subnet& lease6) noexcept;

inline constexpr size_t kIpv6HeaderSize = 40;

// Destination address (host order) of a packet read from TUN; false when it is not IPv4.
bool ipv4_destination(std::span<const uint8_t> packet, uint32_t& out) noexcept;
// Destination address (16 bytes inside `packet`) of an IPv6 packet read from TUN; nullptr when
// it is not IPv6 or shorter than the fixed header.
const uint8_t* ipv6_destination(std::span<const uint8_t> packet) noexcept;

}  // namespace ocm::datapath
