#pragma once
// The environment of connect/disconnect scripts, with ocserv's variable names
// (protocol.md §7.2), so that scripts written for ocserv keep working. Pure: no loop, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocm::ctrl {

// Counters of the tunnel that ended (disconnect only).
struct ScriptStats {
  uint64_t bytes_in = 0;   // from the client (CSTP + DTLS)
  uint64_t bytes_out = 0;  // to the client
  int64_t duration = 0;    // seconds since the tunnel came up
};

struct ScriptEnv {
  std::string reason;  // "connect" or "disconnect"
  std::string username;
  std::string groupname;
  std::string hostname;  // the client's X-CSTP-Hostname
  std::string device;    // our shared TUN device
  std::string ip_real;   // client address as we see it
  std::string ip_real_local;  // our address on that connection
  std::string ip_local;       // server side of the tunnel
  std::string ip_remote;      // leased address
  // IPv6 inside the tunnel (ipv6_network set): server address, the client's address and its
  // subnet as "addr/len". Empty = no IPv6, and the variables are left out (as ocserv does).
  std::string ipv6_local;
  std::string ipv6_remote;
  std::string ipv6_prefix;
  std::string user_agent;
  uint32_t id = 0;  // session id (what ocmctl shows)
  std::optional<ScriptStats> stats;
};

// Scripts start with this PATH and nothing else inherited: the server's own environment is
// not the script's business, and a fixed PATH makes `ip`/`iptables` resolve the same way
// under systemd and from a shell.
inline constexpr std::string_view kScriptPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// "NAME=value" strings, in a fixed order. Client-controlled text (HOSTNAME, USER_AGENT,
// USERNAME) has control characters replaced by '?', so that a script echoing it into a log
// cannot be made to write extra lines, and a NUL cannot cut the variable short.
std::vector<std::string> script_environment(const ScriptEnv& env);

}  // namespace ocm::ctrl
