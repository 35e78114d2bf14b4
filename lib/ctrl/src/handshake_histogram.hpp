#pragma once
// Fixed-bucket latency histogram for the Prometheus endpoint (cumulative buckets are computed
// when rendering). Loop thread only.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace ocm::ctrl {

struct HandshakeHistogram {
  // Upper bounds in seconds: a LAN handshake takes ~1 ms, a loaded server or a far client
  // hundreds; beyond 5 s the handshake timeout is near anyway.
  static constexpr std::array<double, 10> kBounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0};
  std::array<uint64_t, kBounds.size()> buckets{};  // non-cumulative; +Inf = count - sum(buckets)
  uint64_t count = 0;
  double sum_seconds = 0;

  void observe(std::chrono::nanoseconds elapsed) {
    double seconds = std::chrono::duration<double>(elapsed).count();
    ++count;
    sum_seconds += seconds;
    for (size_t i = 0; i < kBounds.size(); ++i) {
      if (seconds <= kBounds[i]) {
        ++buckets[i];
        return;
      }
    }
  }
};

}  // namespace ocm::ctrl
