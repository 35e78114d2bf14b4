#pragma once
// The server configuration: parsed once from TOML into typed structs, validated, then frozen and
// shared as std::shared_ptr<const Config>. Nothing downstream sees toml++ types.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ocm/base/ipv4.hpp"
#include "ocm/base/ipv6.hpp"
#include "ocm/base/log.hpp"
#include "ocm/base/result.hpp"
#include "ocm/config/port_restriction.hpp"

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

// plain: ocpasswd file. certificate: a client certificate signed by ca_file is the login (no
// form). plain+certificate: both, and the certificate's user must be the one typing the password
// (ocserv's two `auth =` lines). pam: the password is checked by the PAM service pam_service
// instead of the passwd file; pam+certificate: both, as plain+certificate. ldap: a simple bind
// to an LDAP server ([auth.ldap]) with the user's password, groups from a search.
enum class AuthMethod { kPlain, kCertificate, kPlainAndCertificate, kPam, kPamAndCertificate, kRadius, kLdap };

// One entry of select_groups: "name" or "name[label]" (the label is what the client shows and
// what openconnect --authgroup matches).
struct SelectGroup {
  std::string name;
  std::string label;
};

// [auth.radius] (ocserv's auth = "radius[...]" and acct = "radius[...]"): the RADIUS client for
// method = "radius" and/or accounting. Either `config` (a radcli radiusclient.conf, as ocserv
// takes it) or `servers` + `secret`.
struct RadiusServer {
  std::string host;
  uint16_t port = 1812;
};
struct RadiusConfig {
  std::string config;                  // radcli config file; "" = built from the keys below
  std::vector<RadiusServer> servers;   // authentication servers, tried in order
  std::vector<RadiusServer> acct_servers;  // empty = each of `servers` at port + 1 (1812 -> 1813)
  std::string secret;                  // shared secret (the config file should be mode 0600)
  std::string dictionary = "/etc/radcli/dictionary";
  std::string nas_identifier = "ocserv-modern";
  uint32_t timeout_s = 3;              // per attempt
  uint32_t retries = 2;
  bool accounting = false;
  uint32_t acct_interim_interval_s = 0;  // 0 = no Interim-Update; the server's Acct-Interim-Interval wins
  [[nodiscard]] bool configured() const { return !config.empty() || !servers.empty(); }
};

// [auth.ldap]: method = "ldap" (lib/auth/src/ldap.cpp). The user's DN comes either from the
// bind_dn template (direct bind) or from a search under base_dn with user_filter (search then
// bind, optionally as a service account); exactly one of bind_dn and base_dn is set. Templates:
// %u = the user name (escaped for a DN or a filter), %d = the user's DN (groups only), %% = %.
struct LdapConfig {
  std::string uri;      // "ldap://host[:port]", "ldaps://...", "ldapi://..."; several: failover
  std::string bind_dn;  // direct bind: "uid=%u,ou=people,dc=example,dc=org"
  std::string base_dn;  // search then bind: where the user entry is searched (subtree)
  std::string user_filter = "(uid=%u)";
  std::string search_bind_dn;        // service account for the search; "" = anonymous search
  std::string search_bind_password;  // or search_bind_password_file (read at each login)
  std::string search_bind_password_file;
  std::string group_base_dn;  // "" = no group lookup
  std::string group_filter = "(|(member=%d)(memberUid=%u))";
  std::string group_attribute = "cn";  // the value that names the group (a per-group file)
  bool start_tls = false;              // StartTLS on ldap:// (ldaps:// is TLS already)
  std::string ca_file;                 // CA bundle for ldaps/StartTLS; "" = the system's
  uint32_t timeout_s = 5;              // network (connect) and per-operation timeout
  [[nodiscard]] bool direct_bind() const { return !bind_dn.empty(); }
};

