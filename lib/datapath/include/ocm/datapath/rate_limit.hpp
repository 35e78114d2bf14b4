#pragma once
// A per-session, per-direction token bucket (ocserv's rx-data-per-sec / tx-data-per-sec).
// Lives inside the session slot and is touched only by the thread that owns the slot: no locks,
// no allocation, no division on the packet path.
//
// Tokens are kept in nano-bytes (bytes x 1e9), so refilling is one multiplication
// (elapsed ns x rate in bytes/s) and never loses fractions of a byte, whatever the packet rate.
// Burst (bucket depth): 1/8 s of traffic at the configured rate, at least kMinBurstBytes —
// enough for a TCP window's worth of back-to-back segments at the start of a transfer, small
// enough that a measurement over a few seconds sees the rate, not the burst.
// A bucket idle for a long time refills only to the burst (the multiplication is
// overflow-checked, so days of idleness cost nothing special).

#include <cstdint>

namespace ocm::datapath {

class TokenBucket {
 public:
  static constexpr uint64_t kNanosPerSecond = 1'000'000'000;
  // 64 KiB: one TSO super-packet's worth, so a slow limit still lets one full-size burst by.
  static constexpr uint64_t kMinBurstBytes = 64 * 1024;
  // Rates above this are treated as this (10 Gbit/s); keeps burst x 1e9 within 64 bits.
  static constexpr uint64_t kMaxRate = 1'250'000'000;

  // 0 = unlimited. The bucket starts full.
  void set_rate(uint64_t bytes_per_second) noexcept {
    rate_ = bytes_per_second > kMaxRate ? kMaxRate : bytes_per_second;
    tokens_ = capacity();
    last_ns_ = 0;
  }
  [[nodiscard]] uint64_t rate() const noexcept { return rate_; }
  [[nodiscard]] bool limited() const noexcept { return rate_ != 0; }
  [[nodiscard]] uint64_t burst_bytes() const noexcept { return burst_bytes_for(rate_); }
  // Whole bytes available right now (tests, ocmctl).
  [[nodiscard]] uint64_t available_bytes() const noexcept { return tokens_ / kNanosPerSecond; }

  // Takes `bytes` if the bucket holds them after refilling up to now_ns; false = over the limit
  // (the caller drops the packet; nothing is taken). Always true when unlimited.
  bool take(uint64_t bytes, uint64_t now_ns) noexcept {
    if (rate_ == 0) {
      return true;
    }
    refill(now_ns);
    uint64_t cost = bytes * kNanosPerSecond;  // bytes < 2^16 per packet: no overflow
    if (tokens_ < cost) {
      return false;
    }
    tokens_ -= cost;
    return true;
  }

  [[nodiscard]] static constexpr uint64_t burst_bytes_for(uint64_t rate) noexcept {
    uint64_t eighth = rate / 8;
    return eighth > kMinBurstBytes ? eighth : kMinBurstBytes;
  }

 private:
  [[nodiscard]] uint64_t capacity() const noexcept { return burst_bytes_for(rate_) * kNanosPerSecond; }

  void refill(uint64_t now_ns) noexcept {
    if (now_ns <= last_ns_) {
      return;  // same burst (one clock read per poll) or a clock that did not move
    }
    uint64_t elapsed = now_ns - last_ns_;
    last_ns_ = now_ns;
    uint64_t cap = capacity();
    uint64_t added = 0;
    if (__builtin_mul_overflow(elapsed, rate_, &added) || added >= cap - tokens_) {
      tokens_ = cap;
    } else {
      tokens_ += added;
    }
  }

  uint64_t rate_ = 0;     // bytes per second; 0 = unlimited
  uint64_t tokens_ = 0;   // nano-bytes
  uint64_t last_ns_ = 0;  // Ctx::now_ns of the last refill
};
static_assert(sizeof(TokenBucket) == 24, "two buckets must fit beside the roaming links in one cache line");
static_assert(TokenBucket::burst_bytes_for(TokenBucket::kMaxRate) <= UINT64_MAX / TokenBucket::kNanosPerSecond,
              "the bucket depth in nano-bytes must fit in 64 bits");

}  // namespace ocm::datapath
