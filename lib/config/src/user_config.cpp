#include "ocm/config/user_config.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace ocm::config {
namespace {

// A per-user file is a few lines; anything this large is a wrong file, not a config.
constexpr size_t kMaxFileBytes = 64 * 1024;
// Same bounds as the TOML config: a year of seconds, 10 Gbit/s in bytes.
constexpr uint64_t kMaxSeconds = uint64_t{365} * 24 * 3600;
constexpr uint64_t kMaxRate = uint64_t{1250} * 1000 * 1000;
// RFC 1035 limits for split-dns names.
constexpr size_t kMaxDomainLength = 253;
constexpr size_t kMaxLabelLength = 63;

// ocserv keys that exist but that this server does not apply: named so the error can say
// "not supported" instead of "unknown" (a typo).
constexpr std::array<std::string_view, 26> kUnsupportedOcservKeys = {
    "no-udp",
    "tunnel-all-dns",
    "tunnel_all_dns",
    "iroute",
    "ipv6-dns",
    "nbns",
    "ipv4-nbns",
    "ipv6-nbns",
    "cgroup",
    "ipv4-network",
    "ipv4-netmask",
    "ipv6-network",
    "explicit-ipv6",
    "ipv6-subnet-prefix",
    "hostname",
    "stats-report-time",
    "mtu",
    "dpd",
    "mobile-dpd",
    "mobile-idle-timeout",
    "keepalive",
    "max-same-clients",
    "net-priority",
    "user-profile",
    "client-bypass-protocol",
    "append-routes",
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<uint64_t> parse_u64(std::string_view text) {
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// ocserv accepts "10.0.0.0/8" and "10.0.0.0/255.0.0.0"; host bits set is a typo, as in the TOML.
std::optional<Ipv4Prefix> parse_route(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  auto rest = text.substr(slash + 1);
  if (rest.find('.') == std::string_view::npos) {
    return parse_ipv4_prefix(text);
  }
  auto addr = parse_ipv4(text.substr(0, slash));
  auto mask = parse_ipv4(rest);
  if (!addr || !mask) {
    return std::nullopt;
  }
  // A netmask is ones then zeros: ~mask + 1 must be a power of two (or 0 for /32 wraps to 0).
  uint32_t inverted = ~*mask;
  if ((inverted & (inverted + 1)) != 0) {
    return std::nullopt;
  }
  Ipv4Prefix prefix{*addr, static_cast<uint8_t>(std::popcount(*mask))};
  if ((*addr & ~prefix.netmask()) != 0) {
    return std::nullopt;
  }
  return prefix;
}

bool valid_domain(std::string_view name) {
  if (name.empty() || name.size() > kMaxDomainLength) {
    return false;
  }
  while (true) {
    auto dot = name.find('.');
    auto label = name.substr(0, dot);
    bool ok = !label.empty() && label.size() <= kMaxLabelLength &&
              std::all_of(label.begin(), label.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                       c == '_';
              });
    if (!ok) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    name.remove_prefix(dot + 1);
  }
}

}  // namespace

Result<UserConfig> parse_user_config(std::string_view text, std::string_view source_name) {
  UserConfig out;
  size_t line_no = 0;
  auto fail = [&](std::string_view key, const std::string& why) {
    std::string msg = std::string(source_name) + ":" + std::to_string(line_no) + ": ";
    if (!key.empty()) {
      msg += std::string(key) + ": ";
    }
    return make_error(msg + why);
  };
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    line = trim(line);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    // Values end up in HTTP headers (routes, DNS): control characters would inject headers.
    if (std::any_of(line.begin(), line.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 && c != '\t'; })) {
      return fail({}, "control character in line");
    }
    auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      return fail({}, "expected 'key = value'");
    }
    std::string_view key = trim(line.substr(0, eq));
    std::string_view value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (value.empty()) {
      return fail(key, "missing value");
    }
    if (key == "route") {
      if (!out.routes) {
        out.routes.emplace();
      }
      if (value == "default" || value == "0.0.0.0/0" || value == "0.0.0.0/0.0.0.0") {
        out.default_route = true;
      } else if (auto prefix = parse_route(value)) {
        out.routes->push_back(*prefix);
      } else {
        return fail(key, "expected a route like 10.0.0.0/8, 10.0.0.0/255.0.0.0 or default, got '" +
                             std::string(value) + "'");
      }
    } else if (key == "no-route") {
      auto prefix = parse_route(value);
      if (!prefix) {
        return fail(key, "expected a route like 10.1.0.0/16, got '" + std::string(value) + "'");
      }
      if (!out.no_routes) {
        out.no_routes.emplace();
      }
      out.no_routes->push_back(*prefix);
    } else if (key == "dns" || key == "ipv4-dns") {
      auto addr = parse_ipv4(value);
      if (!addr) {
        // IPv6 DNS servers come with the IPv6 work; refusing beats pushing nothing.
        return fail(key, "expected an IPv4 address, got '" + std::string(value) + "'");
      }
      if (!out.dns) {
        out.dns.emplace();
      }
      out.dns->push_back(*addr);
    } else if (key == "split-dns") {
      if (!valid_domain(value)) {
        return fail(key, "'" + std::string(value) + "' is not a valid domain name");
      }
      if (!out.split_dns) {
        out.split_dns.emplace();
      }
      out.split_dns->emplace_back(value);
    } else if (key == "explicit-ipv4") {
      auto addr = parse_ipv4(value);
      if (!addr) {
        return fail(key, "expected an IPv4 address, got '" + std::string(value) + "'");
      }
      out.explicit_ipv4 = *addr;
    } else if (key == "rx-data-per-sec" || key == "tx-data-per-sec") {
      auto rate = parse_u64(value);
      if (!rate || *rate > kMaxRate) {
        return fail(key, "expected bytes per second from 0 to " + std::to_string(kMaxRate) + ", got '" +
                             std::string(value) + "'");
      }
      (key == "rx-data-per-sec" ? out.rx_rate_limit : out.tx_rate_limit) = *rate;
    } else if (key == "idle-timeout" || key == "session-timeout") {
      auto secs = parse_u64(value);
      if (!secs || *secs > kMaxSeconds) {
        return fail(key, "expected seconds from 0 to " + std::to_string(kMaxSeconds) + ", got '" +
                             std::string(value) + "'");
      }
      (key == "idle-timeout" ? out.idle_timeout : out.session_timeout) = std::chrono::seconds(*secs);
    } else if (key == "restrict-user-to-routes" || key == "deny-roaming") {
      // ocserv's values; anything else is refused, so a typo cannot leave a user unrestricted.
      auto& flag = key == "deny-roaming" ? out.deny_roaming : out.restrict_to_routes;
      if (value == "true") {
        flag = true;
      } else if (value == "false") {
        flag = false;
      } else {
        return fail(key, "expected true or false, got '" + std::string(value) + "'");
      }
    } else if (key == "restrict-user-to-ports") {
      auto ports = parse_port_restriction(value);
      if (!ports) {
        return fail(key, ports.error().message + " in '" + std::string(value) + "'");
      }
      out.restrict_to_ports = std::move(ports).value();
    } else if (std::find(kUnsupportedOcservKeys.begin(), kUnsupportedOcservKeys.end(), key) !=
               kUnsupportedOcservKeys.end()) {
      return fail(key, "ocserv key not supported by ocserv-modern (refused rather than ignored)");
    } else {
      return fail(key, "unknown key");
    }
  }
  return out;
}

