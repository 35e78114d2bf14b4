#pragma once
// The server configuration: parsed once from TOML into typed structs, validated, then frozen and
// shared as std::shared_ptr<const Config>. Nothing downstream sees toml++ types.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ocm/base/ipv4.hpp"
#include "ocm/base/log.hpp"
#include "ocm/base/result.hpp"

namespace ocm::config {

using Seconds = std::chrono::seconds;

struct ServerConfig {
  std::string bind = "0.0.0.0";  // IPv4 literal (validated)
  uint16_t tcp_port = 443;
  uint16_t dtls_port = 443;      // UDP port of the DTLS data channel (same address as TCP)
  int listen_backlog = 1024;
  Seconds handshake_timeout{10};  // TCP accept -> TLS handshake done
  Seconds request_timeout{30};    // first byte of an HTTP request -> request complete (slow-loris)
  Seconds auth_timeout{240};      // TLS connection without a tunnel is closed after this
  uint32_t max_requests_per_connection = 64;
  std::string server_name = "ocserv-modern";  // X-CSTP-Server-Name prefix
  std::string banner;                         // shown after login; empty = none
  std::string pre_login_banner;               // shown with the username form; empty = none
};

enum class TlsVersion { kTls12, kTls13 };

struct CryptoConfig {
  std::string cert_file = "/etc/ocserv-modern/server.crt";
  std::string key_file = "/etc/ocserv-modern/server.key";
  TlsVersion min_tls_version = TlsVersion::kTls12;
};

enum class AuthMethod { kPlain };

struct AuthConfig {
  AuthMethod method = AuthMethod::kPlain;
  std::string passwd_file = "/etc/ocserv-modern/passwd";
  uint32_t max_password_tries = 3;
};

struct NetworkConfig {
  std::string device = "vpns";
  Ipv4Prefix ipv4_network{0xC0A86400, 24};  // 192.168.100.0/24
  std::vector<Ipv4Prefix> routes;           // split-include routes pushed to clients
  bool default_route = false;               // routes contained "default": full tunnel
  std::vector<uint32_t> dns_servers;        // host byte order
  std::vector<std::string> split_dns;
  std::string default_domain;
  uint32_t mtu = 1400;                      // upper bound for the tunnel MTU
};

struct SecurityConfig {
  uint32_t max_ban_score = 0;  // 0 disables banning (banning itself is a later issue)
};

struct SessionConfig {
  uint32_t max_clients = 0;       // 0 = unlimited
  uint32_t max_same_clients = 0;  // 0 = unlimited
  Seconds cookie_timeout{300};    // how long a cookie outlives its tunnel (reconnects)
  Seconds dpd{90};                // X-CSTP-DPD; the server drops a silent tunnel after 3 x dpd
  Seconds keepalive{32400};       // X-CSTP-Keepalive
  Seconds idle_timeout{0};        // 0 = none: no data packets either way for this long closes the tunnel
  bool predictable_ips = true;    // same user -> same address when it is free
  // Run at tunnel start / end with ocserv's environment (REASON, USERNAME, IP_REMOTE, ...).
  // A connect script that fails or outlives script_timeout refuses the session. Empty = none.
  std::string connect_script;
  std::string disconnect_script;
  Seconds script_timeout{10};
};

// How the DTLS keys are agreed (protocol.md §5): openconnect's PSK-NEGOTIATE (PSK from the TLS
// exporter), or Cisco-style resumption of a session made from the client's X-DTLS-Master-Secret.
// kAuto prefers resumption with AES-GCM, because Debian's wolfSSL can only do PSK with
// ChaCha20-Poly1305 (feasibility.md §5), and falls back to PSK when the client offers nothing else.
enum class DtlsMode { kAuto, kPsk, kLegacy };

struct DtlsConfig {
  bool enabled = true;
  DtlsMode mode = DtlsMode::kAuto;
};

enum class Driver { kSocket, kAfXdp, kDpdk };

enum class XdpMode { kAuto, kNative, kGeneric };
enum class ZeroCopy { kAuto, kOn, kOff };

// [datapath.af_xdp]: an XDP program steers the DTLS port of `interface` into AF_XDP sockets;
// everything else (TLS, ARP, ...) stays with the kernel, which keeps the interface's address.
struct AfXdpConfig {
  std::string interface;            // required with driver = "af_xdp"
  uint32_t queues = 1;              // NIC queues 0..queues-1 each get an XSK
  XdpMode xdp_mode = XdpMode::kAuto;  // auto: native, falling back to generic (skb)
  ZeroCopy zero_copy = ZeroCopy::kAuto;  // auto: zero-copy when the NIC driver supports it
  uint32_t frames_per_queue = 4096;  // UMEM frames (2 KiB each) per XSK
};

// An address on an interface: host bits allowed ("203.0.113.1/24").
struct InterfaceAddress {
  uint32_t address = 0;  // host order; 0 = unset
  uint8_t prefix_length = 0;
};

// [datapath.dpdk]: DPDK owns the NIC port; the kernel reaches it through a TAP exception port.
struct DpdkConfig {
  std::vector<std::string> eal_args;  // required with driver = "dpdk"; argv[0] is added
  uint16_t port = 0;                  // DPDK port id carrying client traffic
  InterfaceAddress address;           // required: the appliance's address on that port
  uint32_t gateway = 0;               // host order; 0 = clients are on-link only
  std::string tap_name = "ocm-tap0";  // kernel exception interface (gets address + port MAC)
  uint32_t mbufs = 0;                 // mempool size; 0 = computed (doc/dpdk.md)
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
};

struct DatapathConfig {
  Driver driver = Driver::kSocket;
  AfXdpConfig af_xdp;
  DpdkConfig dpdk;
};

struct MonitoringConfig {
  log::Level log_level = log::Level::kInfo;
  // Unix socket for ocmctl (created 0600; a stale socket file is replaced). Empty = none.
  std::string control_socket = "/run/ocserv-modern/ocmctl.sock";
  // Prometheus text exposition on http://stats_bind:stats_port/metrics.
  bool enable_prometheus = false;
  std::string stats_bind = "127.0.0.1";  // IPv4 literal (validated)
  uint16_t stats_port = 9100;
  // One series per connected user (bytes); off by default because of label cardinality.
  bool per_user_metrics = false;
};

struct PerformanceConfig {
  uint32_t tun_queues = 1;  // TUN is opened multi-queue; one queue per packet thread
};

struct Config {
  ServerConfig server;
  CryptoConfig crypto;
  AuthConfig auth;
  NetworkConfig network;
  SecurityConfig security;
  SessionConfig session;
  DtlsConfig dtls;
  DatapathConfig datapath;
  MonitoringConfig monitoring;
  PerformanceConfig performance;
};

// One problem found in a config file. `key` is the dotted TOML path ("network.mtu");
// `line` is 1-based, 0 when the problem is not tied to a line (e.g. a missing key).
struct ConfigError {
  std::string key;
  uint32_t line = 0;
  std::string message;
};

// "file:line: key: message" — what `ocserv-modern -t` prints.
std::string format_error(std::string_view source_name, const ConfigError& error);

// Parses and validates TOML text. On failure returns *every* error found, not just the first.
struct ParseResult {
  std::shared_ptr<const Config> config;  // null when errors is non-empty
  std::vector<ConfigError> errors;
};
ParseResult parse(std::string_view toml_text, std::string_view source_name = "<string>");
ParseResult parse_file(const std::string& path);

// Every key the parser accepts, as "section.key", in schema order (for the documentation check
// and for tools).
std::vector<std::string> known_keys();

}  // namespace ocm::config
