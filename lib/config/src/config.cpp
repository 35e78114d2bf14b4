#include "ocm/config/config.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <charconv>
#include <cstddef>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <system_error>
#include <utility>

#include <toml++/toml.h>

// The parser reports syntax errors by throwing; a build without exceptions would silently need another API.
static_assert(TOML_EXCEPTIONS, "ocm::config expects toml++ built with exceptions");

namespace ocm::config {
namespace {

// Longer than a year is a typo, and the cap keeps millisecond timer arithmetic far from overflow.
constexpr int64_t kMaxSeconds = int64_t{365} * 24 * 3600;
// A config is a few KiB; a file this large is the wrong path (a binary, a log), not a config.
constexpr size_t kMaxFileBytes = size_t{1} << 20;
// IFNAMSIZ (16) minus the terminating NUL.
constexpr size_t kMaxDeviceNameLength = 15;
// Below /8 the address pool gets absurdly large; /31 and /32 leave no address for a client.
constexpr uint8_t kMinPoolPrefix = 8;
constexpr uint8_t kMaxPoolPrefix = 30;
// IPv6 pool: shorter than /16 is surely a typo; up to /120 leaves room for a few /128 leases.
constexpr uint8_t kMinPool6Prefix = 16;
constexpr uint8_t kMaxPool6Prefix = 120;
// 576 is the IPv4 minimum every host must accept; 9000 is the common jumbo-frame ceiling.
constexpr int64_t kMinMtu = 576;
constexpr int64_t kMaxMtu = 9000;
// One queue per packet thread; more than 64 threads on one TUN device is not a setup we support.
constexpr int64_t kMaxTunQueues = 64;
// The kernel silently clamps the backlog to net.core.somaxconn anyway.
constexpr int64_t kMaxListenBacklog = 65535;
// Range bounds at or above this are "no real upper limit" and are left out of messages.
constexpr int64_t kUnboundedFrom = std::numeric_limits<int32_t>::max();
// DNS limits from RFC 1035.
constexpr size_t kMaxDomainLength = 253;
constexpr size_t kMaxLabelLength = 63;

using LineMap = std::map<std::string, uint32_t, std::less<>>;

// Everything one parse accumulates; the Config is only published when `errors` stays empty.
struct Context {
  Config config;
  std::vector<ConfigError> errors;
  LineMap lines;  // dotted key -> line, so validation after reading can still point at the file
};

// One TOML value being converted, with everything an error about it needs.
struct Field {
  const toml::node& node;
  std::string path;
  uint32_t line;
  Context* ctx;

  void fail(std::string message) const { ctx->errors.push_back(ConfigError{path, line, std::move(message)}); }
};

uint32_t line_of(const toml::source_region& region) { return static_cast<uint32_t>(region.begin.line); }

// Implicit tables and some values carry no position of their own; the key that named them always does.
uint32_t line_of(const toml::node& node, const toml::key& key) {
  uint32_t line = line_of(node.source());
  return line != 0 ? line : line_of(key.source());
}

const char* type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
  }
  return "an unknown type";
}

bool expect_type(const Field& f, toml::node_type want) {
  if (f.node.type() == want) {
    return true;
  }
  f.fail(std::string("expected ") + type_name(want) + ", got " + type_name(f.node.type()));
  return false;
}

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string range_message(int64_t min, int64_t max, int64_t got) {
  if (got < min && max >= kUnboundedFrom) {
    return "must be at least " + std::to_string(min) + ", got " + std::to_string(got);
  }
  return "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + std::to_string(got);
}

std::optional<int64_t> read_int(const Field& f, int64_t min, int64_t max) {
  if (!expect_type(f, toml::node_type::integer)) {
    return std::nullopt;
  }
  int64_t value = f.node.as_integer()->get();
  if (value < min || value > max) {
    f.fail(range_message(min, max, value));
    return std::nullopt;
  }
  return value;
}

// The range check in read_int is what makes the narrowing cast safe; callers never pass a wider range.
template <typename T>
void set_int(const Field& f, T& out, int64_t min, int64_t max = std::numeric_limits<T>::max()) {
  static_assert(std::numeric_limits<T>::max() <= std::numeric_limits<int64_t>::max());
  if (auto value = read_int(f, min, max)) {
    out = static_cast<T>(*value);
  }
}

// Byte counts: unsigned in the Config, never negative in the file (TOML integers are signed).
void set_u64(const Field& f, uint64_t& out, int64_t max) {
  if (auto value = read_int(f, 0, max)) {
    out = static_cast<uint64_t>(*value);
  }
}

void set_seconds(const Field& f, Seconds& out, int64_t min) {
  if (auto value = read_int(f, min, kMaxSeconds)) {
    out = Seconds{*value};
  }
}

void set_bool(const Field& f, bool& out) {
  if (expect_type(f, toml::node_type::boolean)) {
    out = f.node.as_boolean()->get();
  }
}

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

enum class Text {
  kAny,           // free text (banners): only NUL is refused, C APIs would truncate there
  kLine,          // ends up in an HTTP header or a file path: no control characters (header injection)
  kNonEmptyLine,  // as kLine, and an empty value is a mistake
};

std::optional<std::string> read_text(const Field& f, Text rule) {
  if (!expect_type(f, toml::node_type::string)) {
    return std::nullopt;
  }
  const std::string& text = f.node.as_string()->get();
  if (rule == Text::kAny && text.find('\0') != std::string::npos) {
    f.fail("must not contain NUL characters");
    return std::nullopt;
  }
  if (rule != Text::kAny && std::any_of(text.begin(), text.end(), is_control)) {
    f.fail("must not contain control characters");
    return std::nullopt;
  }
  if (rule == Text::kNonEmptyLine && text.empty()) {
    f.fail("must not be empty");
    return std::nullopt;
  }
  return text;
}

void set_text(const Field& f, std::string& out, Text rule) {
  if (auto text = read_text(f, rule)) {
    out = std::move(*text);
  }
}

template <typename E>
struct EnumName {
  std::string_view name;
  E value;
};

template <typename E, size_t N>
std::string_view name_of(const std::array<EnumName<E>, N>& names, E value) {
  for (const auto& entry : names) {
    if (entry.value == value) {
      return entry.name;
    }
  }
  return "?";
}

template <typename E, size_t N>
void set_enum(const Field& f, E& out, const std::array<EnumName<E>, N>& names) {
  auto text = read_text(f, Text::kAny);
  if (!text) {
    return;
  }
  std::string allowed;
  for (const auto& entry : names) {
    if (entry.name == *text) {
      out = entry.value;
      return;
    }
    allowed += allowed.empty() ? "" : ", ";
    allowed += quoted(entry.name);
  }
  f.fail(quoted(*text) + " is not one of " + allowed);
}

