#pragma once
// The CONNECT /CSCOSSLC/tunnel exchange (protocol.md §3): what we read from the request headers
// and the "HTTP/1.1 200 CONNECTED" reply we build.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ocm/base/ipv4.hpp"
#include "ocm/base/ipv6.hpp"
#include "ocm/proto/compression.hpp"
#include "ocm/proto/http.hpp"

namespace ocm::proto {

// User-Agent classes as ocserv tells them apart (protocol.md §2.2); they decide how IPv6 DNS
// servers are announced and whether IPv6 routes/DNS are sent at all.
enum class ClientAgent : uint8_t { kUnknown, kOpenConnect, kAnyConnect };
ClientAgent classify_agent(std::string_view user_agent) noexcept;

struct TunnelRequest {
  std::optional<uint32_t> base_mtu;  // X-CSTP-Base-MTU (1280..65535 accepted)
  std::optional<uint32_t> mtu;       // X-CSTP-MTU (576..65535 accepted)
  bool wants_ipv4 = true;            // X-CSTP-Address-Type lacks "IPv4" -> false (absent -> true)
  bool wants_ipv6 = true;            // X-CSTP-Address-Type lacks "IPv6" -> false (absent -> true)
  bool full_ipv6 = false;            // X-CSTP-Full-IPv6-Capability contains "true"
  ClientAgent agent = ClientAgent::kUnknown;  // from User-Agent
  std::string hostname;              // X-CSTP-Hostname if a valid hostname < 64 chars, else empty
  // DTLS offer (protocol.md §3.1-3.2): all absent with openconnect --no-dtls.
  std::optional<std::array<uint8_t, 48>> dtls_master_secret;  // first 96 hex chars of X-DTLS-Master-Secret
  std::string dtls_ciphersuites;     // X-DTLS-CipherSuite, as sent
  std::string dtls12_ciphersuites;   // X-DTLS12-CipherSuite, as sent
  // Compression offers (protocol.md §6.6), as sent; empty with openconnect -D /
  // --compression=none (and the DTLS one with --no-dtls).
  std::string cstp_accept_encoding;  // X-CSTP-Accept-Encoding
  std::string dtls_accept_encoding;  // X-DTLS-Accept-Encoding
};
TunnelRequest parse_tunnel_request(const HttpRequest& request);

struct TunnelReply {
  std::string server_name;  // "ocserv-modern 0.1.0"
  std::string hostname;     // echoed X-CSTP-Hostname if non-empty
  uint32_t dpd_seconds = 90;
  uint32_t keepalive_seconds = 32400;
  uint32_t idle_timeout_seconds = 0;  // 0 -> "none"
  // Rekeying (protocol.md §6.3): 0 -> X-CSTP-Rekey-Method: none. DTLS gets the CSTP time + 10 s
  // and no method of its own: it is rekeyed by the new tunnel's handshake.
  uint32_t rekey_seconds = 0;
  std::string rekey_method = "new-tunnel";  // "ssl" or "new-tunnel"
  // Session timeout: the whole and what is left of it for a reconnect; 0 -> "none".
  uint32_t session_timeout_seconds = 0;
  uint32_t session_timeout_remaining_seconds = 0;
  std::string default_domain;
  uint32_t address = 0;                // leased IPv4, host order
  uint32_t netmask = 0;                // pool netmask, host order
  std::vector<uint32_t> dns;
  std::vector<std::string> split_dns;
  std::vector<Ipv4Prefix> split_include;  // ignored when default_route
  bool default_route = false;               // full tunnel, for IPv6 too when an IPv6 lease is sent
  // IPv6 lease (ipv6_network). As ocserv: full-IPv6 clients get X-CSTP-Address-IP6 addr/len, others
  // X-CSTP-Address + X-CSTP-Netmask in IPv6 form. Use ipv6_reply() to decide whether to send it.
  struct Ipv6 {
    Ipv6Addr address{};
    uint8_t prefix_length = 128;  // the client's subnet (ipv6_subnet_prefix)
    Ipv6Prefix network;           // the pool, for the X-CSTP-Netmask form
    bool full = true;             // X-CSTP-Full-IPv6-Capability
    // IPv6 DNS and routes: only for full-IPv6 clients of a known agent (protocol.md §2.2).
    std::vector<Ipv6Addr> dns;
    bool dns_in_own_header = false;     // AnyConnect: X-CSTP-DNS-IP6; others: X-CSTP-DNS
    std::vector<Ipv6Prefix> split_include;  // ignored when default_route
  };
  std::optional<Ipv6> ipv6;
  std::vector<Ipv4Prefix> split_exclude;  // X-CSTP-Split-Exclude (no-route)
  uint32_t base_mtu = 1500;
  uint32_t mtu = 1400;
  std::string banner;
  // DTLS offer; absent -> no X-DTLS-* headers and the client stays on CSTP.
  struct Dtls {
    uint16_t port = 443;
    bool psk = true;              // PSK-NEGOTIATE: X-DTLS-App-ID; else X-DTLS-Session-ID + X-DTLS-MTU
    std::string id_hex;           // 64 lowercase hex digits (32 random bytes, new on every CONNECT)
    bool suite_from_dtls12 = false;  // legacy: answer in X-DTLS12-CipherSuite instead of X-DTLS-CipherSuite
    std::string suite;            // "PSK-NEGOTIATE" or the chosen legacy name
    Compression compression = Compression::kNone;  // kNone -> no X-DTLS-Content-Encoding
  };
  std::optional<Dtls> dtls;
  Compression cstp_compression = Compression::kNone;  // kNone -> no X-CSTP-Content-Encoding
};
// The whole reply header block including the final blank line.
std::string tunnel_reply(const TunnelReply& reply);

// MTU arithmetic (protocol.md §3.4): base = X-CSTP-Base-MTU if sent (clamped to 1280..9000),
// else X-CSTP-MTU + 28 if sent (capped at 9000), else 1500.
// data MTU = min(config_mtu, base - 28 - dtls_overhead), never below 576, where 28 is the IPv4 +
// UDP overhead ocserv subtracts even without DTLS and dtls_overhead is the record overhead plus
// the one-byte payload header (0 when DTLS is not offered; 38 for AES-GCM, 30 for ChaCha20).
struct MtuChoice {
  uint32_t base_mtu;
  uint32_t mtu;
};
MtuChoice choose_mtu(uint32_t config_mtu, const TunnelRequest& request, uint32_t dtls_overhead = 0);

// The IPv6 part of the reply for a client that asked for IPv6, or nullopt (ocserv 1.1.6): no
// lease when the client's Address-Type excludes IPv6 (--disable-ipv6), or when the data MTU is
// below the IPv6 minimum of 1280 (the client could not use it). IPv6 DNS and routes go only to
// full-IPv6 OpenConnect/AnyConnect agents; AnyConnect gets its DNS in X-CSTP-DNS-IP6.
std::optional<TunnelReply::Ipv6> ipv6_reply(const TunnelRequest& request, uint32_t data_mtu, const Ipv6Addr& address,
                                            uint8_t prefix_length, const Ipv6Prefix& network,
                                            const std::vector<Ipv6Addr>& dns,
                                            const std::vector<Ipv6Prefix>& split_include);

}  // namespace ocm::proto
