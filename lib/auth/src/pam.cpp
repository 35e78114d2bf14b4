#include "ocm/auth/pam.hpp"

#include <grp.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ocm/base/bytes.hpp"

namespace ocm::auth {
namespace detail {

namespace {

// Frees an answer array the way PAM would, zeroing any answer first: on a failed conversation
// PAM never sees the array, so a password copy in it is ours to wipe.
void free_responses(pam_response* resp, int count) noexcept {
  if (resp == nullptr) {
    return;
  }
  for (int i = 0; i < count; ++i) {
    if (resp[i].resp != nullptr) {
      secure_zero(resp[i].resp, std::strlen(resp[i].resp));
      std::free(resp[i].resp);  // NOLINT(cppcoreguidelines-no-malloc): PAM's ownership contract
    }
  }
  std::free(resp);  // NOLINT(cppcoreguidelines-no-malloc)
}

}  // namespace

int pam_conversation(int count, const pam_message** msgs, pam_response** resp, void* appdata) noexcept {
  if (resp == nullptr) {
    return PAM_CONV_ERR;
  }
  *resp = nullptr;  // on every failure: PAM must find nothing to free
  if (msgs == nullptr || appdata == nullptr || count <= 0 || count > PAM_MAX_NUM_MSG) {
    return PAM_CONV_ERR;
  }
  const auto* data = static_cast<const PamConvData*>(appdata);
  // PAM frees the array and each answer with free(): they must come from malloc.
  auto* out = static_cast<pam_response*>(std::calloc(static_cast<size_t>(count), sizeof(pam_response)));  // NOLINT
  if (out == nullptr) {
    return PAM_BUF_ERR;
  }
  for (int i = 0; i < count; ++i) {
    const pam_message* m = msgs[i];
    if (m == nullptr) {
      free_responses(out, count);
      return PAM_CONV_ERR;
    }
    switch (m->msg_style) {
      case PAM_PROMPT_ECHO_OFF: {
        // The password prompt ("Password: "). A module asking a second hidden question (a new
        // password on expiry, a token) gets the same password, which fails it as wrong input
        // rather than letting it through.
        auto* copy = static_cast<char*>(std::malloc(data->password.size() + 1));  // NOLINT
        if (copy == nullptr) {
          free_responses(out, count);
          return PAM_BUF_ERR;
        }
        std::memcpy(copy, data->password.data(), data->password.size());
        copy[data->password.size()] = '\0';
        out[i].resp = copy;
        break;
      }
      case PAM_ERROR_MSG:
      case PAM_TEXT_INFO:
        break;  // informational: no answer expected
      default:
        // PAM_PROMPT_ECHO_ON (user name, OTP) and anything unknown: we have no answer the user
        // gave for it, so the login fails instead of sending something made up.
        free_responses(out, count);
        return PAM_CONV_ERR;
    }
  }
  *resp = out;
  return PAM_SUCCESS;
}

}  // namespace detail

namespace {

// Closes the PAM transaction with the last status, as pam_end requires.
struct PamHandle {
  pam_handle_t* handle = nullptr;
  int last = PAM_SUCCESS;
  PamHandle() = default;
  PamHandle(const PamHandle&) = delete;
  PamHandle& operator=(const PamHandle&) = delete;
  ~PamHandle() {
    if (handle != nullptr) {
      pam_end(handle, last);
    }
  }
};

std::string group_name(gid_t gid) {
  group grp{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  if (getgrgid_r(gid, &grp, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return {};
  }
  return grp.gr_name;
}

std::vector<std::string> user_groups(const std::string& username, uint32_t gid_min) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(username.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return {};  // PAM accepted a user NSS does not know (a remote-only module): no groups
  }
  const gid_t primary = pw.pw_gid;
  // getgrouplist reports the needed size when the array is too small; 64 fits most users.
  int n = 64;
  std::vector<gid_t> gids(static_cast<size_t>(n));
  if (getgrouplist(username.c_str(), primary, gids.data(), &n) < 0) {
    gids.resize(static_cast<size_t>(n));
    if (getgrouplist(username.c_str(), primary, gids.data(), &n) < 0) {
      n = 0;
    }
  }
  gids.resize(static_cast<size_t>(n));
  std::vector<std::string> out;
  auto add = [&](gid_t gid) {
    if (gid < gid_min) {
      return;
    }
    std::string name = group_name(gid);
    if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) {
      out.push_back(std::move(name));
    }
  };
  add(primary);  // first: the default group when the client chooses none
  for (gid_t g : gids) {
    add(g);
  }
  return out;
}

}  // namespace

PamOutcome pam_login(const std::string& service, const std::string& username, std::string_view password,
                     uint32_t gid_min) {
  PamOutcome out;
  detail::PamConvData data{password};
  const pam_conv conv{&detail::pam_conversation, &data};
  PamHandle h;
  h.last = pam_start(service.c_str(), username.c_str(), &conv, &h.handle);
  if (h.last != PAM_SUCCESS) {
    out.reason = std::string("pam_start: ") + (h.handle != nullptr ? pam_strerror(h.handle, h.last) : "failed");
    return out;
  }
  // PAM_DISALLOW_NULL_AUTHTOK: an account with an empty password never logs in over the VPN.
  h.last = pam_authenticate(h.handle, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
  if (h.last != PAM_SUCCESS) {
    out.reason = std::string("pam_authenticate: ") + pam_strerror(h.handle, h.last);
    return out;
  }
  h.last = pam_acct_mgmt(h.handle, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
  if (h.last != PAM_SUCCESS) {
    // Expired or locked accounts, and PAM_NEW_AUTHTOK_REQD: we cannot run a password change.
    out.reason = std::string("pam_acct_mgmt: ") + pam_strerror(h.handle, h.last);
    return out;
  }
  out.ok = true;
  out.groups = user_groups(username, gid_min);
  return out;
}

}  // namespace ocm::auth