constexpr std::array<EnumName<TlsVersion>, 2> kTlsVersions{{
    {"1.2", TlsVersion::kTls12},
    {"1.3", TlsVersion::kTls13},
}};
constexpr std::array<EnumName<AuthMethod>, 7> kAuthMethods{{
    {"plain", AuthMethod::kPlain},
    {"certificate", AuthMethod::kCertificate},
    {"plain+certificate", AuthMethod::kPlainAndCertificate},
    {"pam", AuthMethod::kPam},
    {"pam+certificate", AuthMethod::kPamAndCertificate},
    {"radius", AuthMethod::kRadius},
    {"ldap", AuthMethod::kLdap},
}};
constexpr std::array<EnumName<DtlsMode>, 3> kDtlsModes{{
    {"auto", DtlsMode::kAuto},
    {"psk", DtlsMode::kPsk},
    {"legacy", DtlsMode::kLegacy},
}};
constexpr std::array<EnumName<RekeyMethod>, 2> kRekeyMethods{{
    {"ssl", RekeyMethod::kSsl},
    {"new-tunnel", RekeyMethod::kNewTunnel},
}};
// The wire names (protocol.md §6.6), as the client's Accept-Encoding lists them.
constexpr std::array<EnumName<CompressionAlgorithm>, 2> kCompressionAlgorithms{{
    {"oc-lz4", CompressionAlgorithm::kLz4},
    {"lzs", CompressionAlgorithm::kLzs},
}};
constexpr std::array<EnumName<Driver>, 3> kDrivers{{
    {"socket", Driver::kSocket},
    {"af_xdp", Driver::kAfXdp},
    {"dpdk", Driver::kDpdk},
}};
constexpr std::array<EnumName<XdpMode>, 3> kXdpModes{{
    {"auto", XdpMode::kAuto},
    {"native", XdpMode::kNative},
    {"generic", XdpMode::kGeneric},
}};
constexpr std::array<EnumName<ZeroCopy>, 3> kZeroCopyModes{{
    {"auto", ZeroCopy::kAuto},
    {"on", ZeroCopy::kOn},
    {"off", ZeroCopy::kOff},
}};
constexpr std::array<EnumName<log::Level>, 4> kLogLevels{{
    {"error", log::Level::kError},
    {"warning", log::Level::kWarning},
    {"info", log::Level::kInfo},
    {"debug", log::Level::kDebug},
}};

// Calls fn with one Field per element, each with its own "key[i]" path and line.
template <typename Fn>
void for_each_element(const Field& f, Fn&& fn) {
  if (!expect_type(f, toml::node_type::array)) {
    return;
  }
  const toml::array& array = *f.node.as_array();
  for (size_t i = 0; i < array.size(); ++i) {
    const toml::node& element = array[i];
    uint32_t line = line_of(element.source());
    fn(Field{element, f.path + "[" + std::to_string(i) + "]", line != 0 ? line : f.line, f.ctx});
  }
}

std::optional<uint8_t> parse_prefix_length(std::string_view text) {
  unsigned length = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || length > 32) {
    return std::nullopt;
  }
  return static_cast<uint8_t>(length);
}

// Diagnoses each way a prefix can be wrong separately: "host bits set" deserves its own hint.
std::optional<Ipv4Prefix> read_prefix(const Field& f, std::string_view text, uint8_t min_length, uint8_t max_length) {
  auto slash = text.find('/');
  std::optional<uint32_t> addr;
  std::optional<uint8_t> length;
  if (slash != std::string_view::npos) {
    addr = parse_ipv4(text.substr(0, slash));
    length = parse_prefix_length(text.substr(slash + 1));
  }
  if (!addr || !length) {
    f.fail("expected an IPv4 prefix like 10.0.0.0/8, got " + quoted(text));
    return std::nullopt;
  }
  if (*length < min_length || *length > max_length) {
    f.fail("prefix length must be between " + std::to_string(min_length) + " and " + std::to_string(max_length) +
           ", got " + std::to_string(*length));
    return std::nullopt;
  }
  Ipv4Prefix prefix{*addr, *length};
  // A typo in the network part must not silently widen or move the range.
  if ((*addr & ~prefix.netmask()) != 0) {
    Ipv4Prefix masked{*addr & prefix.netmask(), *length};
    f.fail("host bits are set in " + quoted(text) + "; did you mean " +
           quoted(format_ipv4(masked.network) + "/" + std::to_string(masked.length)) + "?");
    return std::nullopt;
  }
  return prefix;
}

// Mirrors the kernel's dev_valid_name(), so a bad name fails here rather than at TUN creation.
bool is_valid_device_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxDeviceNameLength || name == "." || name == "..") {
    return false;
  }
  return std::none_of(name.begin(), name.end(),
                      [](char c) { return c == '/' || c == ':' || is_space(c) || is_control(c); });
}

bool is_domain_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Domains are pushed to clients in X-CSTP headers; anything odd is a typo or an injection attempt.
bool is_valid_domain(std::string_view name) {
  if (name.empty() || name.size() > kMaxDomainLength) {
    return false;
  }
  while (true) {
    auto dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > kMaxLabelLength || !std::all_of(label.begin(), label.end(), is_domain_char)) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    name.remove_prefix(dot + 1);
  }
}

// ---- per-key readers that need more than a range or a name table ----

void read_bind(const Field& f, Config& c) {
  auto text = read_text(f, Text::kLine);
  if (!text) {
    return;
  }
  if (!parse_ipv4(*text)) {
    f.fail("expected an IPv4 address like 0.0.0.0, got " + quoted(*text));
    return;
  }
  c.server.bind = std::move(*text);
}

void read_stats_bind(const Field& f, Config& c) {
  auto text = read_text(f, Text::kLine);
  if (!text) {
    return;
  }
  if (!parse_ipv4(*text)) {
    f.fail("expected an IPv4 address like 127.0.0.1, got " + quoted(*text));
    return;
  }
  c.monitoring.stats_bind = std::move(*text);
}

// Scripts are exec'd directly (no shell), so the path must be absolute: a relative one would
// depend on the server's working directory.
void read_script(const Field& f, std::string& out) {
  auto text = read_text(f, Text::kLine);
  if (!text) {
    return;
  }
  if (!text->empty() && text->front() != '/') {
    f.fail("must be an absolute path, got " + quoted(*text));
    return;
  }
  out = std::move(*text);
}

void read_control_socket(const Field& f, Config& c) {
  auto text = read_text(f, Text::kLine);
  if (!text) {
    return;
  }
  if (!text->empty() && text->front() != '/') {
    f.fail("must be an absolute path (or \"\" for none), got " + quoted(*text));
    return;
  }
  // sockaddr_un.sun_path is 108 bytes including the NUL.
  if (text->size() > 107) {
    f.fail("is longer than 107 bytes (the limit of a Unix socket path)");
    return;
  }
  c.monitoring.control_socket = std::move(*text);
}

void read_device(const Field& f, Config& c) {
  auto text = read_text(f, Text::kAny);
  if (!text) {
    return;
  }
  if (!is_valid_device_name(*text)) {
    f.fail(quoted(*text) +
           " is not a valid interface name (1 to 15 characters, no '/', ':' or whitespace, "
           "not '.' or '..')");
    return;
  }
  c.network.device = std::move(*text);
}

void read_ipv4_network(const Field& f, Config& c) {
  auto text = read_text(f, Text::kAny);
  if (!text) {
    return;
  }
  if (auto prefix = read_prefix(f, *text, kMinPoolPrefix, kMaxPoolPrefix)) {
    c.network.ipv4_network = *prefix;
  }
}

// An IPv6 prefix ("fd00::/64") with the same diagnoses as read_prefix.
std::optional<Ipv6Prefix> read_prefix6(const Field& f, std::string_view text, uint8_t min_length, uint8_t max_length) {
  auto slash = text.find('/');
  std::optional<Ipv6Addr> addr;
  std::optional<unsigned> length;
  if (slash != std::string_view::npos) {
    addr = parse_ipv6(text.substr(0, slash));
    auto len_text = text.substr(slash + 1);
    unsigned len = 0;
    auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (!len_text.empty() && ec == std::errc{} && ptr == len_text.data() + len_text.size() && len <= 128) {
      length = len;
    }
  }
  if (!addr || !length) {
    f.fail("expected an IPv6 prefix like fd00::/64, got " + quoted(text));
    return std::nullopt;
  }
  if (*length < min_length || *length > max_length) {
    f.fail("prefix length must be between " + std::to_string(min_length) + " and " + std::to_string(max_length) +
           ", got " + std::to_string(*length));
    return std::nullopt;
  }
  const auto len8 = static_cast<uint8_t>(*length);
  Ipv6Addr masked = ipv6_masked(*addr, len8);
  if (masked != *addr) {
    f.fail("host bits are set in " + quoted(text) + "; did you mean " + quoted(format_ipv6_prefix(masked, len8)) +
           "?");
    return std::nullopt;
  }
  return Ipv6Prefix{*addr, len8};
}