void merge_user_config(UserConfig& base, const UserConfig& over) {
  if (over.routes) {
    base.routes = over.routes;
    base.default_route = over.default_route;
  }
  auto take = [](auto& to, const auto& from) {
    if (from) {
      to = from;
    }
  };
  take(base.no_routes, over.no_routes);
  take(base.dns, over.dns);
  take(base.split_dns, over.split_dns);
  take(base.explicit_ipv4, over.explicit_ipv4);
  take(base.rx_rate_limit, over.rx_rate_limit);
  take(base.tx_rate_limit, over.tx_rate_limit);
  take(base.idle_timeout, over.idle_timeout);
  take(base.session_timeout, over.session_timeout);
  take(base.restrict_to_routes, over.restrict_to_routes);
  take(base.restrict_to_ports, over.restrict_to_ports);
  take(base.deny_roaming, over.deny_roaming);
}

bool safe_config_file_name(std::string_view name) {
  return !name.empty() && name.front() != '.' && name.size() <= 255 &&
         std::none_of(name.begin(), name.end(),
                      [](char c) { return c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

Result<std::optional<UserConfig>> load_user_config(const std::string& dir, std::string_view name) {
  if (!safe_config_file_name(name)) {
    return make_error("'" + std::string(name) + "' cannot name a file in " + dir);
  }
  std::string path = dir;
  if (path.empty() || path.back() != '/') {
    path += '/';
  }
  path += name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return std::optional<UserConfig>{};
    }
    return make_error("cannot read " + path + ": " + std::strerror(errno));
  }
  std::string text;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0 && text.size() <= kMaxFileBytes) {
    text.append(buffer, static_cast<size_t>(n));
  }
  int read_errno = errno;
  ::close(fd);
  if (n < 0) {
    return make_error("cannot read " + path + ": " + std::strerror(read_errno));
  }
  if (text.size() > kMaxFileBytes) {
    return make_error(path + ": larger than " + std::to_string(kMaxFileBytes) + " bytes");
  }
  auto parsed = parse_user_config(text, path);
  if (!parsed) {
    return parsed.error();
  }
  return std::optional<UserConfig>(std::move(parsed).value());
}

}  // namespace ocm::config
