// RFC 6347 §4.1.2.6 sliding anti-replay window, 64 records wide (one machine word).

#include "ocm/crypto/replay_window.hpp"

namespace ocm::crypto {
namespace {

// DTLS sequence numbers are 48 bits; anything above cannot come from a well-formed header, and
// accepting it could let a caller's bug push highest_ where no real record can follow.
constexpr uint64_t kMaxSeq = (uint64_t{1} << 48) - 1;

}  // namespace

bool ReplayWindow::check(uint64_t seq) const noexcept {
  if (seq > kMaxSeq) {
    return false;
  }
  if (!any_ || seq > highest_) {
    return true;
  }
  const uint64_t behind = highest_ - seq;
  if (behind >= kWindowSize) {
    return false;  // too old to tell whether we saw it: RFC 6347 says discard
  }
  return ((bitmap_ >> behind) & 1) == 0;
}

void ReplayWindow::update(uint64_t seq) noexcept {
  if (seq > kMaxSeq) {
    return;
  }
  if (!any_) {
    any_ = true;
    highest_ = seq;
    bitmap_ = 1;
    return;
  }
  if (seq > highest_) {
    const uint64_t ahead = seq - highest_;
    // Shifting a 64-bit value by 64 or more is undefined; a jump that large forgets everything.
    bitmap_ = ahead >= kWindowSize ? 1 : (bitmap_ << ahead) | 1;
    highest_ = seq;
    return;
  }
  const uint64_t behind = highest_ - seq;
  if (behind < kWindowSize) {
    bitmap_ |= uint64_t{1} << behind;
  }
}

void ReplayWindow::reset() noexcept {
  highest_ = 0;
  bitmap_ = 0;
  any_ = false;
}

}  // namespace ocm::crypto