void read_ipv6_network(const Field& f, Config& c) {
  auto text = read_text(f, Text::kAny);
  if (!text) {
    return;
  }
  // Empty is the documented "no IPv6 inside the tunnel".
  if (text->empty()) {
    c.network.ipv6_network.reset();
    return;
  }
  // Up to /120 so that a few /128 leases fit; the subnet count check is in validate().
  if (auto prefix = read_prefix6(f, *text, kMinPool6Prefix, kMaxPool6Prefix)) {
    c.network.ipv6_network = *prefix;
  }
}

void read_routes(const Field& f, Config& c) {
  c.network.routes.clear();
  c.network.routes6.clear();
  c.network.default_route = false;
  for_each_element(f, [&c](const Field& element) {
    auto text = read_text(element, Text::kAny);
    if (!text) {
      return;
    }
    // ocserv: "default" is a full tunnel for every family the client gets an address of.
    if (*text == "default") {
      c.network.default_route = true;
      return;
    }
    if (text->find(':') != std::string::npos) {
      if (*text == "::/0") {
        element.fail("use \"default\" for a full tunnel, not '::/0'");
        return;
      }
      if (auto prefix = read_prefix6(element, *text, 1, 128)) {
        c.network.routes6.push_back(*prefix);
      }
      return;
    }
    // Pushing 0.0.0.0/0 as a split-include route is not how clients expect a full tunnel to be announced.
    if (*text == "0.0.0.0/0") {
      element.fail("use \"default\" for a full tunnel, not '0.0.0.0/0'");
      return;
    }
    if (auto prefix = read_prefix(element, *text, 1, 32)) {
      c.network.routes.push_back(*prefix);
    }
  });
}

void read_dns_servers(const Field& f, Config& c) {
  c.network.dns_servers.clear();
  c.network.dns_servers6.clear();
  for_each_element(f, [&c](const Field& element) {
    auto text = read_text(element, Text::kAny);
    if (!text) {
      return;
    }
    if (text->find(':') != std::string::npos) {
      if (auto addr6 = parse_ipv6(*text)) {
        c.network.dns_servers6.push_back(*addr6);
      } else {
        element.fail("expected an IPv6 address like 2606:4700:4700::1111, got " + quoted(*text));
      }
      return;
    }
    if (auto addr = parse_ipv4(*text)) {
      c.network.dns_servers.push_back(*addr);
    } else {
      element.fail("expected an IPv4 address like 1.1.1.1, got " + quoted(*text));
    }
  });
}

bool check_domain(const Field& f, const std::string& name) {
  if (is_valid_domain(name)) {
    return true;
  }
  f.fail(quoted(name) + " is not a valid domain name");
  return false;
}

void read_split_dns(const Field& f, Config& c) {
  c.network.split_dns.clear();
  for_each_element(f, [&c](const Field& element) {
    auto text = read_text(element, Text::kAny);
    if (text && check_domain(element, *text)) {
      c.network.split_dns.push_back(std::move(*text));
    }
  });
}

void read_default_domain(const Field& f, Config& c) {
  auto text = read_text(f, Text::kAny);
  // Empty is the documented "none"; anything else must be a real domain.
  if (text && (text->empty() || check_domain(f, *text))) {
    c.network.default_domain = std::move(*text);
  }
}

// ocserv's restrict-user-to-ports syntax in a string; "" means none.
void read_restrict_to_ports(const Field& f, Config& c) {
  auto text = read_text(f, Text::kLine);
  if (!text) {
    return;
  }
  if (text->empty()) {
    c.network.restrict_to_ports.reset();
    return;
  }
  auto ports = parse_port_restriction(*text);
  if (!ports) {
    f.fail(ports.error().message + " in " + quoted(*text));
    return;
  }
  c.network.restrict_to_ports = std::move(ports).value();
}

void read_xdp_interface(const Field& f, Config& c) {
  auto text = read_text(f, Text::kAny);
  if (!text) {
    return;
  }
  if (!is_valid_device_name(*text)) {
    f.fail(quoted(*text) + " is not a valid interface name (1 to 15 characters, no '/', ':' or whitespace)");
    return;
  }
  c.datapath.af_xdp.interface = std::move(*text);
}

void read_eal_args(const Field& f, Config& c) {
  c.datapath.dpdk.eal_args.clear();
  for_each_element(f, [&c](const Field& element) {
    // EAL arguments are passed to rte_eal_init as argv entries: one line each, no NUL.
    if (auto text = read_text(element, Text::kNonEmptyLine)) {
      c.datapath.dpdk.eal_args.push_back(std::move(*text));
    }
  });
}

// "203.0.113.1/24": an interface's address and on-link prefix (host bits are the point here).
void read_dpdk_address(const Field& f, Config& c) {
  auto text = read_text(f, Text::kLine);
  if (!text) {
    return;
  }
  std::string_view view(*text);
  auto slash = view.find('/');
  std::optional<uint32_t> addr;
  std::optional<uint8_t> length;
  if (slash != std::string_view::npos) {
    addr = parse_ipv4(view.substr(0, slash));
    length = parse_prefix_length(view.substr(slash + 1));
  }
  if (!addr || !length || *length == 0) {
    f.fail("expected an address with its prefix length like 203.0.113.1/24, got " + quoted(view));
    return;
  }
  Ipv4Prefix prefix{*addr & Ipv4Prefix{0, *length}.netmask(), *length};
  if (*length < 31 && (*addr == prefix.network || *addr == (prefix.network | ~prefix.netmask()))) {
    f.fail(quoted(view) + " is the network or broadcast address of its prefix, not a host address");
    return;
  }
  c.datapath.dpdk.address = InterfaceAddress{*addr, *length};
}

void read_dpdk_gateway(const Field& f, Config& c) {
  auto text = read_text(f, Text::kLine);
  if (!text) {
    return;
  }
  auto addr = parse_ipv4(*text);
  if (!addr || *addr == 0) {
    f.fail("expected an IPv4 address like 203.0.113.254, got " + quoted(*text));
    return;
  }
  c.datapath.dpdk.gateway = *addr;
}

// ---- the schema: every section and key that exists; anything else is reported ----

using ReadFn = void (*)(const Field&, Config&);

struct KeySpec {
  std::string_view name;
  ReadFn read;
};

struct SectionSpec {
  std::string_view name;
  std::span<const KeySpec> keys;
};

constexpr KeySpec kServerKeys[] = {
    {"bind", read_bind},
    {"tcp_port", [](const Field& f, Config& c) { set_int(f, c.server.tcp_port, 1); }},
    {"dtls_port", [](const Field& f, Config& c) { set_int(f, c.server.dtls_port, 1); }},
    {"listen_backlog", [](const Field& f, Config& c) { set_int(f, c.server.listen_backlog, 1, kMaxListenBacklog); }},
    {"handshake_timeout", [](const Field& f, Config& c) { set_seconds(f, c.server.handshake_timeout, 1); }},
    {"request_timeout", [](const Field& f, Config& c) { set_seconds(f, c.server.request_timeout, 1); }},
    {"auth_timeout", [](const Field& f, Config& c) { set_seconds(f, c.server.auth_timeout, 1); }},
    {"max_requests_per_connection",
     [](const Field& f, Config& c) { set_int(f, c.server.max_requests_per_connection, 1); }},
    {"server_name", [](const Field& f, Config& c) { set_text(f, c.server.server_name, Text::kNonEmptyLine); }},
    {"banner", [](const Field& f, Config& c) { set_text(f, c.server.banner, Text::kAny); }},
    {"pre_login_banner", [](const Field& f, Config& c) { set_text(f, c.server.pre_login_banner, Text::kAny); }},
};

