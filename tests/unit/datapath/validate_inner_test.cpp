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
  EXPECT_EQ(drop_reason_for(InnerVerdict::kIpv6TooShort), DropReason::kInner6TooShort);
  EXPECT_EQ(drop_reason_for(InnerVerdict::kIpv6BadPayloadLength), DropReason::kInner6BadPayloadLength);
  EXPECT_EQ(drop_reason_for(InnerVerdict::kIpv6NoLease), DropReason::kInner6NoLease);
  EXPECT_EQ(drop_reason_for(InnerVerdict::kIpv6SourceSpoofed), DropReason::kInner6SrcSpoofed);
  for (auto v : {InnerVerdict::kTooShort, InnerVerdict::kNotIpv4, InnerVerdict::kBadHeaderLength,
                 InnerVerdict::kBadTotalLength, InnerVerdict::kSourceSpoofed, InnerVerdict::kIpv6TooShort,
                 InnerVerdict::kIpv6BadPayloadLength, InnerVerdict::kIpv6NoLease, InnerVerdict::kIpv6SourceSpoofed}) {
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
  auto not_ip = test::ipv4_packet(lease, test::kRemote, 60);
  not_ip[0] = 0x70;
  // Slot 1 owns fd00:1::3/128, slot 2 fd00:1::4/128 (the test body).
  std::array<uint8_t, 16> remote6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  auto v6 = [&](const std::array<uint8_t, 16>& src, size_t len = 100) { return test::ipv6_packet(src, remote6, len); };
  auto v6_long_claim = v6(test::v6addr(3));
  v6_long_claim[5] = static_cast<uint8_t>(v6_long_claim[5] + 1);  // one byte more than the frame
  auto v6_trailing = v6(test::v6addr(3));
  v6_trailing[5] = static_cast<uint8_t>(v6_trailing[5] - 1);
  auto v6_jumbo = v6(test::v6addr(3));
  v6_jumbo[4] = 0;
  v6_jumbo[5] = 0;
  auto bad_total = test::ipv4_packet(lease, test::kRemote, 60);
  bad_total[3] = 61;
  return {
      {"valid", test::ipv4_packet(lease, test::kRemote, 60), DropReason::kNone},
      {"valid_minimal", test::ipv4_packet(lease, test::kRemote, 20), DropReason::kNone},
      {"spoofed_other_client", spoofed, DropReason::kInnerSrcSpoofed},
      {"too_short", std::vector<uint8_t>(10, 0x45), DropReason::kInnerTooShort},
      {"version_7", not_ip, DropReason::kInnerNotIpv4},
      {"ipv6_valid", v6(test::v6addr(3)), DropReason::kNone},
      {"ipv6_valid_minimal", v6(test::v6addr(3), 40), DropReason::kNone},
      {"ipv6_spoofed_other_client", v6(test::v6addr(4)), DropReason::kInner6SrcSpoofed},
      {"ipv6_spoofed_neighbour_address", v6(test::v6addr(0x103)), DropReason::kInner6SrcSpoofed},
      {"ipv6_spoofed_outside_pool", v6(remote6), DropReason::kInner6SrcSpoofed},
      {"ipv6_too_short", std::vector<uint8_t>(39, 0x60), DropReason::kInner6TooShort},
      {"ipv6_payload_length_larger", v6_long_claim, DropReason::kInner6BadPayloadLength},
      {"ipv6_trailing_bytes", v6_trailing, DropReason::kInner6BadPayloadLength},
      {"ipv6_jumbogram", v6_jumbo, DropReason::kInner6BadPayloadLength},
      {"bad_total_length", bad_total, DropReason::kInnerBadTotalLength},
  };
}

class ValidateInnerTest : public ::testing::TestWithParam<InnerCase> {};

