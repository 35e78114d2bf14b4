#pragma once
// ocserv's per-user and per-group config files (config-per-user / config-per-group: one file
// per user or group name, "key = value" lines, '#' comments), the subset of keys this server
// applies. A file is read when the user's tunnel is set up, so edits need no reload. Any key
// we do not apply is an error rather than silently ignored: an operator who wrote
// "iroute" must not believe it is applied.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ocm/base/ipv4.hpp"
#include "ocm/base/result.hpp"
#include "ocm/config/port_restriction.hpp"

namespace ocm::config {

// Every member is set only when the file names the key.
struct UserConfig {
  std::optional<std::vector<Ipv4Prefix>> routes;     // route (repeatable); "default" sets default_route
  bool default_route = false;
  std::optional<std::vector<Ipv4Prefix>> no_routes;  // no-route (repeatable)
  std::optional<std::vector<uint32_t>> dns;          // dns / ipv4-dns (repeatable), host order
  std::optional<std::vector<std::string>> split_dns; // split-dns (repeatable)
  std::optional<uint32_t> explicit_ipv4;             // host order
  std::optional<uint64_t> rx_rate_limit;             // rx-data-per-sec, bytes/s (client -> server)
  std::optional<uint64_t> tx_rate_limit;             // tx-data-per-sec
  std::optional<std::chrono::seconds> idle_timeout;
  std::optional<std::chrono::seconds> session_timeout;
  std::optional<bool> restrict_to_routes;            // restrict-user-to-routes (over [network])
  std::optional<PortRestriction> restrict_to_ports;  // restrict-user-to-ports (over [network])
  std::optional<bool> deny_roaming;                  // deny-roaming (over [session])
};

// Errors read "FILE:LINE: KEY: message".
Result<UserConfig> parse_user_config(std::string_view text, std::string_view source_name);

// `over` wins key by key (a user's file over its group's); lists are replaced, not appended.
void merge_user_config(UserConfig& base, const UserConfig& over);

// True when `name` can name a file in a config directory: not empty, no '/', no NUL, no
// control characters, not starting with '.' (no "..", no hidden files). User names come from
// clients and certificates, so this is what keeps them inside the directory.
bool safe_config_file_name(std::string_view name);

// Reads DIR/NAME. A missing file is not an error (nullopt): ocserv applies no settings then.
// An unsafe name, an unreadable or malformed file is.
Result<std::optional<UserConfig>> load_user_config(const std::string& dir, std::string_view name);

}  // namespace ocm::config
