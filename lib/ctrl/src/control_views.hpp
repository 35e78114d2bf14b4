#pragma once
// What ocmctl shows, as plain data, and its two renderings: JSON with occtl's key names (plus
// raw_* numbers) and readable text. Pure functions, so the output format is unit-tested without
// a server (tests/unit/ctrl/control_views_test.cpp).

#include <cstdint>
#include <string>
#include <vector>

namespace ocm::ctrl {

struct UserView {
  uint32_t id = 0;  // session id (ocmctl's ID; occtl shows a worker PID there)
  std::string username;
  std::string group;
  std::string state = "connected";
  std::string device;
  uint32_t mtu = 0;
  std::string remote_ip;        // client's TCP address
  uint16_t remote_port = 0;
  std::string local_ip;         // server address the client connected to
  std::string ipv4;             // leased address
  std::string ptp_ipv4;         // server end of the tunnel
  std::string user_agent;
  std::string hostname;
  uint64_t cstp_rx = 0;         // bytes from the client over TLS (CSTP payload + headers)
  uint64_t cstp_tx = 0;
  uint64_t dtls_rx = 0;         // DTLS record plaintext bytes (data plane counters)
  uint64_t dtls_tx = 0;
  uint32_t dpd = 0;
  uint32_t keepalive = 0;
  int64_t connected_at = 0;     // Unix seconds
  std::string tls_cipher;
  std::string dtls_cipher;      // empty when no DTLS
  std::string dtls_state;       // data plane slot state
  std::string cstp_compression;  // "oc-lz4" / "lzs"; empty = none negotiated
  std::string dtls_compression;
};

struct SessionView {
  uint32_t id = 0;
  std::string username;
  std::string group;
  bool in_use = false;          // a tunnel is attached
  std::string ipv4;
  int64_t created = 0;          // Unix seconds
  int64_t expires_in = 0;       // seconds until a detached session expires; 0 when in use
};

struct StatusView {
  int64_t pid = 0;
  int64_t up_since = 0;         // Unix seconds
  int64_t now = 0;
  uint64_t active_sessions = 0; // tunnels up
  uint64_t total_sessions = 0;  // valid cookies (attached or not)
  uint64_t sessions_handled = 0;
  uint64_t auth_failures = 0;
  uint64_t tls_handshake_failures = 0;
  uint64_t dtls_handshakes_ok = 0;
  uint64_t dtls_handshake_failures = 0;
  uint64_t connections = 0;
  uint64_t rx = 0;              // every byte from clients, CSTP + DTLS
  uint64_t tx = 0;
  uint64_t datapath_drops = 0;
  uint64_t banned_ips = 0;      // addresses banned right now
};

// One address in the ban table (show ip bans / show ip ban points).
struct BanView {
  std::string ip;
  uint32_t score = 0;
  bool banned = false;
  int64_t expires = 0;  // Unix seconds: end of the ban (when banned)
};

enum class EventKind { kConnect, kDisconnect };

struct EventView {
  EventKind kind = EventKind::kConnect;
  int64_t time = 0;  // Unix seconds
  UserView user;
  std::string reason;  // disconnect reason
};

// "1.5 MB" style (occtl's units: powers of 1000).
std::string human_bytes(uint64_t bytes);
// "2d 3h", "5m 10s".
std::string human_duration(int64_t seconds);
// "YYYY-MM-DD HH:MM:SS" UTC.
std::string format_time(int64_t unix_seconds);

std::string users_json(const std::vector<UserView>& users, int64_t now);
std::string users_text(const std::vector<UserView>& users, int64_t now);
// One user in detail ("show user NAME", "show id ID"): the text form lists every field.
std::string user_details_text(const std::vector<UserView>& users, int64_t now);
std::string sessions_json(const std::vector<SessionView>& sessions);
std::string sessions_text(const std::vector<SessionView>& sessions);
std::string status_json(const StatusView& status);
std::string status_text(const StatusView& status);
// occtl's shapes: banned addresses with "IP", "Since" (the end of the ban, as occtl labels it),
// "_Since" (time left) and "Score"; with points = true every scored address with "IP", "Score".
std::string bans_json(const std::vector<BanView>& bans, int64_t now, bool points);
std::string bans_text(const std::vector<BanView>& bans, int64_t now, bool points);
// One line (no newline) per event for `show events`.
std::string event_json(const EventView& event);
std::string event_text(const EventView& event);

}  // namespace ocm::ctrl
