#pragma once
// Internal state of the slow path: the server (listener, TUN polling, sessions, routing table)
// and one Connection per accepted TCP connection. Loop thread only.

#include <uv.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <map>

#include "ban_table.hpp"
#include "client_cert.hpp"
#include "dtls_handshake.hpp"
#include "handshake_histogram.hpp"
#include "heap_trim.hpp"
#include "ocm/auth/ldap.hpp"
#include "ocm/auth/otp.hpp"
#include "ocm/auth/pam.hpp"
#include "ocm/auth/passwd.hpp"
#include "ocm/config/config.hpp"
#include "ocm/config/user_config.hpp"
#include "ocm/ctrl/server.hpp"
#include "ocm/datapath/data_plane.hpp"
#include "ocm/datapath/inner_packet.hpp"
#include "ocm/proto/auth_xml.hpp"
#include "ocm/proto/compression.hpp"
#include "ocm/proto/cstp.hpp"
#include "ocm/proto/http.hpp"
#include "ocm/proto/tunnel_headers.hpp"
#include "ocm/session/ip_pool.hpp"
#include "ocm/session/ipv6_pool.hpp"
#include "ocm/session/session_table.hpp"
#include "radius_session.hpp"
#include "tls.hpp"

namespace ocm::ctrl {

using datapath::check_inner_ipv4;
using datapath::InnerVerdict;
using datapath::ipv4_destination;
using Clock = std::chrono::steady_clock;

// Every packet or connection we refuse is counted by reason (exported by the metrics issue).
struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_refused_max_clients = 0;
  uint64_t tls_handshake_failures = 0;
  uint64_t auth_successes = 0;
  uint64_t auth_failures = 0;
  uint64_t tunnels_opened = 0;
  uint64_t cstp_frames_in = 0;
  uint64_t cstp_frames_out = 0;
  uint64_t cstp_protocol_errors = 0;
  uint64_t cstp_to_tun = 0;        // CSTP DATA written to TUN
  uint64_t tun_to_cstp = 0;        // TUN packets sent over CSTP (sessions without active DTLS)
  uint64_t cstp_drop_no_tunnel = 0;
  uint64_t cstp_drop_backpressure = 0;
  uint64_t tun_write_failures = 0;
  std::array<uint64_t, datapath::kInnerVerdictCount> inner_drops{};  // indexed by InnerVerdict
  uint64_t dtls_handshakes_ok = 0;
  uint64_t dtls_handshake_failures = 0;
  uint64_t dtls_unmatched_hellos = 0;  // ClientHello naming no session (or not a ClientHello)
  uint64_t cstp_bytes_in = 0;          // CSTP frame bytes (header + payload) from clients
  uint64_t cstp_bytes_out = 0;
  uint64_t tunnels_closed = 0;
  uint64_t connect_script_refusals = 0;
  uint64_t roaming_refusals = 0;            // cookies refused by deny_roaming
  uint64_t connections_refused_banned = 0;  // closed right after accept: address banned
  uint64_t ips_banned = 0;                  // times an address crossed max_ban_score
  uint64_t cstp_drop_rate_limited = 0;      // CSTP DATA over the session's rx limit
  uint64_t cstp_drop_not_in_routes = 0;     // CSTP DATA outside the routes (restrict-to-routes)
  uint64_t cstp_drop_port_not_allowed = 0;  // CSTP DATA to a refused protocol/port (restrict-to-ports)
  uint64_t quota_disconnects = 0;           // tunnels ended by session.quota_bytes
  uint64_t session_timeouts = 0;            // tunnels ended by session.session_timeout
  uint64_t idle_timeouts = 0;               // tunnels ended by session.idle_timeout
  uint64_t cstp_decompressed = 0;           // COMPRESSED frames from clients, decompressed
  uint64_t cstp_compressed = 0;             // packets sent to clients as COMPRESSED frames
  uint64_t cstp_decompress_failures = 0;    // malformed/oversized COMPRESSED frames (connection closed)
  HandshakeHistogram tls_handshake_latency;  // TCP accept -> TLS handshake done
};