constexpr KeySpec kCryptoKeys[] = {
    {"cert_file", [](const Field& f, Config& c) { set_text(f, c.crypto.cert_file, Text::kNonEmptyLine); }},
    {"key_file", [](const Field& f, Config& c) { set_text(f, c.crypto.key_file, Text::kNonEmptyLine); }},
    {"min_tls_version", [](const Field& f, Config& c) { set_enum(f, c.crypto.min_tls_version, kTlsVersions); }},
};

// "2.5.4.3": digits separated by single dots, at least two arcs; or ocserv's SAN(rfc822name).
bool is_cert_oid(std::string_view text) {
  if (text == "SAN(rfc822name)") {
    return true;
  }
  if (text.empty() || text.front() == '.' || text.back() == '.' || text.find("..") != std::string_view::npos ||
      text.find('.') == std::string_view::npos) {
    return false;
  }
  return std::all_of(text.begin(), text.end(), [](char ch) { return (ch >= '0' && ch <= '9') || ch == '.'; });
}

void read_cert_oid(const Field& f, std::string& out, bool allow_empty) {
  auto text = read_text(f, Text::kLine);
  if (!text) {
    return;
  }
  if ((text->empty() && allow_empty) || is_cert_oid(*text)) {
    out = std::move(*text);
    return;
  }
  f.fail("expected a dotted OID like \"2.5.4.3\" (CN) or \"SAN(rfc822name)\", got " + quoted(*text));
}

// Group names travel in XML forms, logs and file names (config_per_group): printable, no '/',
// no brackets, not starting with '.'.
bool is_group_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && name.front() != '.' &&
         std::none_of(name.begin(), name.end(), [](char ch) {
           return is_control(ch) || ch == '/' || ch == '[' || ch == ']' || ch == ',' || ch == ':';
         });
}

void read_select_groups(const Field& f, Config& c) {
  c.auth.select_groups.clear();
  for_each_element(f, [&c](const Field& element) {
    auto text = read_text(element, Text::kNonEmptyLine);
    if (!text) {
      return;
    }
    std::string_view view(*text);
    SelectGroup group;
    auto open = view.find('[');
    if (open != std::string_view::npos) {
      if (view.back() != ']' || open + 2 > view.size() - 1) {
        element.fail("expected \"name\" or \"name[label]\", got " + quoted(view));
        return;
      }
      group.label = std::string(view.substr(open + 1, view.size() - open - 2));
      view = view.substr(0, open);
    }
    if (!is_group_name(view)) {
      element.fail(quoted(view) + " is not a valid group name (1 to 64 printable characters, none of / [ ] , :)");
      return;
    }
    group.name = std::string(view);
    if (group.label.empty()) {
      group.label = group.name;
    }
    for (const auto& other : c.auth.select_groups) {
      if (other.name == group.name) {
        element.fail("group " + quoted(group.name) + " is listed twice");
        return;
      }
    }
    c.auth.select_groups.push_back(std::move(group));
  });
}

void read_config_dir(const Field& f, std::string& out) {
  auto text = read_text(f, Text::kLine);
  if (text && !text->empty() && text->front() != '/') {
    f.fail("must be an absolute path (or \"\" for none), got " + quoted(*text));
  } else if (text) {
    out = std::move(*text);
  }
}

constexpr KeySpec kAuthKeys[] = {
    {"method", [](const Field& f, Config& c) { set_enum(f, c.auth.method, kAuthMethods); }},
    {"passwd_file", [](const Field& f, Config& c) { set_text(f, c.auth.passwd_file, Text::kNonEmptyLine); }},
    {"max_password_tries", [](const Field& f, Config& c) { set_int(f, c.auth.max_password_tries, 1); }},
    {"pam_service",
     [](const Field& f, Config& c) {
       // A file name in /etc/pam.d: a path here would let the config point PAM anywhere.
       auto text = read_text(f, Text::kNonEmptyLine);
       if (text && (text->find('/') != std::string::npos || *text == "." || *text == "..")) {
         f.fail("must be a service name in /etc/pam.d, not a path, got " + quoted(*text));
       } else if (text) {
         c.auth.pam_service = std::move(*text);
       }
     }},
    {"pam_gid_min", [](const Field& f, Config& c) { set_int(f, c.auth.pam_gid_min, 0); }},
    {"ca_file", [](const Field& f, Config& c) { set_text(f, c.auth.ca_file, Text::kLine); }},
    {"crl_file", [](const Field& f, Config& c) { set_text(f, c.auth.crl_file, Text::kLine); }},
    {"cert_user_oid", [](const Field& f, Config& c) { read_cert_oid(f, c.auth.cert_user_oid, false); }},
    {"cert_group_oid", [](const Field& f, Config& c) { read_cert_oid(f, c.auth.cert_group_oid, true); }},
    {"otp_file", [](const Field& f, Config& c) { set_text(f, c.auth.otp_file, Text::kLine); }},
    {"select_groups", read_select_groups},
    {"default_select_group",
     [](const Field& f, Config& c) {
       auto text = read_text(f, Text::kLine);
       if (text && !text->empty() && !is_group_name(*text)) {
         f.fail(quoted(*text) + " is not a valid group label (1 to 64 printable characters, none of / [ ] , :)");
       } else if (text) {
         c.auth.default_select_group = std::move(*text);
       }
     }},
    {"auto_select_group", [](const Field& f, Config& c) { set_bool(f, c.auth.auto_select_group); }},
    {"config_per_user", [](const Field& f, Config& c) { read_config_dir(f, c.auth.config_per_user); }},
    {"config_per_group", [](const Field& f, Config& c) { read_config_dir(f, c.auth.config_per_group); }},
};

// "host" or "host:port" (IPv4 address or DNS name; radcli resolves it). `default_port` is
// 1812 for authentication and 1813 for accounting servers.
void read_radius_servers(const Field& f, std::vector<RadiusServer>& out, uint16_t default_port) {
  out.clear();
  for_each_element(f, [&out, default_port](const Field& element) {
    auto text = read_text(element, Text::kNonEmptyLine);
    if (!text) {
      return;
    }
    RadiusServer server{*text, default_port};
    if (auto colon = text->rfind(':'); colon != std::string::npos) {
      const std::string port = text->substr(colon + 1);
      char* end = nullptr;
      unsigned long value = std::strtoul(port.c_str(), &end, 10);
      if (port.empty() || *end != '\0' || value == 0 || value > 65535 || text->find(':') != colon) {
        element.fail("must be \"host\" or \"host:port\" (port 1..65535), got " + quoted(*text));
        return;
      }
      server = RadiusServer{text->substr(0, colon), static_cast<uint16_t>(value)};
    }
    // radcli splits its server entries on ':' and ',' and spaces: such a host would be misread.
    if (server.host.empty() || server.host.find_first_of(", \t") != std::string::npos) {
      element.fail("must be \"host\" or \"host:port\", got " + quoted(*text));
      return;
    }
    out.push_back(std::move(server));
  });
}

