#pragma once
// Helpers shared by the libFuzzer targets: an invariant check that survives NDEBUG (a failed
// invariant must crash so libFuzzer saves the input) and a reader that carves structured choices
// out of the fuzzer's bytes.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);   \
      std::abort();                                                                        \
    }                                                                                      \
  } while (false)

namespace ocm::fuzz {

// Consumes the input from the front; once it is exhausted every read returns zeros / empty, so a
// target never has to special-case short inputs.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) noexcept : rest_(data, size) {}

  [[nodiscard]] bool empty() const noexcept { return rest_.empty(); }
  [[nodiscard]] size_t remaining() const noexcept { return rest_.size(); }

  uint8_t u8() noexcept {
    if (rest_.empty()) {
      return 0;
    }
    uint8_t v = rest_.front();
    rest_ = rest_.subspan(1);
    return v;
  }
  uint16_t u16() noexcept { return static_cast<uint16_t>((u8() << 8) | u8()); }

  std::span<const uint8_t> bytes(size_t n) noexcept {
    n = n < rest_.size() ? n : rest_.size();
    auto out = rest_.first(n);
    rest_ = rest_.subspan(n);
    return out;
  }
  std::span<const uint8_t> rest() noexcept { return bytes(rest_.size()); }

 private:
  std::span<const uint8_t> rest_;
};

inline std::string_view as_text(std::span<const uint8_t> bytes) noexcept {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// True when `inner` lies entirely within `outer` (an empty span anywhere is fine).
inline bool within(std::span<const uint8_t> inner, std::span<const uint8_t> outer) noexcept {
  if (inner.empty()) {
    return true;
  }
  auto lo = reinterpret_cast<uintptr_t>(outer.data());
  auto p = reinterpret_cast<uintptr_t>(inner.data());
  return p >= lo && p - lo <= outer.size() && inner.size() <= outer.size() - (p - lo);
}

}  // namespace ocm::fuzz
