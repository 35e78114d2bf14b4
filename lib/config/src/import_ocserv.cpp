#include "ocm/config/import_ocserv.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>

#include "ocm/base/ipv4.hpp"
#include "ocm/base/ipv6.hpp"
#include "ocm/config/port_restriction.hpp"

namespace ocm::config {
namespace {

struct Entry {
  std::string key;
  std::string value;  // surrounding quotes removed
  std::string raw;    // value as written, for the unsupported comment
  uint32_t line = 0;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// ocserv reads `key = value` (spaces optional); values may be double-quoted.
std::vector<Entry> read_entries(std::string_view text) {
  std::vector<Entry> out;
  uint32_t line_no = 0;
  std::string vhost;  // non-empty inside a [vhost:name] section
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (line.front() == '[') {
      // Virtual hosts: we have one configuration, so a section's keys are all unsupported.
      vhost = std::string(trim(line.substr(1, line.find(']') == std::string_view::npos ? line.size() - 1
                                                                                         : line.find(']') - 1)));
      continue;
    }
    auto eq = line.find('=');
    Entry e;
    e.line = line_no;
    e.key = std::string(trim(line.substr(0, eq)));
    e.raw = eq == std::string_view::npos ? std::string() : std::string(trim(line.substr(eq + 1)));
    std::string_view v = e.raw;
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
      v = v.substr(1, v.size() - 2);
    }
    e.value = std::string(v);
    if (!vhost.empty()) {
      e.key = "[" + vhost + "] " + e.key;
    }
    out.push_back(std::move(e));
  }
  return out;
}

// Length of the well-formed UTF-8 sequence (RFC 3629) at the start of non-empty `s`, or 0.
size_t utf8_length(std::string_view s) noexcept {
  auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) {
    return 1;
  }
  size_t len = (b0 & 0xE0) == 0xC0 ? 2 : (b0 & 0xF0) == 0xE0 ? 3 : (b0 & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || s.size() < len) {
    return 0;
  }
  uint32_t cp = b0 & (0x7Fu >> len);
  for (size_t i = 1; i < len; ++i) {
    auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (b & 0x3Fu);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// A TOML document must be UTF-8 and a comment may hold no control character but tab, while an
// ocserv.conf may be in Latin-1 or hold any byte: such bytes become U+FFFD so the output parses.
std::string comment_text(std::string_view s) {
  std::string out;
  while (!s.empty()) {
    auto u = static_cast<unsigned char>(s.front());
    size_t len = utf8_length(s);
    if (len == 0 || (u < 0x20 && u != '\t') || u == 0x7f) {
      out += kReplacement;
      len = 1;
    } else {
      out.append(s.substr(0, len));
    }
    s.remove_prefix(len);
  }
  return out;
}

// TOML basic string: quotes, backslashes and control characters escaped; bytes that are not
// UTF-8 become U+FFFD (see comment_text).
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  while (!s.empty()) {
    const char c = s.front();
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      size_t len = utf8_length(s);
      out += len == 0 ? kReplacement : s.substr(0, len);
      s.remove_prefix(len == 0 ? 1 : len);
      continue;
    }
    s.remove_prefix(1);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string toml_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : ", ") + toml_string(items[i]);
  }
  return out + "]";
}

