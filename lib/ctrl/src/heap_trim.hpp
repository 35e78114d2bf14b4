#pragma once
// Gives freed heap back to the kernel after bursts of freed sessions (issue 7).
//
// glibc keeps freed memory for reuse: after 2,000 sessions logged out, the server's RSS stayed
// ~250 MB above idle although nothing was leaked (heaptrack: the same live heap after every
// cycle; perf/README.md). That is right while sessions come back, but a VPN head-end sees
// bursts (a morning login wave, a mass disconnect) and the memory should not stay pinned for
// the process lifetime; nor should the holes that finished DTLS handshakes leave between live
// tunnels (~20 KB each). malloc_trim(0) returns every free page of every arena (it costs ~10 ms
// for ~300 MB of free heap, on the loop thread), so it runs on the 1 s tick, only once a burst
// of releases is over, and at most every kMinInterval while it lasts.

#include <chrono>
#include <cstdint>
#include <functional>

namespace ocm::ctrl {

class HeapTrimmer {
 public:
  using Clock = std::chrono::steady_clock;
  // Releases since the last trim that make one worthwhile (each frees tens of KB).
  static constexpr uint64_t kMinReleases = 64;
  // A burst is over when a tick saw fewer releases than this.
  static constexpr uint64_t kQuietTick = 8;
  // Bounds the cost under steady churn that never looks quiet.
  static constexpr std::chrono::seconds kMinInterval{30};

  // `trim` defaults to malloc_trim(0); tests count calls instead.
  explicit HeapTrimmer(std::function<void()> trim = {});

  // A connection was deleted, or a tunnel dropped its finished DTLS handshake.
  void on_release() noexcept {
    ++released_since_trim_;
    ++released_this_tick_;
  }
  // From the periodic tick. Returns true when it trimmed.
  bool on_tick(Clock::time_point now);

  [[nodiscard]] uint64_t trims() const noexcept { return trims_; }

 private:
  std::function<void()> trim_;
  uint64_t released_since_trim_ = 0;
  uint64_t released_this_tick_ = 0;
  uint64_t trims_ = 0;
  Clock::time_point last_trim_{};
  bool started_ = false;
};

}  // namespace ocm::ctrl
