#pragma once
// IPv6 leases (ocserv ipv6-network + ipv6-subnet-prefix, protocol.md §7.1). A session's IPv6
// subnet is the one whose index inside the network equals its IPv4 lease's pool index:
// subnet(i) = network + i * 2^(128 - subnet_prefix). So the IPv6 lease needs no bookkeeping of
// its own: it is exactly as predictable as the IPv4 lease (predictable_ips), survives cookie
// reconnects with it, is freed with it, and maps to the same data-plane slot. Index 0 holds the
// server's address (network::1) and, like the IPv4 network address, is never leased; config
// checks that the network holds a subnet for every IPv4 pool index.

#include <cstdint>
#include <optional>

#include "ocm/base/ipv6.hpp"

namespace ocm::session {

struct Ipv6Lease {
  Ipv6Addr address{};         // the client's address (announced with prefix_length)
  uint8_t prefix_length = 0;  // ipv6_subnet_prefix: the client owns every address of the subnet
  bool operator==(const Ipv6Lease&) const = default;
};

class Ipv6Pool {
 public:
  // subnet_prefix > network.length, and 2^(subnet_prefix - network.length) subnets (validated by
  // config).
  Ipv6Pool(Ipv6Prefix network, uint8_t subnet_prefix) noexcept;

  [[nodiscard]] const Ipv6Prefix& network() const noexcept { return network_; }
  [[nodiscard]] uint8_t subnet_prefix() const noexcept { return subnet_prefix_; }
  // network::1, the server's TUN address.
  [[nodiscard]] Ipv6Addr server_address() const noexcept;
  // The lease for IPv4 pool index `index`: subnet `index`, whose first address is the client's
  // for a /128, or its ::1 for shorter subnets (the subnet's ::0 is the subnet-router anycast
  // address, RFC 4291 2.6.1). nullopt for index 0 and for indices beyond the network.
  [[nodiscard]] std::optional<Ipv6Lease> lease_for_index(uint32_t index) const noexcept;
  // The subnet index holding `addr`, when it is inside the network and the index fits 32 bits.
  [[nodiscard]] std::optional<uint32_t> index_of(const Ipv6Addr& addr) const noexcept;

 private:
  Ipv6Prefix network_;
  uint8_t subnet_prefix_;
};

}  // namespace ocm::session
