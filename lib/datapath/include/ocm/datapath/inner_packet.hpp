#pragma once
// Checks on an IP packet that came out of a client's tunnel before it may reach the TUN device:
// decryption (TLS here) says who sent it, not that it is well-formed or honestly addressed.

#include <cstddef>
#include <cstdint>
#include <span>

namespace ocm::datapath {

enum class InnerVerdict : uint8_t {
  kOk,
  kTooShort,        // shorter than an IPv4 header
  kNotIpv4,         // version nibble != 4 (IPv6 is not leased yet)
  kBadHeaderLength, // IHL < 5 or header longer than the packet
  kBadTotalLength,  // total length field disagrees with the frame length
  kSourceSpoofed,   // source address is not the session's lease
};

const char* to_string(InnerVerdict verdict) noexcept;

InnerVerdict check_inner_ipv4(std::span<const uint8_t> packet, uint32_t leased_source) noexcept;

// Destination address (host order) of a packet read from TUN; false when it is not IPv4.
bool ipv4_destination(std::span<const uint8_t> packet, uint32_t& out) noexcept;

}  // namespace ocm::datapath
