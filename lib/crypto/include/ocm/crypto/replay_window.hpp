#pragma once
// RFC 6347 §4.1.2.6 anti-replay window over 48-bit DTLS sequence numbers: 64 records behind the
// highest authenticated one. check() before decrypting (cheap reject), update() only after the
// record authenticated, so forged records cannot move the window.

#include <cstdint>

namespace ocm::crypto {

class ReplayWindow {
 public:
  static constexpr uint64_t kWindowSize = 64;

  // True when `seq` is new: above the highest seen, or inside the window and not yet seen.
  [[nodiscard]] bool check(uint64_t seq) const noexcept;
  // Marks `seq` as seen (call only after authentication).
  void update(uint64_t seq) noexcept;
  // Start state: nothing seen; the first record may carry any sequence number.
  void reset() noexcept;

  [[nodiscard]] uint64_t highest() const noexcept { return highest_; }

 private:
  uint64_t highest_ = 0;
  uint64_t bitmap_ = 0;  // bit i set = highest_ - i was seen
  bool any_ = false;
};

}  // namespace ocm::crypto