struct AuthConfig {
  AuthMethod method = AuthMethod::kPlain;
  std::string passwd_file = "/etc/ocserv-modern/passwd";
  uint32_t max_password_tries = 3;
  // Client certificates (certificate methods): CA bundle (PEM, required), CRL (PEM, optional),
  // where the user name and the group come from: a dotted OID of a subject attribute
  // ("2.5.4.3" CN, "0.9.2342.19200300.100.1.1" UID, "2.5.4.11" OU) or "SAN(rfc822name)".
  std::string ca_file;
  std::string crl_file;
  std::string cert_user_oid = "2.5.4.3";
  std::string cert_group_oid;  // empty = groups do not come from the certificate
  // liboath users file (HOTP/TOTP); non-empty = every password login needs a code too.
  std::string otp_file;
  // The group dropdown (ocserv select-group / default-select-group / auto-select-group).
  std::vector<SelectGroup> select_groups;
  std::string default_select_group;  // label of an option meaning "my default group"; "" = none
  bool auto_select_group = false;    // offer every group of the passwd file
  // ocserv config-per-user / config-per-group directories (one file per name); "" = none.
  std::string config_per_user;
  std::string config_per_group;
  // PAM methods: the service file in /etc/pam.d, and the lowest gid that counts as a group
  // (ocserv's pam[gid-min=N]; system groups below it never select a per-group config).
  std::string pam_service = "ocserv-modern";
  uint32_t pam_gid_min = 0;
  [[nodiscard]] bool uses_certificate() const {
    return method == AuthMethod::kCertificate || method == AuthMethod::kPlainAndCertificate ||
           method == AuthMethod::kPamAndCertificate;
  }
  [[nodiscard]] bool uses_password() const { return method != AuthMethod::kCertificate; }
  [[nodiscard]] bool uses_pam() const { return method == AuthMethod::kPam || method == AuthMethod::kPamAndCertificate; }
  // The ocpasswd file is read only by the plain methods.
  [[nodiscard]] bool uses_passwd_file() const {
    return uses_password() && !uses_pam() && !uses_radius() && !uses_ldap();
  }
  [[nodiscard]] bool uses_radius() const { return method == AuthMethod::kRadius; }
  [[nodiscard]] bool uses_ldap() const { return method == AuthMethod::kLdap; }
  RadiusConfig radius;
  LdapConfig ldap;
};

struct NetworkConfig {
  std::string device = "vpns";
  Ipv4Prefix ipv4_network{0xC0A86400, 24};  // 192.168.100.0/24
  std::vector<Ipv4Prefix> routes;           // split-include routes pushed to clients
  bool default_route = false;               // routes contained "default": full tunnel
  // Drop client packets to destinations outside the routes announced to the session (ocserv's
  // restrict-user-to-routes for everyone; per-user/group files override it).
  bool restrict_to_routes = false;
  // Protocols/destination ports clients may send to (ocserv's restrict-user-to-ports for
  // everyone; a per-user/group file's list replaces it). nullopt: no restriction.
  std::optional<PortRestriction> restrict_to_ports;
  std::vector<uint32_t> dns_servers;        // host byte order
  // IPv6 inside the tunnel (ocserv ipv6-network / ipv6-subnet-prefix): none when unset. Each
  // session gets the subnet of length ipv6_subnet_prefix whose index in ipv6_network is its IPv4
  // lease's pool index (so it is as predictable as the IPv4 lease and needs no second pool); the
  // server's TUN takes ipv6_network::1, inside subnet 0, which is never leased.
  std::optional<Ipv6Prefix> ipv6_network;
  uint8_t ipv6_subnet_prefix = 128;
  std::vector<Ipv6Prefix> routes6;          // IPv6 entries of `routes` (split-include)
  std::vector<Ipv6Addr> dns_servers6;       // IPv6 entries of `dns_servers`
  std::vector<std::string> split_dns;
  std::string default_domain;
  uint32_t mtu = 1400;                      // upper bound for the tunnel MTU
};

