#pragma once
// Session cookies (protocol.md §2.4, §6.5): 32 random bytes, sent as standard base64 (44 chars)
// in the `webvpn` cookie. Compared in constant time.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ocm::session {

using Cookie = std::array<uint8_t, 32>;

// 32 bytes from getrandom(2); aborts the process if the kernel cannot supply randomness,
// because a predictable cookie would let anyone in.
Cookie random_cookie();
std::string encode_cookie(const Cookie& cookie);
// Strict: exactly 44 base64 characters decoding to 32 bytes.
std::optional<Cookie> decode_cookie(std::string_view text);
bool cookie_equal(const Cookie& a, const Cookie& b) noexcept;

}  // namespace ocm::session
