#include "ocm/proto/tunnel_headers.hpp"

#include "ocm/base/ascii.hpp"

#include <algorithm>

namespace ocm::proto {
namespace {

// IPv4 (20) + UDP (8): ocserv subtracts it from the link MTU even when no DTLS is offered.
constexpr uint32_t kIpUdpOverhead = 28;
constexpr uint32_t kMinBaseMtu = 1280;
// Jumbo frames; a larger claim is more likely a bug or a probe than a real link.
constexpr uint32_t kMaxBaseMtu = 9000;
constexpr uint32_t kDefaultBaseMtu = 1500;
// The smallest datagram every IPv4 host must accept (RFC 791).
constexpr uint32_t kMinDataMtu = 576;
constexpr uint32_t kMaxHeaderMtu = 65535;
constexpr size_t kMaxHostname = 63;

// Digits only, no sign or spaces; nullopt if out of [lo, hi].
std::optional<uint32_t> parse_bounded(std::string_view text, uint32_t lo, uint32_t hi) noexcept {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  uint32_t value = 0;
  for (char c : text) {
    value = value * 10 + static_cast<uint32_t>(c - '0');  // at most 5 digits: cannot overflow
  }
  if (value < lo || value > hi) {
    return std::nullopt;
  }
  return value;
}

// Case-insensitive prefix test (ocserv compares agents with strncasecmp).
bool istarts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

bool valid_hostname(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxHostname) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

void add_header(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  // Values come from config and from the client (hostname); a CR or LF would end the header
  // block early and let the rest be read as something else, and other controls confuse scripts.
  for (char c : value) {
    auto uc = static_cast<unsigned char>(c);
    out.push_back((uc < 0x20 || uc == 0x7f) ? ' ' : c);
  }
  out += "\r\n";
}

void add_header(std::string& out, std::string_view name, uint32_t value) {
  add_header(out, name, std::to_string(value));
}

// ocserv takes the first 96 hex characters; fewer (or non-hex) means no legacy DTLS.
std::optional<std::array<uint8_t, 48>> parse_master_secret(std::string_view text) noexcept {
  std::array<uint8_t, 48> secret{};
  if (text.size() < 2 * secret.size()) {
    return std::nullopt;
  }
  for (size_t i = 0; i < secret.size(); ++i) {
    int hi = hex_digit_value(text[2 * i]);
    int lo = hex_digit_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    secret[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return secret;
}

}  // namespace

ClientAgent classify_agent(std::string_view ua) noexcept {
  // ocserv's order (protocol.md §2.2). "Open AnyConnect VPN Agent v3" (legacy XML) is still
  // OpenConnect for the headers built here.
  if (istarts_with(ua, "Open AnyConnect VPN Agent") || istarts_with(ua, "OpenConnect VPN Agent")) {
    return ClientAgent::kOpenConnect;
  }
  if (istarts_with(ua, "Cisco AnyConnect") || istarts_with(ua, "AnyConnect")) {
    return ClientAgent::kAnyConnect;
  }
  return ClientAgent::kUnknown;
}

std::optional<TunnelReply::Ipv6> ipv6_reply(const TunnelRequest& request, uint32_t data_mtu, const Ipv6Addr& address,
                                            uint8_t prefix_length, const Ipv6Prefix& network,
                                            const std::vector<Ipv6Addr>& dns,
                                            const std::vector<Ipv6Prefix>& split_include) {
  // RFC 8200: every IPv6 link carries 1280 bytes; ocserv leaves the address out below it.
  constexpr uint32_t kIpv6MinMtu = 1280;
  if (!request.wants_ipv6 || data_mtu < kIpv6MinMtu) {
    return std::nullopt;
  }
  TunnelReply::Ipv6 v6;
  v6.address = address;
  v6.prefix_length = prefix_length;
  v6.network = network;
  v6.full = request.full_ipv6;
  if (request.full_ipv6 && request.agent != ClientAgent::kUnknown) {
    v6.dns = dns;
    v6.dns_in_own_header = request.agent == ClientAgent::kAnyConnect;
    v6.split_include = split_include;
  }
  return v6;
}

TunnelRequest parse_tunnel_request(const HttpRequest& request) {
  TunnelRequest out;
  out.agent = classify_agent(request.header("User-Agent").value_or(""));
  if (auto value = request.header("X-CSTP-Base-MTU")) {
    out.base_mtu = parse_bounded(*value, kMinBaseMtu, kMaxHeaderMtu);
  }
  if (auto value = request.header("X-CSTP-MTU")) {
    out.mtu = parse_bounded(*value, kMinDataMtu, kMaxHeaderMtu);
  }
  if (auto value = request.header("X-CSTP-Address-Type")) {
    out.wants_ipv4 = value->find("IPv4") != std::string_view::npos;
    out.wants_ipv6 = value->find("IPv6") != std::string_view::npos;
  }
  if (auto value = request.header("X-CSTP-Full-IPv6-Capability")) {
    out.full_ipv6 = value->find("true") != std::string_view::npos;
  }
  if (auto value = request.header("X-CSTP-Hostname"); value && valid_hostname(*value)) {
    out.hostname.assign(*value);
  }
  if (auto value = request.header("X-DTLS-Master-Secret")) {
    out.dtls_master_secret = parse_master_secret(*value);
  }
  if (auto value = request.header("X-DTLS-CipherSuite")) {
    out.dtls_ciphersuites.assign(*value);
  }
  if (auto value = request.header("X-DTLS12-CipherSuite")) {
    out.dtls12_ciphersuites.assign(*value);
  }
  if (auto value = request.header("X-CSTP-Accept-Encoding")) {
    out.cstp_accept_encoding.assign(*value);
  }
  if (auto value = request.header("X-DTLS-Accept-Encoding")) {
    out.dtls_accept_encoding.assign(*value);
  }
  return out;
}

std::string tunnel_reply(const TunnelReply& reply) {
  std::string out;
  out.reserve(1024);
  // openconnect requires exactly this status line (protocol.md §8.1).
  out += "HTTP/1.1 200 CONNECTED\r\n";
  add_header(out, "X-CSTP-Version", "1");
  add_header(out, "X-CSTP-Server-Name", reply.server_name);
  if (!reply.hostname.empty()) {
    add_header(out, "X-CSTP-Hostname", reply.hostname);
  }
  // As in ocserv, dpd = 0 means "no DPD" and the header is left out.
  if (reply.dpd_seconds > 0) {
    add_header(out, "X-CSTP-DPD", reply.dpd_seconds);
  }
  if (!reply.default_domain.empty()) {
    add_header(out, "X-CSTP-Default-Domain", reply.default_domain);
  }
  add_header(out, "X-CSTP-Address", format_ipv4(reply.address));
  add_header(out, "X-CSTP-Netmask", format_ipv4(reply.netmask));
  // ocserv's order: the IPv6 lease right after the IPv4 one, IPv6 DNS after IPv4 DNS, IPv6
  // split-includes after the IPv4 ones.
  const TunnelReply::Ipv6* v6 = reply.ipv6 ? &*reply.ipv6 : nullptr;
  if (v6 != nullptr) {
    if (v6->full) {
      add_header(out, "X-CSTP-Address-IP6", format_ipv6_prefix(v6->address, v6->prefix_length));
    } else {
      // Clients without full-IPv6 support read a second X-CSTP-Address/Netmask pair by family.
      add_header(out, "X-CSTP-Address", format_ipv6(v6->address));
      add_header(out, "X-CSTP-Netmask", format_ipv6_prefix(v6->network.network, v6->network.length));
    }
  }
  for (uint32_t dns : reply.dns) {
    add_header(out, "X-CSTP-DNS", format_ipv4(dns));
  }
  if (v6 != nullptr) {
    for (const auto& dns : v6->dns) {
      add_header(out, v6->dns_in_own_header ? "X-CSTP-DNS-IP6" : "X-CSTP-DNS", format_ipv6(dns));
    }
  }
  for (const auto& domain : reply.split_dns) {
    add_header(out, "X-CSTP-Split-DNS", domain);
  }
  // With a default route every packet goes through the tunnel (both families, as in ocserv);
  // split routes would only make the client install redundant, narrower routes.
  if (!reply.default_route) {
    for (const auto& prefix : reply.split_include) {
      add_header(out, "X-CSTP-Split-Include", format_prefix_dotted(prefix));
    }
    if (v6 != nullptr) {
      for (const auto& prefix : v6->split_include) {
        add_header(out, "X-CSTP-Split-Include-IP6", format_ipv6_prefix(prefix.network, prefix.length));
      }
    }
  }
  // ocserv's no-route: excluded even from a full tunnel (that is its main use).
  for (const auto& prefix : reply.split_exclude) {
    add_header(out, "X-CSTP-Split-Exclude", format_prefix_dotted(prefix));
  }
  add_header(out, "X-CSTP-Tunnel-All-DNS", reply.default_route ? "true" : "false");
  add_header(out, "X-CSTP-Keepalive", reply.keepalive_seconds);
  if (reply.idle_timeout_seconds > 0) {
    add_header(out, "X-CSTP-Idle-Timeout", reply.idle_timeout_seconds);
  } else {
    add_header(out, "X-CSTP-Idle-Timeout", "none");
  }
  add_header(out, "X-CSTP-Smartcard-Removal-Disconnect", "true");
  if (reply.rekey_seconds > 0) {
    add_header(out, "X-CSTP-Rekey-Time", reply.rekey_seconds);
    add_header(out, "X-CSTP-Rekey-Method", reply.rekey_method);
  } else {
    add_header(out, "X-CSTP-Rekey-Method", "none");
  }
  if (reply.session_timeout_seconds > 0) {
    add_header(out, "X-CSTP-Session-Timeout", reply.session_timeout_seconds);
    add_header(out, "X-CSTP-Session-Timeout-Remaining", reply.session_timeout_remaining_seconds);
  } else {
    add_header(out, "X-CSTP-Session-Timeout", "none");
  }
  add_header(out, "X-CSTP-Disconnected-Timeout", "none");
  add_header(out, "X-CSTP-Keep", "true");
  add_header(out, "X-CSTP-TCP-Keepalive", "true");
  add_header(out, "X-CSTP-License", "accept");
  // ocserv's order: the DTLS offer sits between X-CSTP-License and X-CSTP-Base-MTU.
  if (reply.dtls) {
    const auto& d = *reply.dtls;
    if (reply.dpd_seconds > 0) {
      add_header(out, "X-DTLS-DPD", reply.dpd_seconds);
    }
    add_header(out, "X-DTLS-Port", d.port);
    if (reply.rekey_seconds > 0) {
      add_header(out, "X-DTLS-Rekey-Time", reply.rekey_seconds + 10);
    }
    add_header(out, "X-DTLS-Keepalive", reply.keepalive_seconds);
    if (d.psk) {
      add_header(out, "X-DTLS-App-ID", d.id_hex);
      add_header(out, "X-DTLS-CipherSuite", d.suite);
    } else {
      add_header(out, "X-DTLS-Session-ID", d.id_hex);
      add_header(out, d.suite_from_dtls12 ? "X-DTLS12-CipherSuite" : "X-DTLS-CipherSuite", d.suite);
      add_header(out, "X-DTLS-MTU", reply.mtu);
    }
    // openconnect aborts on a name it does not know (protocol.md §8.6): only ours, only when chosen.
    if (d.compression != Compression::kNone) {
      add_header(out, "X-DTLS-Content-Encoding", compression_name(d.compression));
    }
  }
  add_header(out, "X-CSTP-Base-MTU", reply.base_mtu);
  add_header(out, "X-CSTP-MTU", reply.mtu);
  if (reply.cstp_compression != Compression::kNone) {
    add_header(out, "X-CSTP-Content-Encoding", compression_name(reply.cstp_compression));
  }
  if (!reply.banner.empty()) {
    add_header(out, "X-CSTP-Banner", reply.banner);
  }
  out += "\r\n";
  return out;
}

MtuChoice choose_mtu(uint32_t config_mtu, const TunnelRequest& request, uint32_t dtls_overhead) {
  uint32_t base = kDefaultBaseMtu;
  if (request.base_mtu) {
    base = std::clamp(*request.base_mtu, kMinBaseMtu, kMaxBaseMtu);
  } else if (request.mtu) {
    // Old clients send only the data MTU; undo the overhead they subtracted. No lower clamp here:
    // raising the link MTU above what the client asked for would produce packets it cannot send.
    base = *request.mtu >= kMaxBaseMtu - kIpUdpOverhead ? kMaxBaseMtu : *request.mtu + kIpUdpOverhead;
  }
  uint32_t overhead = kIpUdpOverhead + std::min(dtls_overhead, 128u);
  uint32_t mtu = std::max(std::min(config_mtu, base > overhead ? base - overhead : 0), kMinDataMtu);
  return MtuChoice{base, mtu};
}

}  // namespace ocm::proto