constexpr KeySpec kRadiusKeys[] = {
    {"config", [](const Field& f, Config& c) { set_text(f, c.auth.radius.config, Text::kNonEmptyLine); }},
    {"servers", [](const Field& f, Config& c) { read_radius_servers(f, c.auth.radius.servers, 1812); }},
    {"acct_servers", [](const Field& f, Config& c) { read_radius_servers(f, c.auth.radius.acct_servers, 1813); }},
    {"secret",
     [](const Field& f, Config& c) {
       set_text(f, c.auth.radius.secret, Text::kNonEmptyLine);
       // radcli reads "host:port:secret": a ':' would cut the secret short.
       if (c.auth.radius.secret.find_first_of(":, ") != std::string::npos) {
         f.fail("must not contain ':', ',' or spaces (radcli's server syntax); use `config` for such secrets");
       }
     }},
    {"dictionary", [](const Field& f, Config& c) { set_text(f, c.auth.radius.dictionary, Text::kNonEmptyLine); }},
    {"nas_identifier", [](const Field& f, Config& c) { set_text(f, c.auth.radius.nas_identifier, Text::kNonEmptyLine); }},
    // radcli keeps the timeout in an int of seconds; beyond a minute a login would time out anyway.
    {"timeout", [](const Field& f, Config& c) { set_int(f, c.auth.radius.timeout_s, 1, 60); }},
    {"retries", [](const Field& f, Config& c) { set_int(f, c.auth.radius.retries, 0, 10); }},
    {"accounting", [](const Field& f, Config& c) { set_bool(f, c.auth.radius.accounting); }},
    {"acct_interim_interval",
     [](const Field& f, Config& c) { set_int(f, c.auth.radius.acct_interim_interval_s, 0, kMaxSeconds); }},
};

// "ldap://host[:port]" and the like, several separated by spaces (libldap tries them in order).
void read_ldap_uri(const Field& f, Config& c) {
  auto text = read_text(f, Text::kNonEmptyLine);
  if (!text) {
    return;
  }
  size_t count = 0;
  for (size_t pos = text->find_first_not_of(' '); pos != std::string::npos; pos = text->find_first_not_of(' ', pos)) {
    size_t end = text->find(' ', pos);
    std::string_view uri = std::string_view(*text).substr(pos, end == std::string::npos ? end : end - pos);
    pos = end;
    ++count;
    if (!uri.starts_with("ldap://") && !uri.starts_with("ldaps://") && !uri.starts_with("ldapi://")) {
      f.fail("must be ldap://, ldaps:// or ldapi:// URIs, got " + quoted(uri));
      return;
    }
  }
  if (count == 0) {
    f.fail("must not be empty");
    return;
  }
  c.auth.ldap.uri = std::move(*text);
}

// A DN or filter template: one line; `need` (like "%u") must appear, or every user would map to
// the same DN or entry.
void read_ldap_template(const Field& f, std::string& out, const char* need) {
  auto text = read_text(f, Text::kNonEmptyLine);
  if (text && need != nullptr && text->find(need) == std::string::npos) {
    f.fail(std::string("must contain ") + need + " (the user name), got " + quoted(*text));
  } else if (text) {
    out = std::move(*text);
  }
}

constexpr KeySpec kLdapKeys[] = {
    {"uri", read_ldap_uri},
    {"bind_dn", [](const Field& f, Config& c) { read_ldap_template(f, c.auth.ldap.bind_dn, "%u"); }},
    {"base_dn", [](const Field& f, Config& c) { set_text(f, c.auth.ldap.base_dn, Text::kNonEmptyLine); }},
    {"user_filter", [](const Field& f, Config& c) { read_ldap_template(f, c.auth.ldap.user_filter, "%u"); }},
    {"search_bind_dn", [](const Field& f, Config& c) { set_text(f, c.auth.ldap.search_bind_dn, Text::kNonEmptyLine); }},
    {"search_bind_password",
     [](const Field& f, Config& c) { set_text(f, c.auth.ldap.search_bind_password, Text::kNonEmptyLine); }},
    {"search_bind_password_file",
     [](const Field& f, Config& c) { set_text(f, c.auth.ldap.search_bind_password_file, Text::kNonEmptyLine); }},
    {"group_base_dn", [](const Field& f, Config& c) { set_text(f, c.auth.ldap.group_base_dn, Text::kLine); }},
    {"group_filter", [](const Field& f, Config& c) { read_ldap_template(f, c.auth.ldap.group_filter, nullptr); }},
    {"group_attribute",
     [](const Field& f, Config& c) { set_text(f, c.auth.ldap.group_attribute, Text::kNonEmptyLine); }},
    {"start_tls", [](const Field& f, Config& c) { set_bool(f, c.auth.ldap.start_tls); }},
    {"ca_file", [](const Field& f, Config& c) { set_text(f, c.auth.ldap.ca_file, Text::kLine); }},
    // A login waits for this per operation (connect, bind, search): beyond a minute it times out anyway.
    {"timeout", [](const Field& f, Config& c) { set_int(f, c.auth.ldap.timeout_s, 1, 60); }},
};

constexpr KeySpec kNetworkKeys[] = {
    {"device", read_device},
    {"ipv4_network", read_ipv4_network},
    {"ipv6_network", read_ipv6_network},
    {"ipv6_subnet_prefix",
     [](const Field& f, Config& c) { set_int(f, c.network.ipv6_subnet_prefix, kMinPool6Prefix + 1, 128); }},
    {"routes", read_routes},
    {"restrict_to_routes", [](const Field& f, Config& c) { set_bool(f, c.network.restrict_to_routes); }},
    {"restrict_to_ports", read_restrict_to_ports},
    {"dns_servers", read_dns_servers},
    {"split_dns", read_split_dns},
    {"default_domain", read_default_domain},
    {"mtu", [](const Field& f, Config& c) { set_int(f, c.network.mtu, kMinMtu, kMaxMtu); }},
};

void read_ban_exempt(const Field& f, Config& c) {
  c.security.ban_exempt.clear();
  for_each_element(f, [&c](const Field& element) {
    if (auto text = read_text(element, Text::kAny)) {
      if (auto prefix = read_prefix(element, *text, 0, 32)) {
        c.security.ban_exempt.push_back(*prefix);
      }
    }
  });
}

// 10 Gbit/s in bytes: far above what one session can carry, and keeps the token bucket's
// nanosecond arithmetic (bytes x 1e9) inside 64 bits (lib/datapath rate_limit.hpp).
constexpr int64_t kMaxRateLimit = int64_t{1250} * 1000 * 1000;

constexpr KeySpec kSecurityKeys[] = {
    {"max_ban_score", [](const Field& f, Config& c) { set_int(f, c.security.max_ban_score, 0); }},
    {"ban_reset_time", [](const Field& f, Config& c) { set_seconds(f, c.security.ban_reset_time, 1); }},
    {"ban_time", [](const Field& f, Config& c) { set_seconds(f, c.security.ban_time, 1); }},
    {"ban_points_wrong_password",
     [](const Field& f, Config& c) { set_int(f, c.security.ban_points_wrong_password, 0); }},
    {"ban_points_connection", [](const Field& f, Config& c) { set_int(f, c.security.ban_points_connection, 0); }},
    {"ban_exempt", read_ban_exempt},
};

constexpr KeySpec kSessionKeys[] = {
    {"max_clients", [](const Field& f, Config& c) { set_int(f, c.session.max_clients, 0); }},
    {"max_same_clients", [](const Field& f, Config& c) { set_int(f, c.session.max_same_clients, 0); }},
    {"cookie_timeout", [](const Field& f, Config& c) { set_seconds(f, c.session.cookie_timeout, 1); }},
    {"dpd", [](const Field& f, Config& c) { set_seconds(f, c.session.dpd, 1); }},
    {"keepalive", [](const Field& f, Config& c) { set_seconds(f, c.session.keepalive, 1); }},
    {"idle_timeout", [](const Field& f, Config& c) { set_seconds(f, c.session.idle_timeout, 0); }},
    {"session_timeout", [](const Field& f, Config& c) { set_seconds(f, c.session.session_timeout, 0); }},
    {"rx_rate_limit", [](const Field& f, Config& c) { set_u64(f, c.session.rx_rate_limit, kMaxRateLimit); }},
    {"tx_rate_limit", [](const Field& f, Config& c) { set_u64(f, c.session.tx_rate_limit, kMaxRateLimit); }},
    {"quota_bytes",
     [](const Field& f, Config& c) { set_u64(f, c.session.quota_bytes, std::numeric_limits<int64_t>::max()); }},
    {"predictable_ips", [](const Field& f, Config& c) { set_bool(f, c.session.predictable_ips); }},
    {"connect_script", [](const Field& f, Config& c) { read_script(f, c.session.connect_script); }},
    {"disconnect_script", [](const Field& f, Config& c) { read_script(f, c.session.disconnect_script); }},
    {"script_timeout", [](const Field& f, Config& c) { set_seconds(f, c.session.script_timeout, 1); }},
    {"rekey_time", [](const Field& f, Config& c) { set_seconds(f, c.session.rekey_time, 0); }},
    {"rekey_method", [](const Field& f, Config& c) { set_enum(f, c.session.rekey_method, kRekeyMethods); }},
    {"persistent_cookies", [](const Field& f, Config& c) { set_bool(f, c.session.persistent_cookies); }},
    {"deny_roaming", [](const Field& f, Config& c) { set_bool(f, c.session.deny_roaming); }},
};