// What ocmctl, the scripts and the metrics see of a tunnel: set at CONNECT, counters after.
struct TunnelInfo {
  std::string user_agent;
  std::string hostname;
  uint32_t mtu = 0;
  int64_t connected_at = 0;  // Unix seconds
  std::string dtls_cipher;   // set when DTLS is established
  std::string cstp_compression;  // negotiated at CONNECT ("oc-lz4", "lzs"); empty = none
  std::string dtls_compression;
  uint64_t cstp_rx_bytes = 0;
  uint64_t cstp_tx_bytes = 0;
};

class Operations;

// Orders UDP peers so they can key a std::map (pending DTLS handshakes; few entries).
struct PeerLess {
  bool operator()(const datapath::Peer& a, const datapath::Peer& b) const noexcept {
    if (int c = std::memcmp(a.addr.bytes.data(), b.addr.bytes.data(), a.addr.bytes.size()); c != 0) {
      return c < 0;
    }
    return a.port < b.port;
  }
};

using DtlsId = std::array<uint8_t, 32>;

class Connection;

BanPolicy ban_policy(const config::SecurityConfig& security);
// [auth] otp_file parsed; null when none is configured (server.cpp, also used by reload).
Result<std::shared_ptr<const auth::OtpFile>> load_otp_file(const config::AuthConfig& auth);
// The ocpasswd file; an empty one for the PAM methods, which never read it (the file need not
// exist on a PAM server).
Result<auth::PasswdFile> load_passwd_file(const config::AuthConfig& auth);
// The RADIUS client and accounting state for [auth.radius]; null when neither method = "radius"
// nor accounting is configured (radius_login.cpp).
Result<std::unique_ptr<RadiusSessions>> make_radius_sessions(Server::Impl& impl);
// The IPv4 address (host order) of a connected TCP peer; 0 when it is not IPv4.
uint32_t peer_ipv4(uv_tcp_t* tcp);

struct Server::Impl {
  ~Impl();
  std::shared_ptr<const config::Config> config;
  datapath::DataPlane* data_plane;  // owned by the caller, outlives the server
  std::vector<int> data_plane_fds;
  uv_loop_t loop{};
  uv_tcp_t listener{};
  uv_timer_t tick{};
  uv_signal_t sigint{};
  uv_signal_t sigterm{};
  std::unique_ptr<uv_poll_t[]> data_plane_polls;
  std::shared_ptr<TlsContext> tls;
  std::shared_ptr<DtlsServer> dtls_server;
  std::shared_ptr<const auth::PasswdFile> passwd;
  // [auth] otp_file; null when no second factor is configured. The verifier remembers the last
  // accepted code per user across connections (and reloads).
  std::shared_ptr<const auth::OtpFile> otp;
  auth::OtpVerifier otp_verifier;
  session::Ipv4Pool pool;
  // [network] ipv6_network; a session's IPv6 subnet follows from its IPv4 pool index.
  std::optional<session::Ipv6Pool> pool6;
  session::SessionTable sessions;
  // Tunnel owning each pool address, indexed by Ipv4Pool::index_of(). The pool index is also
  // the session's slot in the data plane's session table, so CSTP ring packets (by slot) find
  // their connection in O(1).
  std::vector<Connection*> route;
  // DTLS ids we advertised (X-DTLS-App-ID / X-DTLS-Session-ID) -> tunnel, to match ClientHellos.
  std::map<DtlsId, Connection*> dtls_ids;
  // Peers with a DTLS handshake in progress (not yet known to the data plane).
  std::map<datapath::Peer, Connection*, PeerLess> dtls_pending;
  // Which connection currently carries each session's tunnel (session id -> connection).
  std::unordered_map<uint32_t, Connection*> tunnel_owner;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections;
  uint64_t next_connection_id = 1;
  ServerStats stats;
  // ocserv's ban score per client IPv4 address ([security]); reload swaps the policy.
  BanTable bans;
  bool stopping = false;
  // ocmctl, metrics, reload, scripts (lib/ctrl/src/operations.cpp); null until start().
  std::unique_ptr<Operations> ops;
  std::string config_path;  // re-read on SIGHUP / ocmctl reload; empty = reload unavailable
  // [auth.radius]: RADIUS logins and accounting; null when not configured (radius_session.hpp).
  std::unique_ptr<RadiusSessions> radius;
  // Returns freed heap to the kernel after bursts of freed sessions (heap_trim.hpp).
  HeapTrimmer heap_trimmer;
  // libuv hands this to every read: one loop thread, and each read is consumed before the next.
  std::array<char, 65536> read_buffer{};
  // CSTP compression (protocol.md §6.6): the loop thread's codec memory (~45 KiB), made when the
  // first tunnel negotiates it. The (de)compressed packet is written out before the next one.
  struct CstpCodec {
    proto::CompressScratch scratch;
    std::array<uint8_t, proto::kCstpMaxPayload> buffer;
  };
  std::unique_ptr<CstpCodec> cstp_codec;
  CstpCodec& codec() {
    if (!cstp_codec) {
      cstp_codec = std::make_unique<CstpCodec>();
    }
    return *cstp_codec;
  }

