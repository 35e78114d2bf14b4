#include <gtest/gtest.h>

#include "ocm/datapath/stages.hpp"
#include "test_support.hpp"

namespace ocm::datapath {
namespace {

using test::Harness;

TEST(DropReasonForTest, EveryVerdictHasItsReason) {
  EXPECT_EQ(drop_reason_for(InnerVerdict::kOk), DropReason::kNone);
  EXPECT_EQ(drop_reason_for(InnerVerdict::kTooShort), DropReason::kInnerTooShort);
  EXPECT_EQ(drop_reason_for(InnerVerdict::kNotIpv4), DropReason::kInnerNotIpv4);
  EXPECT_EQ(drop_reason_for(InnerVerdict::kBadHeaderLength), DropReason::kInnerBadHeaderLength);
  EXPECT_EQ(drop_reason_for(InnerVerdict::kBadTotalLength), DropReason::kInnerBadTotalLength);
  EXPECT_EQ(drop_reason_for(InnerVerdict::kSourceSpoofed), DropReason::kInnerSrcSpoofed);
  // Names line up with InnerVerdict's own strings, so logs and counters agree.
  for (auto v : {InnerVerdict::kTooShort, InnerVerdict::kNotIpv4, InnerVerdict::kBadHeaderLength,
                 InnerVerdict::kBadTotalLength, InnerVerdict::kSourceSpoofed}) {
    EXPECT_STREQ(to_string(drop_reason_for(v)), to_string(v));
  }
}

struct InnerCase {
  const char* name;
  std::vector<uint8_t> packet;
  DropReason expect;
};

std::vector<InnerCase> cases() {
  uint32_t lease = Harness::lease_of(1);
  auto spoofed = test::ipv4_packet(Harness::lease_of(2), test::kRemote, 60);  // another client's address
  auto v6 = test::ipv4_packet(lease, test::kRemote, 60);
  v6[0] = 0x60;
  auto bad_total = test::ipv4_packet(lease, test::kRemote, 60);
  bad_total[3] = 61;
  return {
      {"valid", test::ipv4_packet(lease, test::kRemote, 60), DropReason::kNone},
      {"valid_minimal", test::ipv4_packet(lease, test::kRemote, 20), DropReason::kNone},
      {"spoofed_other_client", spoofed, DropReason::kInnerSrcSpoofed},
      {"too_short", std::vector<uint8_t>(10, 0x45), DropReason::kInnerTooShort},
      {"ipv6", v6, DropReason::kInnerNotIpv4},
      {"bad_total_length", bad_total, DropReason::kInnerBadTotalLength},
  };
}

class ValidateInnerTest : public ::testing::TestWithParam<InnerCase> {};

TEST_P(ValidateInnerTest, Verdict) {
  Harness h(4);
  ASSERT_TRUE(h.table.attach_cstp(1, Harness::lease_of(1)));
  ASSERT_TRUE(h.table.attach_cstp(2, Harness::lease_of(2)));
  const InnerCase& c = GetParam();
  PktBuf* p = h.packet(c.packet);
  p->meta.slot = 1;
  std::vector<PktBuf*> pkts{p};
  uint16_t kept = test::run_stage(validate_inner, h.ctx, pkts);
  EXPECT_EQ(kept, c.expect == DropReason::kNone ? 1 : 0);
  EXPECT_EQ(p->meta.drop, c.expect);
  if (c.expect != DropReason::kNone) {
    EXPECT_EQ(h.counters.dropped(c.expect), 1u);
  }
  h.pool.free(p);
}

INSTANTIATE_TEST_SUITE_P(Cases, ValidateInnerTest, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace ocm::datapath