constexpr KeySpec kDtlsKeys[] = {
    {"enabled", [](const Field& f, Config& c) { set_bool(f, c.dtls.enabled); }},
    {"mode", [](const Field& f, Config& c) { set_enum(f, c.dtls.mode, kDtlsModes); }},
};

void read_compression_algorithms(const Field& f, Config& c) {
  auto& list = c.compression.algorithms;
  list.clear();
  for_each_element(f, [&list](const Field& element) {
    const size_t errors_before = element.ctx->errors.size();
    CompressionAlgorithm algorithm = CompressionAlgorithm::kLz4;
    set_enum(element, algorithm, kCompressionAlgorithms);
    if (element.ctx->errors.size() != errors_before) {
      return;
    }
    if (std::find(list.begin(), list.end(), algorithm) != list.end()) {
      element.fail(quoted(name_of(kCompressionAlgorithms, algorithm)) + " is listed twice");
      return;
    }
    list.push_back(algorithm);
  });
}

// Below 64 bytes nothing an IP packet carries compresses (ocserv's minimum); above 16384 no
// packet is large enough to be compressed at all.
constexpr int64_t kMinCompressSize = 64;
constexpr int64_t kMaxCompressSize = 16384;

constexpr KeySpec kCompressionKeys[] = {
    {"enabled", [](const Field& f, Config& c) { set_bool(f, c.compression.enabled); }},
    {"algorithms", read_compression_algorithms},
    {"min_size",
     [](const Field& f, Config& c) { set_int(f, c.compression.min_size, kMinCompressSize, kMaxCompressSize); }},
};

constexpr KeySpec kDatapathKeys[] = {
    {"driver", [](const Field& f, Config& c) { set_enum(f, c.datapath.driver, kDrivers); }},
};

// One XSK per queue; 64 matches the TUN queue limit.
constexpr int64_t kMaxXdpQueues = 64;
// Frames per queue: both rings are sized from it and must stay powers of two.
constexpr int64_t kMinXdpFrames = 256;
constexpr int64_t kMaxXdpFrames = 65536;

constexpr KeySpec kAfXdpKeys[] = {
    {"interface", read_xdp_interface},
    {"queues", [](const Field& f, Config& c) { set_int(f, c.datapath.af_xdp.queues, 1, kMaxXdpQueues); }},
    {"xdp_mode", [](const Field& f, Config& c) { set_enum(f, c.datapath.af_xdp.xdp_mode, kXdpModes); }},
    {"zero_copy", [](const Field& f, Config& c) { set_enum(f, c.datapath.af_xdp.zero_copy, kZeroCopyModes); }},
    {"frames_per_queue",
     [](const Field& f, Config& c) {
       set_int(f, c.datapath.af_xdp.frames_per_queue, kMinXdpFrames, kMaxXdpFrames);
       if (!std::has_single_bit(c.datapath.af_xdp.frames_per_queue)) {
         f.fail("must be a power of two (the XSK rings are sized from it)");
       }
     }},
};

// A mempool below a few bursts per queue cannot even fill the RX rings.
constexpr int64_t kMinMbufs = 1024;
// DPDK descriptor rings: the PMD rounds or rejects odd sizes; these bounds suit every vdev we test.
constexpr int64_t kMinDescriptors = 64;
constexpr int64_t kMaxDescriptors = 8192;

constexpr KeySpec kDpdkKeys[] = {
    {"eal_args", read_eal_args},
    {"port", [](const Field& f, Config& c) { set_int(f, c.datapath.dpdk.port, 0); }},
    {"address", read_dpdk_address},
    {"gateway", read_dpdk_gateway},
    {"tap_name", [](const Field& f, Config& c) {
       auto text = read_text(f, Text::kAny);
       if (text && !is_valid_device_name(*text)) {
         f.fail(quoted(*text) + " is not a valid interface name (1 to 15 characters, no '/', ':' or whitespace)");
       } else if (text) {
         c.datapath.dpdk.tap_name = std::move(*text);
       }
     }},
    {"mbufs",
     [](const Field& f, Config& c) {
       set_int(f, c.datapath.dpdk.mbufs, 0);
       if (c.datapath.dpdk.mbufs != 0 && c.datapath.dpdk.mbufs < kMinMbufs) {
         f.fail("must be 0 (computed) or at least " + std::to_string(kMinMbufs));
       }
     }},
    {"rx_descriptors",
     [](const Field& f, Config& c) { set_int(f, c.datapath.dpdk.rx_descriptors, kMinDescriptors, kMaxDescriptors); }},
    {"tx_descriptors",
     [](const Field& f, Config& c) { set_int(f, c.datapath.dpdk.tx_descriptors, kMinDescriptors, kMaxDescriptors); }},
};

constexpr KeySpec kMonitoringKeys[] = {
    {"log_level", [](const Field& f, Config& c) { set_enum(f, c.monitoring.log_level, kLogLevels); }},
    {"control_socket", read_control_socket},
    {"enable_prometheus", [](const Field& f, Config& c) { set_bool(f, c.monitoring.enable_prometheus); }},
    {"stats_bind", read_stats_bind},
    {"stats_port", [](const Field& f, Config& c) { set_int(f, c.monitoring.stats_port, 1); }},
    {"per_user_metrics", [](const Field& f, Config& c) { set_bool(f, c.monitoring.per_user_metrics); }},
};

constexpr KeySpec kPerformanceKeys[] = {
    {"tun_queues", [](const Field& f, Config& c) { set_int(f, c.performance.tun_queues, 1, kMaxTunQueues); }},
};

constexpr SectionSpec kSections[] = {
    {"server", kServerKeys},
    {"crypto", kCryptoKeys},
    {"auth", kAuthKeys},
    {"network", kNetworkKeys},
    {"security", kSecurityKeys},
    {"session", kSessionKeys},
    {"dtls", kDtlsKeys},
    {"datapath", kDatapathKeys},
    {"monitoring", kMonitoringKeys},
    {"performance", kPerformanceKeys},
    {"compression", kCompressionKeys},
    // Sub-tables ([datapath.af_xdp]): found by their dotted name when the parent has no such key.
    {"datapath.af_xdp", kAfXdpKeys},
    {"datapath.dpdk", kDpdkKeys},
    {"auth.radius", kRadiusKeys},
    {"auth.ldap", kLdapKeys},
};

const SectionSpec* find_section(std::string_view name) {
  for (const auto& section : kSections) {
    if (section.name == name) {
      return &section;
    }
  }
  return nullptr;
}

const KeySpec* find_key(const SectionSpec& section, std::string_view name) {
  for (const auto& key : section.keys) {
    if (key.name == name) {
      return &key;
    }
  }
  return nullptr;
}

