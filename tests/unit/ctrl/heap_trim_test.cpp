// heap_trim.cpp: when freed heap goes back to the kernel.
#include "heap_trim.hpp"

#include <gtest/gtest.h>

namespace ocm::ctrl {
namespace {

using std::chrono::seconds;
using Clock = HeapTrimmer::Clock;
constexpr Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(1);

class HeapTrimmerTest : public ::testing::Test {
 protected:
  void close(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      trimmer_.on_release();
    }
  }
  int calls_ = 0;
  HeapTrimmer trimmer_{[this] { ++calls_; }};
};

TEST_F(HeapTrimmerTest, FewReleasesNeverTrim) {
  for (int t = 0; t < 100; ++t) {
    close(HeapTrimmer::kMinReleases / 100 + (t % 2));
    EXPECT_FALSE(trimmer_.on_tick(kT0 + seconds(t)));
  }
  EXPECT_EQ(calls_, 0);
}

TEST_F(HeapTrimmerTest, TrimsOnceWhenABurstIsOver) {
  EXPECT_FALSE(trimmer_.on_tick(kT0));
  // A logout wave: 500 releases per second for 4 s, then quiet.
  for (int t = 1; t <= 4; ++t) {
    close(500);
    EXPECT_FALSE(trimmer_.on_tick(kT0 + seconds(t))) << t;
  }
  EXPECT_TRUE(trimmer_.on_tick(kT0 + seconds(5)));
  EXPECT_EQ(calls_, 1);
  // Nothing new: no second trim.
  for (int t = 6; t < 100; ++t) {
    EXPECT_FALSE(trimmer_.on_tick(kT0 + seconds(t)));
  }
  EXPECT_EQ(trimmer_.trims(), 1u);
}

TEST_F(HeapTrimmerTest, EndlessChurnTrimsOncePerInterval) {
  EXPECT_FALSE(trimmer_.on_tick(kT0));
  const int span = static_cast<int>(HeapTrimmer::kMinInterval.count()) * 4;
  for (int t = 1; t <= span; ++t) {
    close(HeapTrimmer::kQuietTick * 2);  // never a quiet second
    trimmer_.on_tick(kT0 + seconds(t));
  }
  EXPECT_EQ(calls_, 4);
}

TEST_F(HeapTrimmerTest, SlowTrickleTrimsAfterEnoughReleases) {
  EXPECT_FALSE(trimmer_.on_tick(kT0));
  int trims = 0;
  for (int t = 1; t <= 64; ++t) {
    close(HeapTrimmer::kQuietTick - 1);  // every second is quiet
    trims += trimmer_.on_tick(kT0 + seconds(t)) ? 1 : 0;
  }
  // 7 releases a second reach kMinReleases (64) every 10 s: trims at 10, 20, ..., 60 s.
  const uint64_t per_tick = HeapTrimmer::kQuietTick - 1;
  const uint64_t ticks_per_trim = (HeapTrimmer::kMinReleases + per_tick - 1) / per_tick;
  EXPECT_EQ(trims, static_cast<int>(64 / ticks_per_trim));
  EXPECT_EQ(calls_, trims);
}

TEST(HeapTrimmer, DefaultTrimRuns) {
  HeapTrimmer trimmer;
  trimmer.on_tick(kT0);
  for (uint64_t i = 0; i < HeapTrimmer::kMinReleases; ++i) {
    trimmer.on_release();
  }
  EXPECT_FALSE(trimmer.on_tick(kT0 + seconds(1)));  // the burst is still going
  EXPECT_TRUE(trimmer.on_tick(kT0 + seconds(2)));   // quiet: malloc_trim(0) itself
  EXPECT_EQ(trimmer.trims(), 1u);
}

}  // namespace
}  // namespace ocm::ctrl