  Impl(std::shared_ptr<const config::Config> cfg, datapath::DataPlane& plane);

  Status start();
  void stop();
  void on_tick();
  void on_data_plane_readable(int fd);
  void drain_rings();
  void handle_control(const datapath::ControlEvent& event);
  void write_to_tun(std::span<const uint8_t> packet);
  [[nodiscard]] static uint64_t now_ns() { return uv_hrtime(); }
  void forget(uint64_t connection_id);
  // Operations hooks (events, scripts): a tunnel came up / is about to end.
  void on_tunnel_up(Connection& conn);
  void on_tunnel_down(Connection& conn, const char* reason);
  [[nodiscard]] size_t tunnel_count() const { return tunnel_owner.size(); }
  // Adds ban points for `ip` (0 = not IPv4: ignored); true when the address is banned after.
  bool add_ban_points(uint32_t ip, uint32_t points, const char* why);
  // session.connect_script for a CONNECT waiting on it (operations.cpp): done(ok) follows on
  // the loop unless cancel_connect_script(job) came first.
  uint64_t start_connect_script(Connection& conn, std::function<void(bool)> done);
  void cancel_connect_script(uint64_t job);
};

// What happens to the session when a tunnel connection ends.
enum class SessionFate {
  kKeep,     // detach: the cookie stays valid for cookie_timeout (TCP drop, DPD, temporary BYE)
  kRemove,   // admin action, session timeout, quota: cookie invalid at once
  kLogout,   // the user's BYE: as kRemove, unless persistent_cookies keeps the cookie
  kHandOver  // another connection takes the tunnel over; leave the session attached
};

class Connection {
 public:
  Connection(Server::Impl& server, uint64_t id);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Takes the freshly accepted socket; starts the TLS handshake timer.
  bool accept(uv_stream_t* listener);
  void on_read(ssize_t nread, const uv_buf_t* buf);
  void on_timer();
  void on_auth_done(bool ok);
  // Groups the password backend found (PAM's gid-filtered groups, LDAP's group search).
  void set_backend_groups(std::vector<std::string> groups) { backend_groups_ = std::move(groups); }

