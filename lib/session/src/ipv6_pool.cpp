#include "ocm/session/ipv6_pool.hpp"

namespace ocm::session {
namespace {

// The address as a 128-bit big-endian integer split in two halves, for the index arithmetic.
struct U128 {
  uint64_t hi = 0;
  uint64_t lo = 0;
};

U128 load(const Ipv6Addr& a) noexcept {
  U128 v;
  for (int i = 0; i < 8; ++i) {
    v.hi = (v.hi << 8) | a[static_cast<size_t>(i)];
    v.lo = (v.lo << 8) | a[static_cast<size_t>(i + 8)];
  }
  return v;
}

Ipv6Addr store(U128 v) noexcept {
  Ipv6Addr a{};
  for (int i = 7; i >= 0; --i) {
    a[static_cast<size_t>(i)] = static_cast<uint8_t>(v.hi);
    a[static_cast<size_t>(i + 8)] = static_cast<uint8_t>(v.lo);
    v.hi >>= 8;
    v.lo >>= 8;
  }
  return a;
}

U128 shift_left(uint64_t x, unsigned s) noexcept {
  if (s >= 128) {
    return {};
  }
  if (s >= 64) {
    return {x << (s - 64), 0};
  }
  return {s == 0 ? 0 : x >> (64 - s), x << s};
}

U128 shift_right(U128 v, unsigned s) noexcept {
  if (s >= 128) {
    return {};
  }
  if (s >= 64) {
    return {0, v.hi >> (s - 64)};
  }
  return {v.hi >> s, s == 0 ? v.lo : (v.lo >> s) | (v.hi << (64 - s))};
}

}  // namespace

Ipv6Pool::Ipv6Pool(Ipv6Prefix network, uint8_t subnet_prefix) noexcept
    : network_{ipv6_masked(network.network, network.length), network.length}, subnet_prefix_(subnet_prefix) {}

Ipv6Addr Ipv6Pool::server_address() const noexcept {
  Ipv6Addr a = network_.network;
  a[15] = static_cast<uint8_t>(a[15] | 1);
  return a;
}

std::optional<Ipv6Lease> Ipv6Pool::lease_for_index(uint32_t index) const noexcept {
  const unsigned subnet_bits = subnet_prefix_ - network_.length;
  if (index == 0 || (subnet_bits < 32 && index >> subnet_bits != 0)) {
    return std::nullopt;
  }
  // The network's host bits are zero, so OR-ing the shifted index in is the addition.
  U128 v = load(network_.network);
  U128 offset = shift_left(index, 128u - subnet_prefix_);
  v.hi |= offset.hi;
  v.lo |= offset.lo;
  if (subnet_prefix_ < 128) {
    v.lo |= 1;
  }
  return Ipv6Lease{store(v), subnet_prefix_};
}

std::optional<uint32_t> Ipv6Pool::index_of(const Ipv6Addr& addr) const noexcept {
  if (!network_.contains(addr)) {
    return std::nullopt;
  }
  // Inside the network, XOR with it leaves only the subnet and host bits.
  U128 v = load(addr);
  const U128 net = load(network_.network);
  v.hi ^= net.hi;
  v.lo ^= net.lo;
  v = shift_right(v, 128u - subnet_prefix_);
  if (v.hi != 0 || v.lo > UINT32_MAX) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(v.lo);
}

}  // namespace ocm::session
