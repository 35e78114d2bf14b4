#pragma once
// The "aggregate auth" XML exchange (protocol.md §2.3-2.6): what we read from the client's POST
// bodies and the documents we answer with, byte-compatible with what openconnect 9.01 expects.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocm::proto {

// Fields found in an auth POST body, XML (`<?xml`) or application/x-www-form-urlencoded.
// Values are unescaped (XML entities / URL %-decoding). Absent fields are nullopt.
struct AuthFields {
  bool is_xml = false;
  std::optional<std::string> type;          // config-auth type attribute: "init", "auth-reply"
  std::optional<std::string> username;
  std::optional<std::string> password;      // <password>, or any element ending in "_password"
  std::optional<std::string> group_select;
};

// Limits: elements are searched in the first `max_body` bytes only; values longer than 256 bytes
// or with invalid escapes make the parse fail (nullopt) so the caller answers 400.
std::optional<AuthFields> parse_auth_body(std::string_view body);

// XML-escapes text for element content and attribute values (&, <, >, ", '). Control characters
// XML 1.0 cannot carry are dropped and invalid UTF-8 bytes become U+FFFD, because libxml2 in the
// client rejects the whole document otherwise.
std::string xml_escape(std::string_view text);

// The username form (type="auth-request", auth id="main"); `banner` optional (empty = none).
std::string username_form_xml(std::string_view banner);
// The password form; `message` is e.g. "Please enter your password." or
// "Login failed.\nPlease enter your password.".
std::string password_form_xml(std::string_view message);
// One option of the group dropdown (<select name="group_list">): `value` is what the client
// sends back in <group-select>, `label` what it shows and what openconnect --authgroup matches.
struct GroupOption {
  std::string value;
  std::string label;
};
// The first form with the group dropdown (ocserv select-group): `username` adds the username
// input (absent for certificate-only logins); `groups` is shown in order (the caller puts the
// client's current choice first, as ocserv does); empty = no dropdown.
std::string group_form_xml(std::string_view banner, bool username, const std::vector<GroupOption>& groups);
// The second-factor form: one password input named "secondary_password", which is the field
// openconnect fills itself with --token-mode=totp/hotp (and otherwise prompts for).
std::string otp_form_xml(std::string_view message);
// The success document (type="complete", auth id="success").
std::string auth_complete_xml(std::string_view banner);

}  // namespace ocm::proto