  // TUN -> client: one IP packet as a CSTP DATA frame; drops when the socket is backed up.
  void send_data(std::span<const uint8_t> packet);
  // Periodic checks while a tunnel is up: DPD, idle timeout, DTLS retransmission and fallback.
  void check_tunnel(Clock::time_point now);
  // A DTLS handshake/CCS/alert datagram for this session (matched by id or by peer).
  void on_dtls_datagram(const datapath::Peer& peer, std::span<const uint8_t> datagram, bool client_hello);
  // DISCONNECT received on DTLS (payload after the type byte).
  void on_dtls_disconnect(std::span<const uint8_t> payload);
  // Server-initiated end of the tunnel: sends DISCONNECT, then closes.
  void disconnect(const char* reason, SessionFate fate);
  // As disconnect, with `reason` in the DISCONNECT payload so the client logs it.
  void disconnect_telling_client(const char* reason, SessionFate fate);
  void close(const char* reason, SessionFate fate = SessionFate::kKeep);

  [[nodiscard]] uint64_t id() const { return id_; }
  [[nodiscard]] bool in_tunnel() const { return phase_ == Phase::kTunnel; }
  [[nodiscard]] bool auth_in_flight() const { return auth_in_flight_; }
  [[nodiscard]] int open_handles() const { return open_handles_; }
  // Read-only views for ocmctl, metrics and scripts.
  [[nodiscard]] const TunnelInfo& info() const { return info_; }
  [[nodiscard]] const std::string& peer() const { return peer_; }
  [[nodiscard]] uint32_t session_id() const { return session_id_; }
  [[nodiscard]] uint32_t address() const { return address_; }
  [[nodiscard]] uint32_t slot() const { return route_index_; }
  [[nodiscard]] std::string tls_cipher() const { return tls_->cipher(); }
  void handle_closed() { --open_handles_; }

  uv_tcp_t tcp{};
  uv_timer_t timer{};

 private:
  // kScript: a CONNECT waits for the connect script; nothing of the tunnel is attached yet.
  enum class Phase { kHandshake, kHttp, kScript, kTunnel, kClosing };
  enum class AuthState { kInitial, kNeedPassword, kNeedOtp };

  void drive_tls();
  void on_plaintext(const uint8_t* data, size_t len);
  void feed_http(const uint8_t* data, size_t len);
  void handle_request(proto::HttpRequest& request);
  void handle_auth_post(const proto::HttpRequest& request);
  void start_password_check(std::string password);
  // method = "radius": the Access-Request on the thread pool, then on_auth_done (radius_login.cpp).
  void start_radius_check(std::string password);
  // The group dropdown offered to this client (select_groups, default_select_group,
  // auto_select_group), the client's current choice first.
  std::vector<proto::GroupOption> group_options() const;
  // Maps a <group-select> value (name or label) to a group; false = not one we offered.
  bool resolve_group(std::string_view value, std::string& group) const;
  // Password (and OTP) or certificate accepted: picks the group and creates the session.
  void complete_login(const std::vector<std::string>& member_of);
  void check_otp(std::string code);
  void refuse_login(const char* why);
  // Per-group then per-user config files (ocserv config-per-group / config-per-user).
  Result<config::UserConfig> load_user_config(const session::Session& s) const;
  void handle_connect(const proto::HttpRequest& request);
  // Second half of CONNECT (after the connect script, if any): reply, attach, tunnel up.
  void finish_connect(const proto::TunnelRequest& tunnel_request);
  void on_connect_script_done(bool ok);
  bool over_same_client_limit(const session::Session& s);
  void feed_cstp(const uint8_t* data, size_t len);
  void handle_frame(const proto::CstpFrame& frame);
  // A client's IP packet from a DATA frame or a decompressed COMPRESSED one.
  void handle_data(std::span<const uint8_t> packet, Clock::time_point now);
  // Chooses CSTP and DTLS compression for this CONNECT ([compression]) and tells the data plane.
  Status negotiate_compression(const proto::TunnelRequest& request, proto::TunnelReply& reply);
  void send_frame(proto::CstpType type, std::span<const uint8_t> payload);
  void send_response(int status, std::string_view reason,
                     const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
                     bool close_after);
  void send_username_form();
  void send_password_form(std::string_view message);
  void tls_write(const uint8_t* data, size_t len);
  void flush();
  void arm_timer();
  void end_tunnel(SessionFate fate);
  void set_rekey(proto::TunnelReply& reply) const;
  // Every group a successful login is a member of: passwd file, PAM/LDAP, RADIUS Class, certificate.
  std::vector<std::string> login_groups() const;
  // Chooses the DTLS mode for this CONNECT and fills the reply's offer; false = no DTLS.
  bool prepare_dtls(const proto::TunnelRequest& request, proto::TunnelReply& reply, uint32_t& overhead);
  void send_dtls_flights();
  void dtls_established();

