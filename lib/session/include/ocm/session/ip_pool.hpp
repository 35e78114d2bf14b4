#pragma once
// IPv4 lease pool over one prefix (protocol.md §7.1). The network address, the server's own
// address (network + 1) and the broadcast address are never leased. Each address has a dense
// index (addr - network) so that packet routing can look sessions up in a flat array.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "ocm/base/ipv4.hpp"

namespace ocm::session {

class Ipv4Pool {
 public:
  // Prefix length 8..30 (validated by config).
  explicit Ipv4Pool(Ipv4Prefix prefix);

  [[nodiscard]] const Ipv4Prefix& prefix() const noexcept { return prefix_; }
  [[nodiscard]] uint32_t server_address() const noexcept { return prefix_.network + 1; }
  [[nodiscard]] size_t capacity() const noexcept;  // leasable addresses
  [[nodiscard]] size_t in_use() const noexcept { return in_use_; }

  // Leases an address. With a non-empty `seed_name` (predictable IPs) the first candidates are
  // derived from a hash of the name, so the same user tends to get the same address; then a
  // linear scan from a rotating cursor. nullopt when the pool is exhausted.
  std::optional<uint32_t> lease(std::string_view seed_name = {});
  // Leases exactly `addr` if it is inside the pool, leasable and free.
  bool lease_exact(uint32_t addr);
  // Releases a leased address; returns false if it was not leased (double free is a bug upstream).
  bool release(uint32_t addr);
  [[nodiscard]] bool is_leased(uint32_t addr) const noexcept;
  // addr - network when addr is inside the prefix.
  [[nodiscard]] std::optional<uint32_t> index_of(uint32_t addr) const noexcept;
  [[nodiscard]] size_t index_count() const noexcept { return used_.size(); }

 private:
  [[nodiscard]] bool leasable(uint32_t addr) const noexcept;
  Ipv4Prefix prefix_;
  std::vector<bool> used_;  // indexed by addr - network
  size_t in_use_ = 0;
  uint32_t cursor_ = 0;
};

}  // namespace ocm::session