TEST_P(ValidateInnerTest, Verdict) {
  Harness h(4);
  ASSERT_TRUE(h.table.attach_cstp(1, Harness::lease_of(1)));
  ASSERT_TRUE(h.table.attach_cstp(2, Harness::lease_of(2)));
  ASSERT_TRUE(h.table.attach_ipv6(1, Ipv6Subnet{test::v6addr(3), 128}));
  ASSERT_TRUE(h.table.attach_ipv6(2, Ipv6Subnet{test::v6addr(4), 128}));
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

// A session without an IPv6 lease (no pool, or openconnect --disable-ipv6) sends no IPv6 at all,
// whatever the source; IPv4 from it still passes.
TEST(ValidateInnerNoLeaseTest, Ipv6WithoutLeaseIsDropped) {
  Harness h(4);
  ASSERT_TRUE(h.table.attach_cstp(1, Harness::lease_of(1)));
  std::array<uint8_t, 16> remote6{0x20, 0x01, 0x0d, 0xb8};
  std::vector<PktBuf*> pkts{h.packet(test::ipv6_packet(test::v6addr(3), remote6, 80)),
                            h.packet(test::ipv4_packet(Harness::lease_of(1), test::kRemote, 60))};
  pkts[0]->meta.slot = 1;
  pkts[1]->meta.slot = 1;
  std::vector<PktBuf*> all = pkts;
  EXPECT_EQ(test::run_stage(validate_inner, h.ctx, pkts), 1);
  EXPECT_EQ(h.counters.dropped(DropReason::kInner6NoLease), 1u);
  h.pool.free_bulk(all.data(), 2);
}

// restrict-to-routes, numbered cases: a session allowed 10.55.0.0/24 and the server's tunnel
// address (192.0.2.1/32 here) sends to each destination; only those inside pass.
struct RestrictCase {
  const char* name;
  uint32_t count;      // routes of the restriction used (0 = unrestricted)
  bool allow_ipv6;
  bool ipv6;           // send IPv6 instead of IPv4
  uint32_t dst;        // IPv4 destination
  DropReason expect;
};

class RestrictToRoutesTest : public ::testing::TestWithParam<RestrictCase> {};

TEST_P(RestrictToRoutesTest, Verdict) {
  const RestrictCase& c = GetParam();
  Harness h(4);
  ASSERT_TRUE(h.table.attach_cstp(1, Harness::lease_of(1)));
  ASSERT_TRUE(h.table.attach_ipv6(1, Ipv6Subnet{test::v6addr(3), 128}));
  RouteRestriction r;
  r.count = c.count;
  r.allow_ipv6 = c.allow_ipv6;
  r.routes[0] = Ipv4Prefix{0x0A370000, 24};  // 10.55.0.0/24
  r.routes[1] = Ipv4Prefix{0xC0000201, 32};  // the server's tunnel address
  ASSERT_TRUE(h.table.set_restriction(1, r));
  std::array<uint8_t, 16> remote6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  PktBuf* p = h.packet(c.ipv6 ? test::ipv6_packet(test::v6addr(3), remote6, 80)
                              : test::ipv4_packet(Harness::lease_of(1), c.dst, 60));
  p->meta.slot = 1;
  std::vector<PktBuf*> pkts{p};
  EXPECT_EQ(test::run_stage(validate_inner, h.ctx, pkts), c.expect == DropReason::kNone ? 1 : 0);
  EXPECT_EQ(p->meta.drop, c.expect);
  EXPECT_EQ(h.counters.dropped(DropReason::kNotInRoutes), c.expect == DropReason::kNotInRoutes ? 1u : 0u);
  h.pool.free(p);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RestrictToRoutesTest,
    ::testing::Values(
        /* 1 */ RestrictCase{"inside_route", 2, false, false, 0x0A370002, DropReason::kNone},
        /* 2 */ RestrictCase{"route_network_address", 2, false, false, 0x0A370000, DropReason::kNone},
        /* 3 */ RestrictCase{"route_last_address", 2, false, false, 0x0A3700FF, DropReason::kNone},
        /* 4 */ RestrictCase{"just_past_route", 2, false, false, 0x0A370100, DropReason::kNotInRoutes},
        /* 5 */ RestrictCase{"other_network", 2, false, false, 0x0A380002, DropReason::kNotInRoutes},
        /* 6 */ RestrictCase{"server_tunnel_address", 2, false, false, 0xC0000201, DropReason::kNone},
        /* 7 */ RestrictCase{"server_neighbour", 2, false, false, 0xC0000202, DropReason::kNotInRoutes},
        /* 8 */ RestrictCase{"unrestricted_anything", 0, false, false, 0x08080808, DropReason::kNone},
        /* 9 */ RestrictCase{"ipv6_when_restricted", 2, false, true, 0, DropReason::kNotInRoutes},
        /* 10 */ RestrictCase{"ipv6_allowed", 2, true, true, 0, DropReason::kNone},
        /* 11 */ RestrictCase{"only_first_count_routes", 1, false, false, 0xC0000201, DropReason::kNotInRoutes}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(RestrictToRoutesSlotTest, ClearedWithTheSlotAndBounded) {
  Harness h(4);
  RouteRestriction r;
  r.count = 1;
  EXPECT_FALSE(h.table.set_restriction(1, r)) << "a free slot takes no restriction";
  ASSERT_TRUE(h.table.attach_cstp(1, Harness::lease_of(1)));
  r.count = kMaxRestrictedRoutes + 1;
  EXPECT_FALSE(h.table.set_restriction(1, r));
  r.count = 1;
  ASSERT_TRUE(h.table.set_restriction(1, r));
  EXPECT_TRUE(h.table.restriction(1).restricted());
  h.table.release(1);
  ASSERT_TRUE(h.table.attach_cstp(1, Harness::lease_of(1)));
  EXPECT_FALSE(h.table.restriction(1).restricted()) << "the next session in the slot starts unrestricted";
}

}  // namespace
}  // namespace ocm::datapath
