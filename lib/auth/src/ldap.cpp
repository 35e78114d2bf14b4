#include "ocm/auth/ldap.hpp"

#include <fcntl.h>
#include <ldap.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "ocm/base/bytes.hpp"

namespace ocm::auth {
namespace detail {

namespace {

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

void append_hex_escape(std::string& out, unsigned char c) {
  constexpr char kHex[] = "0123456789abcdef";
  out += '\\';
  out += kHex[c >> 4];
  out += kHex[c & 0x0f];
}

}  // namespace

std::string escape_filter_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0') {
      append_hex_escape(out, c);
    } else {
      out += ch;
    }
  }
  return out;
}

std::string escape_dn_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const char ch = value[i];
    const bool special = std::string_view("\"+,;<=>\\").find(ch) != std::string_view::npos;
    const bool leading = i == 0 && (ch == ' ' || ch == '#');
    const bool trailing = i + 1 == value.size() && ch == ' ';
    if (ch == '\0') {
      append_hex_escape(out, 0);
      continue;
    }
    if (special || leading || trailing) {
      out += '\\';
    }
    out += ch;
  }
  return out;
}

std::string expand_template(std::string_view tmpl, std::string_view user, std::string_view dn) {
  std::string out;
  out.reserve(tmpl.size() + user.size());
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '%' && i + 1 < tmpl.size()) {
      const char next = tmpl[i + 1];
      if (next == 'u' || next == 'd' || next == '%') {
        out += next == 'u' ? user : next == 'd' ? dn : std::string_view("%");
        ++i;
        continue;
      }
    }
    out += tmpl[i];
  }
  return out;
}

bool valid_username(std::string_view username) {
  // 256 bytes: longer than any directory's uid, short enough to keep filters and DNs small.
  constexpr size_t kMaxUsername = 256;
  if (username.empty() || username.size() > kMaxUsername) {
    return false;
  }
  return std::none_of(username.begin(), username.end(),
                      [](char c) { return is_control(static_cast<unsigned char>(c)); });
}

}  // namespace detail

namespace {

// Group names become per-group config file names and ocmctl output (as radius.cpp's Class groups).
constexpr size_t kMaxGroupName = 64;
// A user in more groups than this is a directory mistake; the first ones are enough to choose from.
constexpr int kMaxGroups = 256;
// The service account's password file: one line.
constexpr size_t kMaxPasswordFile = 4096;

bool usable_group(std::string_view g) {
  if (g.empty() || g.size() > kMaxGroupName || g == "." || g == "..") {
    return false;
  }
  return std::none_of(g.begin(), g.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '/'; });
}

// The handle of one login: unbound (which also closes the connection) on every path.
struct LdapHandle {
  LDAP* ld = nullptr;
  LdapHandle() = default;
  LdapHandle(const LdapHandle&) = delete;
  LdapHandle& operator=(const LdapHandle&) = delete;
  ~LdapHandle() {
    if (ld != nullptr) {
      ldap_unbind_ext_s(ld, nullptr, nullptr);
    }
  }
};

// A search result (ldap_search_ext_s may hand one back even when it fails).
struct LdapMessage {
  LDAPMessage* msg = nullptr;
  LdapMessage() = default;
  LdapMessage(const LdapMessage&) = delete;
  LdapMessage& operator=(const LdapMessage&) = delete;
  ~LdapMessage() {
    if (msg != nullptr) {
      ldap_msgfree(msg);
    }
  }
};

// "Invalid credentials (diagnostic from the server)".
std::string describe(LDAP* ld, int rc) {
  std::string out = ldap_err2string(rc);
  char* diag = nullptr;
  if (ld != nullptr &&
      ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, static_cast<void*>(&diag)) == LDAP_OPT_SUCCESS &&
      diag != nullptr) {
    if (*diag != '\0') {
      out += std::string(" (") + diag + ")";
    }
    ldap_memfree(diag);
  }
  return out;
}

