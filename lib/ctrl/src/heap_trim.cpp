#include "heap_trim.hpp"

#include <malloc.h>

#include <utility>

#include "ocm/base/log.hpp"

namespace ocm::ctrl {

HeapTrimmer::HeapTrimmer(std::function<void()> trim) : trim_(std::move(trim)) {
  if (!trim_) {
    trim_ = [] {
      auto t0 = Clock::now();
      malloc_trim(0);
      OCM_DEBUG(
          "heap trimmed in %lld us",
          static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count()));
    };
  }
}

bool HeapTrimmer::on_tick(Clock::time_point now) {
  const bool quiet = released_this_tick_ < kQuietTick;
  released_this_tick_ = 0;
  if (!started_) {
    started_ = true;
    last_trim_ = now;  // the interval counts from the first tick
  }
  if (released_since_trim_ < kMinReleases) {
    return false;
  }
  // During a burst, wait for its end (memory freed now may be needed again in a second); churn
  // that never pauses still gets one trim per interval. At most one trim per kMinReleases.
  if (!quiet && now - last_trim_ < kMinInterval) {
    return false;
  }
  trim_();
  ++trims_;
  released_since_trim_ = 0;
  last_trim_ = now;
  return true;
}

}  // namespace ocm::ctrl
