#pragma once
// The client half of the XML "aggregate auth" dialogue and of CONNECT, as openconnect 9.01
// sends it (protocol.md §2.3, §3.1), and the checks openconnect applies to the answers (§2.5).
// Pure functions: no I/O.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ocm/base/result.hpp"

namespace ocm::loadgen {

inline constexpr std::string_view kUserAgent = "Open AnyConnect VPN Agent v9.01-3";

// Cookies collected from Set-Cookie, replayed on later auth requests (openconnect's behaviour:
// split at the first ';', an empty value deletes the cookie, no '=' is a hard error).
class CookieJar {
 public:
  Status absorb(std::string_view set_cookie);
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const;
  // "k=v; k2=v2" or empty.
  [[nodiscard]] std::string header_value() const;

 private:
  std::map<std::string, std::string, std::less<>> cookies_;
};

// The webvpn session cookie must be base64 (padded) of 32 bytes: 44 characters.
bool valid_session_cookie(std::string_view value);

struct FormInput {
  std::string type;
  std::string name;
};

// What openconnect extracts from an auth-request / complete document.
struct AuthDocument {
  std::string auth_id;   // "main", "success", ...
  std::string message;   // <message> text, raw
  bool has_form = false;
  std::string form_method;
  std::string form_action;
  std::vector<FormInput> inputs;
};
Result<AuthDocument> parse_auth_document(std::string_view body);

// `host` is "ip:port" as sent in Host (the port is omitted for 443, like openconnect).
std::string init_request(std::string_view host, std::string_view cookies);
// Fills the form's text input with `user` and password inputs with `password`.
Result<std::string> auth_reply_request(const AuthDocument& form, std::string_view host, std::string_view cookies,
                                       std::string_view user, std::string_view password);

struct ConnectOptions {
  bool dtls = true;
  std::string hostname;           // X-CSTP-Hostname
  std::string master_secret_hex;  // 96 uppercase hex digits (sent even in PSK mode, as openconnect does)
};
std::string connect_request(std::string_view host, std::string_view webvpn_cookie, const ConnectOptions& opt);

}  // namespace ocm::loadgen
