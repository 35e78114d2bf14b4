#pragma once
// Byte helpers used by cookies and keys: base64 (standard alphabet, padded), hex, constant-time compare.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ocm {

std::string base64_encode(std::span<const uint8_t> data);
// Strict: rejects bad characters, bad padding and lengths that are not a multiple of 4.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);
std::string hex_encode(std::span<const uint8_t> data, bool upper = false);
// Timing does not depend on where the first difference is.
bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept;
// Zeroing that the compiler may not elide (keys, passwords).
void secure_zero(void* p, size_t n) noexcept;

}  // namespace ocm
