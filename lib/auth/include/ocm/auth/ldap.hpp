#pragma once
// Password logins by an LDAP simple bind ([auth] method = "ldap", [auth.ldap]), with the user's
// groups from a search. Every call blocks for up to a few times timeout_s (connect, StartTLS,
// binds, searches): callers run ldap_login on a worker thread (the libuv pool), never on the
// event loop. The escaping and template helpers are in `detail` so they can be tested without a
// server.

#include <string>
#include <string_view>
#include <vector>

#include "ocm/config/config.hpp"

namespace ocm::auth {

struct LdapOutcome {
  bool ok = false;
  std::vector<std::string> groups;  // group_attribute of each group entry found, sorted, deduplicated
  std::string dn;                   // the DN the user bound as (for the log)
  std::string reason;               // why it failed, for the log (never the password)
};

// Authenticates `username` with `password` by a simple bind as the user's DN: the bind_dn
// template (direct bind) or the single entry a search under base_dn finds (search then bind,
// as search_bind_dn when set). On success and with group_base_dn set, the groups are the
// entries matching group_filter. Fails without touching the network for an empty password
// (LDAP's "unauthenticated bind", RFC 4513 §5.1.2, succeeds with any DN and no password) and
// for user names with control characters. A failed group search fails the login (groups select
// policy). Thread-safe: one LDAP handle per call, always unbound.
LdapOutcome ldap_login(const config::LdapConfig& cfg, const std::string& username, std::string_view password);

namespace detail {
// RFC 4515 §3: the value of an assertion in a search filter; `*`, `(`, `)`, `\` and NUL become
// \2a, \28, \29, \5c and \00, so a user name cannot change the filter's structure.
std::string escape_filter_value(std::string_view value);
// RFC 4514 §2.4: an attribute value inside a DN; `"`, `+`, `,`, `;`, `<`, `=`, `>`, `\` get a
// backslash, as do a leading space or `#` and a trailing space; NUL becomes \00.
std::string escape_dn_value(std::string_view value);
// Replaces %u with `user` and %d with `dn` (both already escaped by the caller for where the
// template goes) and %% with %; any other % is kept as it is.
std::string expand_template(std::string_view tmpl, std::string_view user, std::string_view dn);
// A user name that may be sent to the server at all: 1 to 256 bytes, no control characters.
bool valid_username(std::string_view username);
}  // namespace detail

}  // namespace ocm::auth