// ocserv's ban score (protocol.md §7.4): every TCP connection and every wrong password adds
// points to the source IPv4 address; at max_ban_score the address is banned for ban_time (its
// connections are closed right after accept); the score starts again from 0 once ban_reset_time
// has passed since it was last reset.
struct SecurityConfig {
  uint32_t max_ban_score = 0;             // 0 disables banning (ocserv's sample uses 80)
  Seconds ban_reset_time{1200};           // ocserv ban-reset-time
  Seconds ban_time{300};                  // ocserv ban-time (formerly min-reauth-time)
  uint32_t ban_points_wrong_password = 10;
  uint32_t ban_points_connection = 1;
  // Never banned (nor scored). Loopback by default: local tools (health checks, ocmctl's
  // neighbours) must not lock themselves out.
  std::vector<Ipv4Prefix> ban_exempt{Ipv4Prefix{0x7F000000, 8}};
};

// How clients renew their keys (protocol.md §6.3). ssl: in place on the CSTP connection (a TLS
// 1.3 KeyUpdate; a TLS 1.2 client is told new-tunnel, because this wolfSSL cannot renegotiate).
// new-tunnel: the client reconnects with its cookie, which also gives DTLS fresh keys.
enum class RekeyMethod { kSsl, kNewTunnel };

struct SessionConfig {
  uint32_t max_clients = 0;       // 0 = unlimited
  uint32_t max_same_clients = 0;  // 0 = unlimited
  Seconds cookie_timeout{300};    // how long a cookie outlives its tunnel (reconnects)
  Seconds dpd{90};                // X-CSTP-DPD; the server drops a silent tunnel after 3 x dpd
  Seconds keepalive{32400};       // X-CSTP-Keepalive
  Seconds idle_timeout{0};        // 0 = none: no data packets either way for this long closes the tunnel
  Seconds session_timeout{0};     // 0 = none: a session (login) ends this long after it was created
  // Per-session bandwidth limits in bytes/s of inner IP packets (ocserv rx-data-per-sec /
  // tx-data-per-sec; rx = client -> server). 0 = unlimited.
  uint64_t rx_rate_limit = 0;
  uint64_t tx_rate_limit = 0;
  uint64_t quota_bytes = 0;       // 0 = none: rx + tx bytes of one tunnel before it is ended
  bool predictable_ips = true;    // same user -> same address when it is free
  // Run at tunnel start / end with ocserv's environment (REASON, USERNAME, IP_REMOTE, ...).
  // A connect script that fails or outlives script_timeout refuses the session. Empty = none.
  std::string connect_script;
  std::string disconnect_script;
  Seconds script_timeout{10};
  Seconds rekey_time{172800};  // 0 = clients never rekey (ocserv rekey-time)
  RekeyMethod rekey_method = RekeyMethod::kSsl;
  // ocserv persistent-cookies: a user's logout (BYE) keeps the cookie until it would have expired
  // anyway (created + cookie_timeout), so the client can come back without a new login.
  bool persistent_cookies = false;
  // ocserv deny-roaming: a cookie works only from the IPv4 address that logged in.
  bool deny_roaming = false;
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

// [compression] (protocol.md §6.6): packet compression on CSTP and DTLS, negotiated per channel
// from the client's X-CSTP-/X-DTLS-Accept-Encoding. Off by default: compressing secrets next to
// data an attacker chooses leaks the secrets through the packet sizes (CRIME/VORACLE).
enum class CompressionAlgorithm : uint8_t { kLz4, kLzs };  // "oc-lz4", "lzs"

struct CompressionConfig {
  bool enabled = false;
  // Server preference, first = most preferred (ocserv compression-algo-priority).
  std::vector<CompressionAlgorithm> algorithms{CompressionAlgorithm::kLz4, CompressionAlgorithm::kLzs};
  // Packets of at most this many bytes go uncompressed (ocserv no-compress-limit): small packets
  // (VoIP, ACKs) gain little and pay the latency.
  uint32_t min_size = 256;
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
  CompressionConfig compression;
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
