#include "ocm/session/ip_pool.hpp"

#include <cassert>

namespace ocm::session {
namespace {

// Enough to make a collision with another user's seeded address unlikely to cost the
// predictable address, few enough that a nearly full pool falls back to the scan quickly.
constexpr int kSeedCandidates = 4;

// FNV-1a, 64 bit: fixed constants, so the same name maps to the same address on every run and
// every build (std::hash gives no such promise).
uint64_t fnv1a64(std::string_view s) noexcept {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// SplitMix64 finaliser: spreads FNV's weak low bits before the modulo, and derives further
// candidates from the first without correlating them.
uint64_t mix64(uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

Ipv4Pool::Ipv4Pool(Ipv4Prefix prefix) : prefix_(prefix) {
  // Below /8 the bitmap would exceed 2 MiB for no real deployment; config rejects it.
  assert(prefix.length >= 8 && prefix.length <= 32);
  prefix_.network &= prefix_.netmask();
  used_.assign(size_t{1} << (32 - prefix_.length), false);
}

size_t Ipv4Pool::capacity() const noexcept {
  // Network, server (network + 1) and broadcast; a /31 or /32 has nothing left.
  return used_.size() > 3 ? used_.size() - 3 : 0;
}

std::optional<uint32_t> Ipv4Pool::index_of(uint32_t addr) const noexcept {
  if (!prefix_.contains(addr)) {
    return std::nullopt;
  }
  return addr - prefix_.network;
}

bool Ipv4Pool::leasable(uint32_t addr) const noexcept {
  auto idx = index_of(addr);
  return idx && *idx >= 2 && *idx + 1 < used_.size();
}

bool Ipv4Pool::is_leased(uint32_t addr) const noexcept {
  auto idx = index_of(addr);
  return idx && used_[*idx];
}

std::optional<uint32_t> Ipv4Pool::lease(std::string_view seed_name) {
  const size_t cap = capacity();
  if (in_use_ >= cap) {
    return std::nullopt;
  }
  if (!seed_name.empty()) {
    uint64_t h = fnv1a64(seed_name);
    for (int i = 0; i < kSeedCandidates; ++i) {
      h = mix64(h);
      // Indices 2 .. size-2 are exactly the leasable ones.
      const uint32_t addr = prefix_.network + 2 + static_cast<uint32_t>(h % cap);
      if (lease_exact(addr)) {
        return addr;
      }
    }
  }
  // The cursor moves past each lease so that a just-released address is not handed to the next
  // user at once, while packets for its previous owner may still be in flight.
  const size_t n = used_.size();
  for (size_t step = 0; step < n; ++step) {
    const auto idx = static_cast<uint32_t>((cursor_ + step) % n);
    const uint32_t addr = prefix_.network + idx;
    if (lease_exact(addr)) {
      cursor_ = static_cast<uint32_t>((idx + 1) % n);
      return addr;
    }
  }
  // Unreachable: in_use_ < capacity means a free leasable index exists.
  assert(false);
  return std::nullopt;
}

bool Ipv4Pool::lease_exact(uint32_t addr) {
  if (!leasable(addr)) {
    return false;
  }
  auto bit = used_[addr - prefix_.network];
  if (bit) {
    return false;
  }
  bit = true;
  ++in_use_;
  return true;
}

bool Ipv4Pool::release(uint32_t addr) {
  if (!leasable(addr)) {
    return false;
  }
  auto bit = used_[addr - prefix_.network];
  if (!bit) {
    return false;
  }
  bit = false;
  --in_use_;
  return true;
}

}  // namespace ocm::session
