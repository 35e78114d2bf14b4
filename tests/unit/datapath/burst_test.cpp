#include "ocm/datapath/burst.hpp"

#include <gtest/gtest.h>

#include <string>

#include "test_support.hpp"

namespace ocm::datapath {
namespace {

// Table: a keep/leave pattern ('k'/'l'), expected output order of input indices.
struct PartitionCase {
  const char* pattern;
  const char* expected;  // indices as letters a, b, c...
};

class BurstPartitionTest : public ::testing::TestWithParam<PartitionCase> {};

TEST_P(BurstPartitionTest, KeptFirstThenLeftBothInOrder) {
  test::Harness h(4);
  const PartitionCase& c = GetParam();
  std::string pattern = c.pattern;
  PktBuf bufs[kBurst];
  PktBuf* pkts[kBurst];
  for (size_t i = 0; i < pattern.size(); ++i) {
    pkts[i] = &bufs[i];
  }
  BurstPartition part(pkts);
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == 'k') {
      part.keep(pkts[i]);
    } else {
      part.drop(h.ctx, pkts[i], DropReason::kReplay);
    }
  }
  uint16_t kept = part.finish();
  std::string got;
  for (size_t i = 0; i < pattern.size(); ++i) {
    got += static_cast<char>('a' + (pkts[i] - bufs));
  }
  EXPECT_EQ(got, c.expected);
  EXPECT_EQ(kept, std::count(pattern.begin(), pattern.end(), 'k'));
  EXPECT_EQ(h.counters.dropped(DropReason::kReplay), std::count(pattern.begin(), pattern.end(), 'l'));
  for (size_t i = kept; i < pattern.size(); ++i) {
    EXPECT_EQ(pkts[i]->meta.drop, DropReason::kReplay);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, BurstPartitionTest,
                         ::testing::Values(PartitionCase{"", ""}, PartitionCase{"k", "a"}, PartitionCase{"l", "a"},
                                           PartitionCase{"kkk", "abc"}, PartitionCase{"lll", "abc"},
                                           PartitionCase{"lkl", "bac"}, PartitionCase{"klkkl", "acdbe"},
                                           PartitionCase{"llkk", "cdab"}));

TEST(BurstPartitionTest, FullBurstAlternating) {
  test::Harness h(4);
  PktBuf bufs[kBurst];
  PktBuf* pkts[kBurst];
  for (uint16_t i = 0; i < kBurst; ++i) {
    pkts[i] = &bufs[i];
  }
  BurstPartition part(pkts);
  for (uint16_t i = 0; i < kBurst; ++i) {
    if (i % 2 == 0) {
      part.keep(pkts[i]);
    } else {
      part.drop(h.ctx, pkts[i], DropReason::kNoRoute);
    }
  }
  ASSERT_EQ(part.finish(), kBurst / 2);
  for (uint16_t i = 0; i < kBurst / 2; ++i) {
    EXPECT_EQ(pkts[i], &bufs[2 * i]);
    EXPECT_EQ(pkts[kBurst / 2 + i], &bufs[2 * i + 1]);
  }
}

TEST(BurstPartitionTest, ConsumeCountsEventAndSetsKind) {
  test::Harness h(4);
  PktBuf buf;
  PktBuf* pkts[1] = {&buf};
  BurstPartition part(pkts);
  part.consume(h.ctx, pkts[0], Event::kKeepalive);
  EXPECT_EQ(part.finish(), 0);
  EXPECT_EQ(buf.meta.kind, PktKind::kConsumed);
  EXPECT_EQ(buf.meta.drop, DropReason::kNone);
  EXPECT_EQ(h.counters.count(Event::kKeepalive), 1u);
}

}  // namespace
}  // namespace ocm::datapath

namespace ocm::datapath {
namespace {

TEST(CheckBurstDeathTest, OversizedBurstAborts) {
  check_burst(kBurst);  // the limit itself is fine
  EXPECT_DEATH(check_burst(kBurst + 1), "exceeds kBurst");
}

}  // namespace
}  // namespace ocm::datapath
