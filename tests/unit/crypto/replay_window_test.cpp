// ReplayWindow: numbered scenarios in the style of WireGuard's counter selftest. Each step offers
// one sequence number; "accept" means check() passed and update() was then called, as the data
// path does after the record authenticated.

#include "ocm/crypto/replay_window.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ocm::crypto {
namespace {

constexpr uint64_t kMax48 = (uint64_t{1} << 48) - 1;
constexpr uint64_t kW = ReplayWindow::kWindowSize;

struct Step {
  uint64_t seq;
  bool accepted;
};

struct Scenario {
  const char* name;
  std::vector<Step> steps;
};

bool offer(ReplayWindow& w, uint64_t seq) {
  if (!w.check(seq)) {
    return false;
  }
  w.update(seq);
  return true;
}

const Scenario kScenarios[] = {
    {"FirstRecordIsZero", {{0, true}, {0, false}, {1, true}, {0, false}, {1, false}}},
    {"FirstRecordMayBeAnything", {{1000, true}, {999, true}, {1000, false}, {1001, true}, {999, false}}},
    {"InOrder", {{1, true}, {2, true}, {3, true}, {4, true}, {5, true}, {3, false}, {5, false}, {6, true}}},
    {"OutOfOrderInsideWindow", {{10, true}, {8, true}, {9, true}, {7, true}, {8, false}, {11, true}, {9, false}}},
    {"OldestSlotOfWindow",
     {{kW - 1, true},  // highest = 63; 0 is 63 behind: still inside
      {0, true},
      {0, false},
      {kW, true},  // highest = 64; 0 is now 64 behind: outside
      {0, false},
      {1, true},
      {1, false}}},
    {"JustOutsideWindow", {{100, true}, {100 - kW + 1, true}, {100 - kW, false}, {101, true}, {100 - kW + 1, false}}},
    {"BigJumpForwardForgetsEverything",
     {{5, true},
      {6, true},
      {1'000'000, true},
      {6, false},
      {1'000'000 - kW + 1, true},
      {1'000'000 - kW, false},
      {999'999, true},
      {999'999, false}}},
    {"JumpOfExactlyWindowSize", {{0, true}, {kW, true}, {1, true}, {0, false}, {kW, false}}},
    {"JumpOfWindowSizeMinusOneKeepsOldBit", {{1, true}, {kW, true}, {1, false}, {2, true}, {0, false}}},
    {"DuplicatesAfterSlidingStayRejected",
     {{1, true}, {3, true}, {2, true}, {40, true}, {3, false}, {2, false}, {1, false}, {4, true}, {4, false}}},
    {"TopOfSequenceSpace",
     {{kMax48 - 2, true}, {kMax48, true}, {kMax48 - 1, true}, {kMax48, false}, {kMax48 - 2, false}}},
    {"AboveFortyEightBitsRejected", {{kMax48 + 1, false}, {1, true}, {uint64_t{1} << 63, false}, {2, true}}},
    {"ZeroAfterJumpFromZero", {{0, true}, {kMax48, true}, {0, false}, {kMax48 - kW + 1, true}}},
};

class ReplayWindowTest : public ::testing::TestWithParam<Scenario> {};

TEST_P(ReplayWindowTest, Steps) {
  ReplayWindow w;
  const auto& steps = GetParam().steps;
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(offer(w, steps[i].seq), steps[i].accepted) << "step " << i + 1 << ": seq " << steps[i].seq;
  }
}

INSTANTIATE_TEST_SUITE_P(Scenarios, ReplayWindowTest, ::testing::ValuesIn(kScenarios),
                         [](const ::testing::TestParamInfo<Scenario>& p) { return std::string(p.param.name); });

TEST(ReplayWindowTest, CheckDoesNotMoveTheWindow) {
  ReplayWindow w;
  w.update(10);
  // A forged record only gets check(); without update() the window must stay where it was.
  EXPECT_TRUE(w.check(1'000'000));
  EXPECT_EQ(w.highest(), 10u);
  EXPECT_TRUE(w.check(9));
  EXPECT_FALSE(w.check(10));
}

TEST(ReplayWindowTest, ResetForgetsEverything) {
  ReplayWindow w;
  w.update(500);
  w.update(499);
  EXPECT_FALSE(w.check(499));
  w.reset();
  EXPECT_EQ(w.highest(), 0u);
  EXPECT_TRUE(w.check(499));
  EXPECT_TRUE(w.check(0));
}

TEST(ReplayWindowTest, EveryPositionInWindowTrackedIndependently) {
  // Accept only even numbers below 200, then check every odd one is still new and every even one
  // inside the window is a replay.
  ReplayWindow w;
  for (uint64_t s = 0; s < 200; s += 2) {
    ASSERT_TRUE(offer(w, s)) << s;
  }
  ASSERT_EQ(w.highest(), 198u);
  for (uint64_t s = 198 - kW + 1; s <= 198; ++s) {
    EXPECT_EQ(w.check(s), s % 2 == 1) << s;
  }
  EXPECT_FALSE(w.check(198 - kW));
}

TEST(ReplayWindowTest, ReverseOrderFillsWholeWindow) {
  ReplayWindow w;
  for (uint64_t s = 1000; s > 1000 - kW; --s) {
    ASSERT_TRUE(offer(w, s)) << s;
  }
  for (uint64_t s = 1000; s > 1000 - kW; --s) {
    EXPECT_FALSE(w.check(s)) << s;
  }
  EXPECT_FALSE(w.check(1000 - kW));
  EXPECT_TRUE(w.check(1001));
}

}  // namespace
}  // namespace ocm::crypto