std::optional<uint64_t> to_uint(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

// "a.b.c.d/len", "a.b.c.d/m.m.m.m" (ocserv accepts both) -> canonical CIDR text.
std::optional<std::string> to_cidr(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view mask = s.substr(slash + 1);
  std::string cidr;
  if (mask.find('.') != std::string_view::npos) {
    auto m = parse_ipv4(mask);
    if (!m) {
      return std::nullopt;
    }
    uint32_t bits = *m;
    uint32_t len = 0;
    while (len < 32 && (bits & (0x80000000u >> len)) != 0) {
      ++len;
    }
    if (len < 32 && (bits << len) != 0) {
      return std::nullopt;  // not a contiguous mask
    }
    cidr = std::string(s.substr(0, slash)) + "/" + std::to_string(len);
  } else {
    cidr = std::string(s);
  }
  if (!parse_ipv4_prefix(cidr)) {
    return std::nullopt;
  }
  return cidr;
}

// Collects TOML keys per section in a fixed section order, keys in first-seen order.
class Output {
 public:
  void set(const std::string& section, const std::string& key, std::string value) {
    auto& keys = sections_[section];
    for (auto& [k, v] : keys) {
      if (k == key) {
        v = std::move(value);
        return;
      }
    }
    keys.emplace_back(key, std::move(value));
  }
  [[nodiscard]] bool has(const std::string& section, const std::string& key) const {
    auto it = sections_.find(section);
    if (it == sections_.end()) {
      return false;
    }
    for (const auto& [k, v] : it->second) {
      if (k == key) {
        return true;
      }
    }
    return false;
  }
  [[nodiscard]] std::string render() const {
    static constexpr const char* kOrder[] = {"server",  "crypto", "auth",        "network",   "security",
                                             "session", "dtls",   "compression", "monitoring"};
    std::string out;
    for (const char* name : kOrder) {
      auto it = sections_.find(name);
      if (it == sections_.end() || it->second.empty()) {
        continue;
      }
      out += "\n[" + std::string(name) + "]\n";
      for (const auto& [k, v] : it->second) {
        out += k + " = " + v + "\n";
      }
    }
    return out;
  }

 private:
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> sections_;
};

// Repeated keys (route, dns, split-dns) accumulate here, rendered once all lines are read.
struct Lists {
  std::vector<std::string> routes;
  std::vector<std::string> dns;
  std::vector<std::string> split_dns;
  std::string network;  // ipv4-network as written
  std::string netmask;  // ipv4-netmask
  uint32_t network_line = 0;
  bool ipv6_network = false;
  // IPv6 routes and DNS servers: valid only with ipv6-network (ocserv ignores them without it),
  // so they are kept apart until all lines are read.
  std::vector<Entry> ipv6_entries;
};

struct Ctx {
  Output out;
  Lists lists;
  std::vector<std::string>& notes;
};

// A handler converts one entry; it returns an empty string on success, else why it could not.
using Handler = std::string (*)(const Entry&, Ctx&);

std::string set_uint(const Entry& e, Output& out, const char* section, const char* key, uint64_t min,
                     uint64_t max) {
  auto v = to_uint(e.value);
  if (!v || *v < min || *v > max) {
    return "not a number in " + std::to_string(min) + ".." + std::to_string(max);
  }
  out.set(section, key, std::to_string(*v));
  return {};
}

std::string set_text(const Entry& e, Output& out, const char* section, const char* key) {
  out.set(section, key, toml_string(e.value));
  return {};
}

std::string set_path(const Entry& e, Output& out, const char* section, const char* key) {
  if (e.value.empty() || e.value.front() != '/') {
    return "not an absolute path";
  }
  return set_text(e, out, section, key);
}

std::string set_bool(const Entry& e, Output& out, const char* section, const char* key) {
  if (e.value != "true" && e.value != "false") {
    return "not true/false";
  }
  out.set(section, key, e.value);
  return {};
}

constexpr uint64_t k16 = 65535;
constexpr uint64_t k32 = 0xffffffffu;

struct Mapping {
  std::string_view key;
  Handler handler;
};

constexpr Mapping kMappings[] = {
    {"tcp-port", [](const Entry& e, Ctx& c) { return set_uint(e, c.out, "server", "tcp_port", 1, k16); }},
    {"udp-port", [](const Entry& e, Ctx& c) { return set_uint(e, c.out, "server", "dtls_port", 1, k16); }},
    {"listen-host",
     [](const Entry& e, Ctx& c) -> std::string {
       if (!parse_ipv4(e.value)) {
         return "only an IPv4 address literal is supported";
       }
       return set_text(e, c.out, "server", "bind");
     }},
    {"auth-timeout", [](const Entry& e, Ctx& c) { return set_uint(e, c.out, "server", "auth_timeout", 1, k32); }},
    {"banner", [](const Entry& e, Ctx& c) { return set_text(e, c.out, "server", "banner"); }},
    {"pre-login-banner", [](const Entry& e, Ctx& c) { return set_text(e, c.out, "server", "pre_login_banner"); }},
    {"server-cert", [](const Entry& e, Ctx& c) { return set_path(e, c.out, "crypto", "cert_file"); }},
    {"server-key", [](const Entry& e, Ctx& c) { return set_path(e, c.out, "crypto", "key_file"); }},
    {"auth",
     [](const Entry& e, Ctx& c) -> std::string {
       // plain[passwd=FILE] only; plain[passwd=F,otp=G] needs OTP, which we do not have.
       constexpr std::string_view kPrefix = "plain[passwd=";
       if (!e.value.starts_with(kPrefix) || !e.value.ends_with("]") ||
           e.value.find(',') != std::string::npos) {
         return "only plain[passwd=FILE] is supported";
       }
       std::string file = e.value.substr(kPrefix.size(), e.value.size() - kPrefix.size() - 1);
       if (file.empty() || file.front() != '/') {
         return "passwd file is not an absolute path";
       }
       c.out.set("auth", "method", "\"plain\"");
       c.out.set("auth", "passwd_file", toml_string(file));
       return {};
     }},
    {"device",
     [](const Entry& e, Ctx& c) -> std::string {
       if (e.value.empty() || e.value.size() > 15) {
         return "not a valid interface name";
       }
       return set_text(e, c.out, "network", "device");
     }},
    {"ipv4-network",
     [](const Entry& e, Ctx& c) -> std::string {
       c.lists.network = e.value;
       c.lists.network_line = e.line;
       return {};
     }},
    {"ipv6-network",
     [](const Entry& e, Ctx& c) -> std::string {
       auto prefix6 = parse_ipv6_prefix(e.value);
       if (!prefix6) {
         return "not an IPv6 prefix with host bits zero";
       }
       c.out.set("network", "ipv6_network", toml_string(format_ipv6_prefix(prefix6->network, prefix6->length)));
       c.lists.ipv6_network = true;
       return {};
     }},
    {"ipv6-subnet-prefix",
     [](const Entry& e, Ctx& c) { return set_uint(e, c.out, "network", "ipv6_subnet_prefix", 17, 128); }},
    {"ipv4-netmask",
     [](const Entry& e, Ctx& c) -> std::string {
       c.lists.netmask = e.value;
       return {};
     }},
    {"route",
     [](const Entry& e, Ctx& c) -> std::string {
       if (e.value == "default" || e.value == "0.0.0.0/0" || e.value == "0.0.0.0/0.0.0.0" || e.value == "::/0") {
         c.lists.routes.emplace_back("default");
         return {};
       }
       if (e.value.find(':') != std::string::npos) {
         auto prefix6 = parse_ipv6_prefix(e.value);
         if (!prefix6) {
           return "not an IPv6 prefix with host bits zero";
         }
         c.lists.routes.push_back(format_ipv6_prefix(prefix6->network, prefix6->length));
         c.lists.ipv6_entries.push_back(e);
         return {};
       }
       auto cidr = to_cidr(e.value);
       if (!cidr) {
         return "not an IPv4 or IPv6 route";
       }
       c.lists.routes.push_back(*cidr);
       return {};
     }},
    {"dns",
     [](const Entry& e, Ctx& c) -> std::string {
       if (!parse_ipv4(e.value)) {
         if (!parse_ipv6(e.value)) {
           return "not an IPv4 or IPv6 address";
         }
         c.lists.ipv6_entries.push_back(e);
       }
       c.lists.dns.push_back(e.value);
       return {};
     }},
    {"split-dns",
     [](const Entry& e, Ctx& c) -> std::string {
       c.lists.split_dns.push_back(e.value);
       return {};
     }},
    {"default-domain",
     [](const Entry& e, Ctx& c) -> std::string {
       if (e.value.find(' ') != std::string::npos) {
         return "only one domain is supported";
       }
       return set_text(e, c.out, "network", "default_domain");
     }},
    {"mtu", [](const Entry& e, Ctx& c) { return set_uint(e, c.out, "network", "mtu", 576, 9000); }},
    {"restrict-user-to-ports",
     [](const Entry& e, Ctx& c) -> std::string {
       // Checked here so that a bad value is reported with its ocserv line, not as a TOML error.
       if (auto ports = parse_port_restriction(e.value); !ports) {
         return ports.error().message;
       }
       return set_text(e, c.out, "network", "restrict_to_ports");
     }},
    {"max-ban-score", [](const Entry& e, Ctx& c) { return set_uint(e, c.out, "security", "max_ban_score", 0, k32); }},
    {"max-clients", [](const Entry& e, Ctx& c) { return set_uint(e, c.out, "session", "max_clients", 0, k32); }},
    {"max-same-clients",
     [](const Entry& e, Ctx& c) { return set_uint(e, c.out, "session", "max_same_clients", 0, k32); }},
    {"cookie-timeout", [](const Entry& e, Ctx& c) { return set_uint(e, c.out, "session", "cookie_timeout", 1, k32); }},
    {"dpd", [](const Entry& e, Ctx& c) { return set_uint(e, c.out, "session", "dpd", 1, k32); }},
    {"keepalive", [](const Entry& e, Ctx& c) { return set_uint(e, c.out, "session", "keepalive", 1, k32); }},
    {"idle-timeout", [](const Entry& e, Ctx& c) { return set_uint(e, c.out, "session", "idle_timeout", 0, k32); }},
    {"predictable-ips", [](const Entry& e, Ctx& c) { return set_bool(e, c.out, "session", "predictable_ips"); }},
    {"connect-script",
     [](const Entry& e, Ctx& c) {
       c.notes.push_back("connect-script: the script now sees one shared DEVICE for all users (doc/operators.md)");
       return set_path(e, c.out, "session", "connect_script");
     }},
    {"disconnect-script", [](const Entry& e, Ctx& c) { return set_path(e, c.out, "session", "disconnect_script"); }},
    {"compression", [](const Entry& e, Ctx& c) { return set_bool(e, c.out, "compression", "enabled"); }},
    {"no-compress-limit",
     [](const Entry& e, Ctx& c) { return set_uint(e, c.out, "compression", "min_size", 64, 16384); }},
    {"compression-algo-priority",
     [](const Entry& e, Ctx& c) -> std::string {
       // "lzs:oc-lz4": algorithm names, most preferred first.
       std::vector<std::string> names;
       std::string_view rest = e.value;
       while (true) {
         auto colon = rest.find(':');
         std::string name(trim(rest.substr(0, colon)));
         for (char& ch : name) {
           ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
         }
         if (name != "oc-lz4" && name != "lzs") {
           return "expected algorithm names separated by ':' (oc-lz4, lzs), got '" + name + "'";
         }
         if (std::find(names.begin(), names.end(), name) == names.end()) {
           names.push_back(std::move(name));
         }
         if (colon == std::string_view::npos) {
           break;
         }
         rest.remove_prefix(colon + 1);
       }
       c.out.set("compression", "algorithms", toml_array(names));
       return {};
     }},
    {"occtl-socket-file",
     [](const Entry& e, Ctx& c) {
       c.notes.push_back("occtl-socket-file: use ocmctl (occtl's commands), not occtl, on this socket");
       return set_path(e, c.out, "monitoring", "control_socket");
     }},
};

// Keys that have no equivalent because the design differs; they are listed, not converted.
constexpr std::string_view kIgnored[] = {"isolate-workers"};

}  // namespace

