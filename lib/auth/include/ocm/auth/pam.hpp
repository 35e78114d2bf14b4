#pragma once
// Password logins through the system's PAM stack ([auth] method = "pam"), as ocserv's
// `auth = "pam[gid-min=N]"`. pam_authenticate and pam_acct_mgmt may block for seconds (pam_unix
// sleeps after a failure, other modules talk to the network): callers run pam_login on a
// worker thread (the libuv pool), never on the event loop.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct pam_message;
struct pam_response;

namespace ocm::auth {

struct PamOutcome {
  bool ok = false;
  std::vector<std::string> groups;  // primary group first, then supplementary ones (gid >= gid_min)
  std::string reason;               // why it failed, for the log (never the password)
};

// Authenticates `username` with `password` against the PAM service `service` (a file in
// /etc/pam.d), then checks the account (expired, locked) with pam_acct_mgmt. On success the
// groups are the user's primary and supplementary groups whose gid is >= gid_min (ocserv's
// gid-min, which keeps system groups such as "users" out). Thread-safe: one PAM handle per call.
PamOutcome pam_login(const std::string& service, const std::string& username, std::string_view password,
                     uint32_t gid_min);

namespace detail {
// What the conversation answers with: the password for the one prompt that asks for it.
struct PamConvData {
  std::string_view password;
};
// The PAM conversation function (exposed for tests). Answers PAM_PROMPT_ECHO_OFF with the
// password, ignores PAM_ERROR_MSG/PAM_TEXT_INFO (empty answers), and fails the whole call with
// PAM_CONV_ERR on any other prompt (echo-on prompts such as a user name or an OTP we cannot
// answer): failing closed, never guessing. On failure *resp is left null and nothing leaks.
int pam_conversation(int count, const pam_message** msgs, pam_response** resp, void* appdata) noexcept;
}  // namespace detail

}  // namespace ocm::auth
