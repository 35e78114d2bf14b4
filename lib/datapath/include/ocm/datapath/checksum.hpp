#pragma once
// The Internet checksum (RFC 1071) for the offload paths: completing the partial checksums the
// kernel leaves to us (TUN with TUN_F_CSUM), checksumming the segments we cut from TSO
// super-packets, and verifying segments before we coalesce them.
//
// Sums are accumulated in a 64-bit ones'-complement accumulator over memory as it is (8 bytes
// per add with end-around carry) and folded at the end; RFC 1071 §2(B) makes the result
// independent of the byte order the words were loaded in, so the fold returns it as a host-order
// number, i.e. the value a network-order 16-bit read of the words would have summed to.
//
// A sum may be built from several pieces; every piece except the last must start at an even
// offset of the checksummed region and have even length (TCP/UDP/IP headers are multiples of 4,
// so header + payload pieces qualify).

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ocm::datapath {

// Adds `len` bytes at `data` to the accumulator.
uint64_t csum_partial(const uint8_t* data, size_t len, uint64_t acc) noexcept;

// Copies `len` bytes from src to dst and adds them to the accumulator in the same pass.
uint64_t csum_copy(uint8_t* dst, const uint8_t* src, size_t len, uint64_t acc) noexcept;

// Adds one 16-bit word whose value (host order) is `value`, as if it had been read from the wire.
inline uint64_t csum_add_word(uint64_t acc, uint16_t value) noexcept {
  const uint8_t bytes[2] = {static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)};
  uint16_t raw = 0;
  std::memcpy(&raw, bytes, 2);
  uint64_t sum = acc + raw;
  return sum + (sum < raw ? 1 : 0);
}

// Folds the accumulator to the 16-bit ones'-complement sum, host order (0x0000..0xffff).
uint16_t csum_fold(uint64_t acc) noexcept;

// The value to store in a checksum field: the complement of the folded sum.
inline uint16_t csum_finish(uint64_t acc) noexcept { return static_cast<uint16_t>(~csum_fold(acc)); }

// Accumulator holding the TCP/UDP pseudo-header of IPv4 (RFC 793 §3.1) / IPv6 (RFC 8200 §8.1).
// Addresses are read from the packet (network order); l4_len is the transport length.
uint64_t csum_pseudo_v4(const uint8_t* src, const uint8_t* dst, uint8_t proto, uint16_t l4_len) noexcept;
uint64_t csum_pseudo_v6(const uint8_t* src, const uint8_t* dst, uint8_t proto, uint32_t l4_len) noexcept;

// Network-order 16/32-bit accessors for header fields (no alignment assumptions).
inline uint16_t load_be16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t load_be32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline void store_be16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store_be32(uint8_t* p, uint32_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// Recomputes the IPv4 header checksum in place over the first ihl_bytes of `ip`.
void ipv4_set_header_checksum(uint8_t* ip, size_t ihl_bytes) noexcept;

}  // namespace ocm::datapath