  Server::Impl& server_;
  uint64_t id_;
  std::string peer_;  // "ip:port" for logs
  Phase phase_ = Phase::kHandshake;
  int open_handles_ = 0;
  std::unique_ptr<TlsSession> tls_;
  Clock::time_point accepted_at_{};
  Clock::time_point request_started_at_{};
  bool request_timer_running_ = false;
  bool shutdown_started_ = false;

  // HTTP / auth phase
  proto::HttpRequestParser parser_;
  std::string pending_plaintext_;  // bytes that arrived while a password check was running
  uint32_t requests_ = 0;
  AuthState auth_state_ = AuthState::kInitial;
  std::string username_;
  uint32_t password_tries_ = 0;
  uint32_t otp_tries_ = 0;
  // <group-select> the client made (a group name; "" = none or the default option).
  std::string chosen_group_;
  bool group_chosen_ = false;
  // Verified client certificate's identity (certificate methods), read once after the handshake.
  std::optional<std::string> cert_user_;
  std::vector<std::string> cert_groups_;
  // Groups the password backend found: PAM (primary, then supplementary; pam_gid_min), LDAP.
  std::vector<std::string> backend_groups_;
  bool auth_in_flight_ = false;
  // method = "radius": the Access-Accept of the last check and the Acct-Session-Id it was sent with.
  std::optional<auth::RadiusAuthOutcome> radius_accept_;
  std::string radius_acct_id_;
  int http_minor_ = 1;

  // Tunnel phase
  uint32_t session_id_ = 0;
  uint32_t address_ = 0;
  uint32_t route_index_ = 0;
  datapath::Ipv6Subnet lease6_;  // the IPv6 subnet CSTP DATA may come from; empty = none
  proto::TunnelRequest pending_tunnel_;  // the CONNECT waiting for its script
  config::UserConfig user_config_;       // this tunnel's per-user/per-group settings
  datapath::RouteRestriction restriction_;  // restrict-to-routes/-ports; the pipeline has its own copy
  uint64_t script_job_ = 0;
  std::vector<uint8_t> cstp_buffer_;
  proto::Compression cstp_compression_ = proto::Compression::kNone;  // negotiated for CSTP
  uint32_t compress_min_size_ = 0;                                   // packets up to this size go uncompressed
  Clock::time_point last_rx_{};
  Clock::time_point last_data_{};
  bool dpd_outstanding_ = false;

  // DTLS (protocol.md §5)
  enum class DtlsMode { kNone, kPsk, kLegacy };
  DtlsMode dtls_mode_ = DtlsMode::kNone;
  DtlsId dtls_id_{};
  std::array<uint8_t, kDtlsPskSize> dtls_psk_{};
  std::array<uint8_t, kDtlsMasterSecretSize> dtls_master_{};
  proto::DtlsLegacySuite dtls_suite_ = proto::DtlsLegacySuite::kAes128Gcm;
  std::unique_ptr<DtlsHandshake> dtls_hs_;
  datapath::Peer dtls_peer_{};
  Clock::time_point dtls_last_flight_{};
  Clock::time_point dtls_done_at_{};  // when this attempt's keys went to the data plane
  bool dtls_dpd_outstanding_ = false;
  bool dtls_installed_ = false;  // keys of the current attempt are in the data plane

  TunnelInfo info_;

 public:
  ~Connection();
};

}  // namespace ocm::ctrl
