#pragma once
// The CONNECT /CSCOSSLC/tunnel exchange (protocol.md §3): what we read from the request headers
// and the "HTTP/1.1 200 CONNECTED" reply we build.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ocm/base/ipv4.hpp"
#include "ocm/proto/http.hpp"

namespace ocm::proto {

struct TunnelRequest {
  std::optional<uint32_t> base_mtu;  // X-CSTP-Base-MTU (1280..65535 accepted)
  std::optional<uint32_t> mtu;       // X-CSTP-MTU (576..65535 accepted)
  bool wants_ipv4 = true;            // X-CSTP-Address-Type lacks "IPv4" -> false (absent -> true)
  std::string hostname;              // X-CSTP-Hostname if a valid hostname < 64 chars, else empty
};
TunnelRequest parse_tunnel_request(const HttpRequest& request);

struct TunnelReply {
  std::string server_name;  // "ocserv-modern 0.1.0"
  std::string hostname;     // echoed X-CSTP-Hostname if non-empty
  uint32_t dpd_seconds = 90;
  uint32_t keepalive_seconds = 32400;
  uint32_t idle_timeout_seconds = 0;  // 0 -> "none"
  std::string default_domain;
  uint32_t address = 0;                // leased IPv4, host order
  uint32_t netmask = 0;                // pool netmask, host order
  std::vector<uint32_t> dns;
  std::vector<std::string> split_dns;
  std::vector<Ipv4Prefix> split_include;  // ignored when default_route
  bool default_route = false;
  uint32_t base_mtu = 1500;
  uint32_t mtu = 1400;
  std::string banner;
  // DTLS headers are not emitted yet (issue: DTLS data channel).
};
// The whole reply header block including the final blank line.
std::string tunnel_reply(const TunnelReply& reply);

// MTU arithmetic while only CSTP is offered: base = X-CSTP-Base-MTU if sent (clamped to 1280..9000),
// else X-CSTP-MTU + 28 if sent (capped at 9000), else 1500. data MTU = min(config_mtu, base - 28),
// where 28 is the IPv4 + UDP overhead ocserv subtracts even without DTLS, and never below 576.
struct MtuChoice {
  uint32_t base_mtu;
  uint32_t mtu;
};
MtuChoice choose_mtu(uint32_t config_mtu, const TunnelRequest& request);

}  // namespace ocm::proto