ImportResult import_ocserv(std::string_view ocserv_conf, std::string_view source_name) {
  ImportResult result;
  Ctx ctx{{}, {}, result.notes};
  Output& out = ctx.out;
  Lists& lists = ctx.lists;
  std::string comments;
  auto unsupported = [&](const Entry& e, const std::string& why) {
    comments += comment_text("# unsupported: " + e.key + " = " + e.raw + (why.empty() ? "" : "  (" + why + ")")) + "\n";
    result.unsupported.push_back("line " + std::to_string(e.line) + ": " + e.key + " = " + e.raw +
                                 (why.empty() ? "" : " (" + why + ")"));
  };
  bool saw_udp_port = false;
  for (const Entry& e : read_entries(ocserv_conf)) {
    if (e.key == "udp-port") {
      saw_udp_port = true;
    }
    bool ignored = false;
    for (auto k : kIgnored) {
      ignored = ignored || e.key == k;
    }
    if (ignored) {
      comments += comment_text("# ignored: " + e.key + " = " + e.raw + "  (no worker processes to isolate)") + "\n";
      result.notes.push_back(e.key + ": ignored (ocserv-modern has no per-user worker processes)");
      continue;
    }
    const Mapping* m = nullptr;
    for (const auto& candidate : kMappings) {
      if (candidate.key == e.key) {
        m = &candidate;
      }
    }
    if (m == nullptr) {
      unsupported(e, "");
      continue;
    }
    std::string why = m->handler(e, ctx);
    if (!why.empty()) {
      unsupported(e, why);
      continue;
    }
    ++result.converted;
  }

  if (!lists.network.empty()) {
    std::optional<std::string> cidr;
    if (lists.network.find('/') != std::string::npos) {
      cidr = to_cidr(lists.network);
    } else if (!lists.netmask.empty()) {
      cidr = to_cidr(lists.network + "/" + lists.netmask);
    }
    if (cidr) {
      out.set("network", "ipv4_network", toml_string(*cidr));
    } else {
      Entry e{"ipv4-network", lists.network, lists.network + (lists.netmask.empty() ? "" : " / " + lists.netmask),
              lists.network_line};
      unsupported(e, "not a valid IPv4 network with its netmask");
    }
  }
  if (!lists.ipv6_network) {
    // Without a pool the IPv6 entries would make the converted file invalid; list them instead.
    for (const Entry& e : lists.ipv6_entries) {
      auto& list = e.key == "route" ? lists.routes : lists.dns;
      std::erase(list, e.key == "route" ? format_ipv6_prefix(parse_ipv6_prefix(e.value)->network,
                                                             parse_ipv6_prefix(e.value)->length)
                                        : e.value);
      --result.converted;
      unsupported(e, "IPv6 needs ipv6-network");
    }
  }
  if (!lists.routes.empty()) {
    out.set("network", "routes", toml_array(lists.routes));
  }
  if (!lists.dns.empty()) {
    out.set("network", "dns_servers", toml_array(lists.dns));
  }
  if (!lists.split_dns.empty()) {
    out.set("network", "split_dns", toml_array(lists.split_dns));
  }
  // ocserv offers no UDP channel without udp-port; keep it that way.
  if (!saw_udp_port) {
    out.set("dtls", "enabled", "false");
    result.notes.push_back("no udp-port: DTLS disabled, as in ocserv");
  }

  std::string& toml = result.toml;
  toml = "# ocserv-modern configuration converted from " + std::string(source_name) +
         " by `ocserv-modern import-ocserv`.\n"
         "# Keys not listed keep their defaults (config/ocserv-modern.toml documents every key).\n";
  toml += out.render();
  if (!comments.empty()) {
    toml += "\n# ocserv settings without an equivalent (not applied):\n" + comments;
  }
  return result;
}

}  // namespace ocm::config