std::optional<std::string> read_password_file(const std::string& path, std::string& reason) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    reason = "cannot read search_bind_password_file " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  char buffer[512];
  ssize_t n = 0;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0 && text.size() <= kMaxPasswordFile) {
    text.append(buffer, static_cast<size_t>(n));
  }
  int read_errno = errno;
  ::close(fd);
  secure_zero(buffer, sizeof buffer);
  if (n < 0 || text.size() > kMaxPasswordFile) {
    reason = "cannot read search_bind_password_file " + path + ": " +
             (n < 0 ? std::strerror(read_errno) : "larger than 4096 bytes");
    secure_zero(text.data(), text.size());
    return std::nullopt;
  }
  // One line, as `echo secret > file` writes it.
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  if (text.empty()) {
    reason = "search_bind_password_file " + path + " is empty";
    return std::nullopt;
  }
  return text;
}

// A simple bind; `password` is never empty here (checked by every caller).
int simple_bind(LDAP* ld, const std::string& dn, std::string_view password) {
  berval cred{};
  cred.bv_len = static_cast<ber_len_t>(password.size());
  cred.bv_val = const_cast<char*>(password.data());  // NOLINT(cppcoreguidelines-pro-type-const-cast): read only
  return ldap_sasl_bind_s(ld, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
}

bool open_connection(const config::LdapConfig& cfg, LdapHandle& h, std::string& reason) {
  int rc = ldap_initialize(&h.ld, cfg.uri.c_str());
  if (rc != LDAP_SUCCESS || h.ld == nullptr) {
    reason = "ldap_initialize(" + cfg.uri + "): " + ldap_err2string(rc);
    return false;
  }
  const int version = LDAP_VERSION3;
  timeval timeout{static_cast<time_t>(cfg.timeout_s), 0};
  if (ldap_set_option(h.ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
      ldap_set_option(h.ld, LDAP_OPT_NETWORK_TIMEOUT, &timeout) != LDAP_OPT_SUCCESS ||
      ldap_set_option(h.ld, LDAP_OPT_TIMEOUT, &timeout) != LDAP_OPT_SUCCESS ||
      // A referral would be followed with an anonymous bind to a server we were not told about.
      ldap_set_option(h.ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS) {
    reason = "cannot set LDAP options";
    return false;
  }
  const bool tls = cfg.start_tls || cfg.uri.find("ldaps://") != std::string::npos;
  if (tls) {
    const int demand = LDAP_OPT_X_TLS_DEMAND;
    const int client = 0;  // LDAP_OPT_X_TLS_NEWCTX: 0 = a client context
    if (ldap_set_option(h.ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
        (!cfg.ca_file.empty() &&
         ldap_set_option(h.ld, LDAP_OPT_X_TLS_CACERTFILE, cfg.ca_file.c_str()) != LDAP_OPT_SUCCESS) ||
        ldap_set_option(h.ld, LDAP_OPT_X_TLS_NEWCTX, &client) != LDAP_OPT_SUCCESS) {
      reason =
          "cannot set up TLS (ca_file " + (cfg.ca_file.empty() ? std::string("system default") : cfg.ca_file) + ")";
      return false;
    }
  }
  if (cfg.start_tls) {
    rc = ldap_start_tls_s(h.ld, nullptr, nullptr);
    if (rc != LDAP_SUCCESS) {
      reason = "StartTLS: " + describe(h.ld, rc);
      return false;
    }
  }
  return true;
}

// Search then bind, step one: the one entry user_filter finds under base_dn.
std::optional<std::string> find_user_dn(const config::LdapConfig& cfg, LDAP* ld, const std::string& username,
                                        std::string& reason) {
  if (!cfg.search_bind_dn.empty()) {
    std::string password = cfg.search_bind_password;
    if (password.empty()) {
      auto from_file = read_password_file(cfg.search_bind_password_file, reason);
      if (!from_file) {
        return std::nullopt;
      }
      password = std::move(*from_file);
    }
    int rc = simple_bind(ld, cfg.search_bind_dn, password);
    secure_zero(password.data(), password.size());
    if (rc != LDAP_SUCCESS) {
      reason = "bind as search_bind_dn " + cfg.search_bind_dn + ": " + describe(ld, rc);
      return std::nullopt;
    }
  }
  const std::string filter = detail::expand_template(cfg.user_filter, detail::escape_filter_value(username), "");
  char no_attributes[] = LDAP_NO_ATTRS;  // "1.1": only the DN is needed
  char* attrs[] = {no_attributes, nullptr};
  timeval timeout{static_cast<time_t>(cfg.timeout_s), 0};
  LdapMessage res;
  // Size limit 2: enough to tell "exactly one" from "more than one".
  int rc = ldap_search_ext_s(ld, cfg.base_dn.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs, 1, nullptr, nullptr,
                             &timeout, 2, &res.msg);
  if (rc == LDAP_SIZELIMIT_EXCEEDED) {
    reason = "more than one entry under " + cfg.base_dn + " matches " + filter;
    return std::nullopt;
  }
  if (rc != LDAP_SUCCESS) {
    reason = "search for " + filter + " under " + cfg.base_dn + ": " + describe(ld, rc);
    return std::nullopt;
  }
  const int count = ldap_count_entries(ld, res.msg);
  if (count != 1) {
    reason = (count == 0 ? "no entry" : "more than one entry") + (" under " + cfg.base_dn + " matches " + filter);
    return std::nullopt;
  }
  LDAPMessage* entry = ldap_first_entry(ld, res.msg);
  char* dn = entry != nullptr ? ldap_get_dn(ld, entry) : nullptr;
  if (dn == nullptr) {
    reason = "the entry for " + filter + " has no DN";
    return std::nullopt;
  }
  std::string out(dn);
  ldap_memfree(dn);
  if (out.empty()) {
    reason = "the entry for " + filter + " has an empty DN";  // binding as "" would be anonymous
    return std::nullopt;
  }
  return out;
}

bool find_groups(const config::LdapConfig& cfg, LDAP* ld, const std::string& username, const std::string& user_dn,
                 std::vector<std::string>& groups, std::string& reason) {
  const std::string filter = detail::expand_template(cfg.group_filter, detail::escape_filter_value(username),
                                                     detail::escape_filter_value(user_dn));
  std::string attribute = cfg.group_attribute;
  char* attrs[] = {attribute.data(), nullptr};
  timeval timeout{static_cast<time_t>(cfg.timeout_s), 0};
  LdapMessage res;
  int rc = ldap_search_ext_s(ld, cfg.group_base_dn.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs, 0, nullptr,
                             nullptr, &timeout, kMaxGroups, &res.msg);
  if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
    reason = "group search for " + filter + " under " + cfg.group_base_dn + ": " + describe(ld, rc);
    return false;
  }
  for (LDAPMessage* e = ldap_first_entry(ld, res.msg); e != nullptr; e = ldap_next_entry(ld, e)) {
    berval** values = ldap_get_values_len(ld, e, attribute.c_str());
    if (values == nullptr) {
      continue;  // a group entry without the naming attribute
    }
    // A multi-valued cn names one group: its first value.
    if (values[0] != nullptr) {
      std::string_view name(values[0]->bv_val, values[0]->bv_len);
      if (usable_group(name)) {
        groups.emplace_back(name);
      }
    }
    ldap_value_free_len(values);
  }
  // Directory order is arbitrary; sorted, the default group (the first) is the same every login.
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  return true;
}

}  // namespace

LdapOutcome ldap_login(const config::LdapConfig& cfg, const std::string& username, std::string_view password) {
  LdapOutcome out;
  if (password.empty()) {
    // RFC 4513 §5.1.2: a simple bind with a DN and no password is an "unauthenticated bind" that
    // servers answer with success. It must never count as a login.
    out.reason = "empty password refused (an LDAP bind without a password is anonymous)";
    return out;
  }
  if (!detail::valid_username(username)) {
    out.reason = "user name empty, too long or with control characters";
    return out;
  }
  LdapHandle h;
  if (!open_connection(cfg, h, out.reason)) {
    return out;
  }
  std::string dn;
  if (cfg.direct_bind()) {
    dn = detail::expand_template(cfg.bind_dn, detail::escape_dn_value(username), "");
  } else {
    auto found = find_user_dn(cfg, h.ld, username, out.reason);
    if (!found) {
      return out;
    }
    dn = std::move(*found);
  }
  int rc = simple_bind(h.ld, dn, password);
  if (rc != LDAP_SUCCESS) {
    out.reason = "bind as " + dn + ": " + describe(h.ld, rc);
    return out;
  }
  out.dn = dn;
  if (!cfg.group_base_dn.empty()) {
    // Groups are read with the user's own identity: the service account (if any) was replaced
    // by the user's bind, and a directory that lets users log in lets them read their groups.
    if (!find_groups(cfg, h.ld, username, dn, out.groups, out.reason)) {
      out.groups.clear();
      return out;
    }
  }
  out.ok = true;
  return out;
}

}  // namespace ocm::auth