void read_section(const SectionSpec& spec, const toml::table& table, Context& ctx) {
  for (const auto& [key, node] : table) {
    std::string path = std::string(spec.name) + "." + std::string(key.str());
    const KeySpec* key_spec = find_key(spec, key.str());
    if (key_spec == nullptr && node.is_table()) {
      if (const SectionSpec* sub = find_section(path)) {
        read_section(*sub, *node.as_table(), ctx);
        continue;
      }
    }
    if (key_spec == nullptr) {
      // The key's own position: a nested table's node may point elsewhere.
      ctx.errors.push_back(ConfigError{path, line_of(key.source()),
                                       "unknown key " + quoted(key.str()) + " in [" + std::string(spec.name) + "]"});
      continue;
    }
    uint32_t line = line_of(node, key);
    ctx.lines[path] = line;
    key_spec->read(Field{node, std::move(path), line, &ctx}, ctx.config);
  }
}

void read_document(const toml::table& root, Context& ctx) {
  for (const auto& [key, node] : root) {
    std::string name(key.str());
    const SectionSpec* spec = name.find('.') == std::string::npos ? find_section(name) : nullptr;
    uint32_t line = line_of(key.source());
    if (spec == nullptr) {
      std::string message =
          node.is_table() ? "unknown section [" + name + "]" : "unknown key " + quoted(name) + " outside any section";
      ctx.errors.push_back(ConfigError{name, line, std::move(message)});
      continue;
    }
    if (!node.is_table()) {
      ctx.errors.push_back(ConfigError{name, line, "expected a table ([" + name + "]), got " + type_name(node.type())});
      continue;
    }
    read_section(*spec, *node.as_table(), ctx);
  }
}

// IPv6 keys that only make sense together (ipv6_network, ipv6_subnet_prefix, IPv6 routes/DNS).
template <typename Line>
void validate_ipv6(Context& ctx, const Line& line) {
  const NetworkConfig& n = ctx.config.network;
  auto fail = [&](const char* key, std::string why) {
    ctx.errors.push_back(ConfigError{key, line(key), std::move(why)});
  };
  if (!n.ipv6_network) {
    if (ctx.lines.count("network.ipv6_subnet_prefix") != 0) {
      fail("network.ipv6_subnet_prefix", "needs network.ipv6_network (there is no IPv6 pool to cut subnets from)");
    }
    if (!n.routes6.empty()) {
      fail("network.routes", "IPv6 routes need network.ipv6_network (clients get no IPv6 address to use them)");
    }
    if (!n.dns_servers6.empty()) {
      fail("network.dns_servers", "IPv6 DNS servers need network.ipv6_network (clients get no IPv6 address)");
    }
    return;
  }
  const auto& pool6 = *n.ipv6_network;
  if (n.ipv6_subnet_prefix <= pool6.length) {
    fail("network.ipv6_subnet_prefix", "must be longer than the ipv6_network prefix /" + std::to_string(pool6.length) +
                                           ", got " + std::to_string(n.ipv6_subnet_prefix));
    return;
  }
  // The subnet index is the IPv4 pool index, so every IPv4 lease needs a subnet of its own.
  const unsigned subnet_bits = n.ipv6_subnet_prefix - pool6.length;
  const unsigned ipv4_bits = 32u - n.ipv4_network.length;
  if (subnet_bits < ipv4_bits) {
    fail("network.ipv6_network",
         format_ipv6_prefix(pool6.network, pool6.length) + " holds 2^" + std::to_string(subnet_bits) + " /" +
             std::to_string(n.ipv6_subnet_prefix) + " subnets, fewer than the 2^" + std::to_string(ipv4_bits) +
             " addresses of ipv4_network; use a shorter ipv6_network or a longer ipv6_subnet_prefix");
  }
  // The kernel disables IPv6 on links with an MTU below the IPv6 minimum (RFC 8200).
  if (n.mtu < 1280) {
    fail("network.mtu", "must be at least 1280 with ipv6_network (the IPv6 minimum MTU), got " + std::to_string(n.mtu));
  }
}

// [auth.ldap]: exactly one way to find the user's DN, and settings that belong to it.
template <typename Line>
void validate_ldap(Context& ctx, const Line& line) {
  const AuthConfig& auth = ctx.config.auth;
  const LdapConfig& l = auth.ldap;
  auto fail = [&](const char* key, const char* at, std::string why) {
    ctx.errors.push_back(ConfigError{key, line(at), std::move(why)});
  };
  if (!auth.uses_ldap()) {
    // Settings that look active and do nothing: reported at the first of them.
    uint32_t first = 0;
    for (const auto& [key, at] : ctx.lines) {
      if (key.starts_with("auth.ldap.") && (first == 0 || at < first)) {
        first = at;
      }
    }
    if (first != 0) {
      ctx.errors.push_back(ConfigError{"auth.ldap", first, "[auth.ldap] needs method = \"ldap\""});
    }
    return;
  }
  // By presence of the key: a value already refused while reading is not reported again as missing.
  auto given = [&ctx](const char* key) { return ctx.lines.count(key) != 0; };
  if (!given("auth.ldap.uri")) {
    fail("auth.ldap.uri", "auth.method", "is required with method = \"ldap\"");
    return;
  }
  const bool direct = given("auth.ldap.bind_dn");
  if (direct == given("auth.ldap.base_dn")) {
    fail("auth.ldap.bind_dn", direct ? "auth.ldap.bind_dn" : "auth.method",
         direct ? "excludes base_dn: set bind_dn (direct bind) or base_dn (search then bind), not both"
                : "one of bind_dn (direct bind) or base_dn (search then bind) is required");
    return;
  }
  const std::pair<const char*, const std::string*> search_keys[] = {
      {"auth.ldap.search_bind_dn", &l.search_bind_dn},
      {"auth.ldap.search_bind_password", &l.search_bind_password},
      {"auth.ldap.search_bind_password_file", &l.search_bind_password_file}};
  if (direct) {
    for (const auto& [key, value] : search_keys) {
      if (!value->empty()) {
        fail(key, key, "needs base_dn (search then bind); with bind_dn the user binds directly");
      }
    }
    if (ctx.lines.count("auth.ldap.user_filter") != 0) {
      fail("auth.ldap.user_filter", "auth.ldap.user_filter", "needs base_dn (search then bind)");
    }
  } else {
    if (!l.search_bind_password.empty() && !l.search_bind_password_file.empty()) {
      fail("auth.ldap.search_bind_password", "auth.ldap.search_bind_password",
           "excludes search_bind_password_file; set one of them");
    }
    const bool has_password = !l.search_bind_password.empty() || !l.search_bind_password_file.empty();
    if (!l.search_bind_dn.empty() && !has_password) {
      // A DN with an empty password is an unauthenticated bind: it would search anonymously.
      fail("auth.ldap.search_bind_password", "auth.ldap.search_bind_dn",
           "is required with search_bind_dn (or search_bind_password_file)");
    }
    if (l.search_bind_dn.empty() && has_password) {
      fail("auth.ldap.search_bind_dn",
           l.search_bind_password.empty() ? "auth.ldap.search_bind_password_file" : "auth.ldap.search_bind_password",
           "is required with a search bind password");
    }
  }
  const bool ldaps = l.uri.find("ldaps://") != std::string::npos;
  if (l.start_tls && ldaps) {
    fail("auth.ldap.start_tls", "auth.ldap.start_tls", "ldaps:// is TLS already; use ldap:// with start_tls");
  }
  if (!l.ca_file.empty() && !l.start_tls && !ldaps) {
    fail("auth.ldap.ca_file", "auth.ldap.ca_file", "needs an ldaps:// uri or start_tls = true");
  }
}

