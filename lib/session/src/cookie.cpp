#include "ocm/session/cookie.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "ocm/base/bytes.hpp"
#include "ocm/base/log.hpp"

namespace ocm::session {
namespace {
// 32 bytes -> 10 full base64 quanta plus one quantum with a single '='.
constexpr size_t kEncodedSize = 44;
}  // namespace

Cookie random_cookie() {
  Cookie cookie{};
  size_t filled = 0;
  while (filled < cookie.size()) {
    // Flags 0: block until the pool is initialised rather than hand out a guessable cookie.
    const ssize_t n = getrandom(cookie.data() + filled, cookie.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      OCM_ERROR("session: getrandom failed: %s; refusing to issue predictable cookies", std::strerror(errno));
      std::abort();
    }
    filled += static_cast<size_t>(n);
  }
  return cookie;
}

std::string encode_cookie(const Cookie& cookie) {
  return base64_encode(cookie);
}

std::optional<Cookie> decode_cookie(std::string_view text) {
  if (text.size() != kEncodedSize) {
    return std::nullopt;
  }
  auto bytes = base64_decode(text);
  if (!bytes || bytes->size() != Cookie{}.size()) {
    return std::nullopt;
  }
  Cookie cookie{};
  std::memcpy(cookie.data(), bytes->data(), cookie.size());
  secure_zero(bytes->data(), bytes->size());
  // base64_decode ignores the 2 unused bits of the last character. Demanding the canonical form
  // gives each cookie exactly one accepted spelling, so nothing downstream can be confused by two.
  if (base64_encode(cookie) != text) {
    secure_zero(cookie.data(), cookie.size());
    return std::nullopt;
  }
  return cookie;
}

bool cookie_equal(const Cookie& a, const Cookie& b) noexcept {
  return constant_time_equal(a, b);
}

}  // namespace ocm::session
