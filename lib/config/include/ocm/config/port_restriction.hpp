#pragma once
// ocserv's restrict-user-to-ports value: which protocols and destination ports a client may
// send to through the tunnel, e.g. "tcp(443), udp(53), icmp()", or with negation the ones it
// may not: "!(tcp(25), tcp(445))". Read from per-user/group files and [network]
// restrict_to_ports; the data path enforces it (lib/datapath route_restriction.hpp).

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "ocm/base/result.hpp"

namespace ocm::config {

// What one session can hold (lib/datapath's kMaxPortRules; lib/ctrl checks they agree): a
// longer list is refused when read, not at every CONNECT.
inline constexpr size_t kMaxPortRules = 32;

struct PortRule {
  uint8_t protocol = 0;  // IP protocol number: 6 tcp, 17 udp, 132 sctp, 1 icmp, 58 icmpv6
  uint16_t port = 0;     // destination port 1..65535; 0 for icmp/icmpv6 (any message)
  bool operator==(const PortRule&) const = default;
};

struct PortRestriction {
  bool negate = false;          // "!( ... )": the rules list what is refused
  std::vector<PortRule> rules;  // never empty; duplicates removed, order kept
  bool operator==(const PortRestriction&) const = default;
};

// Whitespace is allowed around every token; protocol names are case-insensitive. Errors name
// the offending part ("unknown protocol 'tpc'", "port 70000 out of range", "missing ')'",
// "empty list", "more than 32 rules").
Result<PortRestriction> parse_port_restriction(std::string_view text);

}  // namespace ocm::config