// Checks that need the whole Config rather than one value. Runs after reading, so it uses recorded lines.
void validate(Context& ctx) {
  const Config& c = ctx.config;
  auto line = [&ctx](const char* key) {
    auto it = ctx.lines.find(key);
    return it == ctx.lines.end() ? 0 : it->second;
  };
  auto missing = [&](const char* key, const char* why) {
    ctx.errors.push_back(ConfigError{key, line("datapath.driver"), why});
  };
  if (c.auth.uses_certificate() && c.auth.ca_file.empty()) {
    ctx.errors.push_back(ConfigError{"auth.ca_file", line("auth.method"),
                                     "is required with a certificate method (the CA that signs client certificates)"});
  }
  if (!c.auth.uses_certificate()) {
    // Certificate settings without a certificate method would look active and do nothing.
    const std::pair<const char*, const std::string*> cert_keys[] = {
        {"auth.ca_file", &c.auth.ca_file}, {"auth.crl_file", &c.auth.crl_file},
        {"auth.cert_group_oid", &c.auth.cert_group_oid}};
    for (const auto& [key, value] : cert_keys) {
      if (!value->empty()) {
        ctx.errors.push_back(ConfigError{key, line(key), "needs method = \"certificate\", \"plain+certificate\" or \"pam+certificate\""});
      }
    }
  }
  const RadiusConfig& radius = c.auth.radius;
  if ((c.auth.uses_radius() || radius.accounting) && !radius.configured()) {
    const char* key = c.auth.uses_radius() ? "auth.method" : "auth.radius.accounting";
    ctx.errors.push_back(ConfigError{"auth.radius.servers", line(key),
                                     "is required with method = \"radius\" or accounting (or auth.radius.config)"});
  }
  if (!radius.config.empty() && (!radius.servers.empty() || !radius.acct_servers.empty() || !radius.secret.empty())) {
    ctx.errors.push_back(ConfigError{"auth.radius.config", line("auth.radius.config"),
                                     "takes servers and secret from the radcli file; drop servers/acct_servers/secret"});
  }
  if (!radius.servers.empty() && radius.secret.empty()) {
    ctx.errors.push_back(ConfigError{"auth.radius.secret", line("auth.radius.servers"), "is required with servers"});
  }
  if (radius.acct_interim_interval_s != 0 && !radius.accounting) {
    ctx.errors.push_back(ConfigError{"auth.radius.acct_interim_interval", line("auth.radius.acct_interim_interval"),
                                     "needs accounting = true"});
  }
  validate_ldap(ctx, line);
  if (!c.auth.otp_file.empty() && !c.auth.uses_password()) {
    // The code is the second factor after a password; certificate-only logins have no form.
    ctx.errors.push_back(ConfigError{"auth.otp_file", line("auth.otp_file"),
                                     "needs a password method (\"plain\", \"pam\" or their \"+certificate\" forms)"});
  }
  if (c.auth.cert_group_oid == "SAN(rfc822name)") {
    ctx.errors.push_back(ConfigError{"auth.cert_group_oid", line("auth.cert_group_oid"),
                                     "must be a subject attribute OID such as \"2.5.4.11\" (OU)"});
  }
  if (!c.auth.default_select_group.empty()) {
    for (const auto& g : c.auth.select_groups) {
      if (g.label == c.auth.default_select_group) {
        ctx.errors.push_back(ConfigError{"auth.default_select_group", line("auth.default_select_group"),
                                         "'" + g.label + "' is already the label of a select_groups entry"});
      }
    }
  }
  if (c.datapath.driver == Driver::kAfXdp && c.datapath.af_xdp.interface.empty()) {
    missing("datapath.af_xdp.interface", "is required with driver = \"af_xdp\" (the interface clients reach)");
  }
  if (c.datapath.driver == Driver::kDpdk) {
    const DpdkConfig& d = c.datapath.dpdk;
    if (d.eal_args.empty()) {
      missing("datapath.dpdk.eal_args", "is required with driver = \"dpdk\" (at least the lcore list, e.g. [\"-l\", \"1\"])");
    }
    if (d.address.address == 0) {
      missing("datapath.dpdk.address", "is required with driver = \"dpdk\" (the appliance's address, e.g. \"203.0.113.1/24\")");
    }
  }
  validate_ipv6(ctx, line);
  // An empty list would enable compression and never negotiate it; unless the list's own
  // elements were already reported.
  if (c.compression.enabled && c.compression.algorithms.empty() &&
      std::none_of(ctx.errors.begin(), ctx.errors.end(),
                   [](const ConfigError& e) { return e.key.starts_with("compression.algorithms"); })) {
    ctx.errors.push_back(ConfigError{"compression.algorithms", line("compression.algorithms"),
                                     "must name at least one algorithm (\"oc-lz4\", \"lzs\") with enabled = true"});
  }
  // A wrong gateway is wrong whichever driver is selected today.
  const DpdkConfig& d = c.datapath.dpdk;
  if (d.address.address != 0 && d.gateway != 0) {
    Ipv4Prefix link{d.address.address & Ipv4Prefix{0, d.address.prefix_length}.netmask(), d.address.prefix_length};
    if (!link.contains(d.gateway) || d.gateway == d.address.address) {
      ctx.errors.push_back(ConfigError{"datapath.dpdk.gateway", line("datapath.dpdk.gateway"),
                                       format_ipv4(d.gateway) + " is not another host on the port's link " +
                                           format_ipv4(link.network) + "/" + std::to_string(link.length)});
    }
  }
}

ParseResult failed(std::vector<ConfigError> errors) { return ParseResult{nullptr, std::move(errors)}; }

ParseResult parse_document(std::string_view toml_text, std::string_view source_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    return failed({ConfigError{"", line_of(e.source()), std::string(e.description())}});
  }
  Context ctx;
  read_document(root, ctx);
  validate(ctx);
  if (!ctx.errors.empty()) {
    // The table iterates keys alphabetically; file order is what a reader of the file expects.
    std::stable_sort(ctx.errors.begin(), ctx.errors.end(),
                     [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
    return failed(std::move(ctx.errors));
  }
  return ParseResult{std::make_shared<const Config>(std::move(ctx.config)), {}};
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

std::string cannot_read(const std::string& path, int error) {
  return "cannot read '" + path + "': " + std::generic_category().message(error);
}

// Returns an error message, or nullopt with the contents in `out`.
std::optional<std::string> read_whole_file(const std::string& path, std::string& out) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return cannot_read(path, errno);
  }
  char buffer[16384];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return cannot_read(path, errno);
    }
    if (n == 0) {
      return std::nullopt;
    }
    out.append(buffer, static_cast<size_t>(n));
    if (out.size() > kMaxFileBytes) {
      return "cannot read '" + path + "': larger than " + std::to_string(kMaxFileBytes) + " bytes";
    }
  }
}

ParseResult internal_error(const char* what) {
  return failed({ConfigError{"", 0, std::string("internal error while reading the config: ") + what}});
}

}  // namespace

std::vector<std::string> known_keys() {
  std::vector<std::string> keys;
  for (const auto& section : kSections) {
    for (const auto& key : section.keys) {
      keys.push_back(std::string(section.name) + "." + std::string(key.name));
    }
  }
  return keys;
}

std::string format_error(std::string_view source_name, const ConfigError& error) {
  std::string out(source_name);
  if (error.line != 0) {
    out += ":" + std::to_string(error.line);
  }
  out += ": ";
  if (!error.key.empty()) {
    out += error.key + ": ";
  }
  out += error.message;
  return out;
}

ParseResult parse(std::string_view toml_text, std::string_view source_name) {
  // Only allocation failure can get here; the component promises callers no exceptions.
  try {
    return parse_document(toml_text, source_name);
  } catch (const std::exception& e) {
    return internal_error(e.what());
  }
}

ParseResult parse_file(const std::string& path) {
  try {
    std::string text;
    if (auto error = read_whole_file(path, text)) {
      return failed({ConfigError{"", 0, std::move(*error)}});
    }
    return parse(text, path);
  } catch (const std::exception& e) {
    return internal_error(e.what());
  }
}

}  // namespace ocm::config
