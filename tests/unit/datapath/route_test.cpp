#include <gtest/gtest.h>

#include "ocm/datapath/stages.hpp"
#include "test_support.hpp"

namespace ocm::datapath {
namespace {

using test::Harness;
using test::kPoolNet;

enum class Out { kSeal, kCstp, kDropped };

struct RouteCase {
  const char* name;
  std::vector<uint8_t> packet;
  Out out;
  DropReason drop = DropReason::kNone;
  uint32_t slot = kNoSlot;
};

std::vector<RouteCase> cases() {
  auto to = [](uint32_t dst, size_t len = 80) { return test::ipv4_packet(test::kRemote, dst, len); };
  // Slot i's IPv6 lease is fd00:1::(2+i)/128 (SetUp).
  auto to6 = [](uint16_t low) { return test::ipv6_packet(test::v6addr(0x99, 0x42), test::v6addr(low), 80); };
  auto not_ip = to(Harness::lease_of(0));
  not_ip[0] = 0x50;
  return {
      {"dtls_active", to(Harness::lease_of(0)), Out::kSeal, DropReason::kNone, 0},
      {"cstp_only", to(Harness::lease_of(1)), Out::kCstp, DropReason::kNone, 1},
      {"dtls_inactive", to(Harness::lease_of(2)), Out::kCstp, DropReason::kNone, 2},
      {"unleased_pool_address", to(kPoolNet + 500), Out::kDropped, DropReason::kNoRoute},
      {"outside_pool", to(0x0B000001), Out::kDropped, DropReason::kNoRoute},
      {"pool_broadcast", to(kPoolNet + 0xffff), Out::kDropped, DropReason::kNoRoute},
      {"ipv6_dtls_active", to6(2), Out::kSeal, DropReason::kNone, 0},
      {"ipv6_cstp_only", to6(3), Out::kCstp, DropReason::kNone, 1},
      {"ipv6_unleased", to6(9), Out::kDropped, DropReason::kNoRoute},
      {"ipv6_server_address", to6(1), Out::kDropped, DropReason::kNoRoute},
      {"ipv6_truncated", std::vector<uint8_t>(39, 0x60), Out::kDropped, DropReason::kTunNotIpv4},
      {"version_5", not_ip, Out::kDropped, DropReason::kTunNotIpv4},
      {"too_short", std::vector<uint8_t>(12, 0x45), Out::kDropped, DropReason::kTunNotIpv4},
  };
}

class RouteTest : public ::testing::TestWithParam<RouteCase> {
 protected:
  void SetUp() override {
    h_.activate(0);
    ASSERT_TRUE(h_.table.attach_cstp(1, Harness::lease_of(1)));
    h_.activate(2);
    ASSERT_TRUE(h_.table.mark_dtls_inactive(2));
    for (uint32_t slot = 0; slot < 3; ++slot) {
      ASSERT_TRUE(h_.table.attach_ipv6(slot, Ipv6Subnet{test::v6addr(static_cast<uint16_t>(2 + slot)), 128}));
    }
  }
  Harness h_{8};
};

TEST_P(RouteTest, Verdict) {
  const RouteCase& c = GetParam();
  PktBuf* p = h_.packet(c.packet);
  std::vector<PktBuf*> pkts{p};
  uint16_t kept = test::run_stage(route_tun, h_.ctx, pkts);
  switch (c.out) {
    case Out::kSeal:
      ASSERT_EQ(kept, 1);
      EXPECT_EQ(p->meta.slot, c.slot);
      EXPECT_EQ(p->meta.kind, PktKind::kDtlsPayload);
      EXPECT_EQ(test::bytes_of(p), test::with_type(0x00, c.packet));
      break;
    case Out::kCstp: {
      ASSERT_EQ(kept, 0);
      EXPECT_EQ(p->meta.kind, PktKind::kConsumed);
      EXPECT_EQ(h_.counters.count(Event::kTunToCstp), 1u);
      const CstpPacket* q = h_.cstp.peek();
      ASSERT_NE(q, nullptr);
      EXPECT_EQ(q->slot, c.slot);
      EXPECT_EQ(q->lease, Harness::lease_of(c.slot));
      EXPECT_EQ(std::vector<uint8_t>(q->bytes().begin(), q->bytes().end()), c.packet);
      break;
    }
    case Out::kDropped:
      ASSERT_EQ(kept, 0);
      EXPECT_EQ(p->meta.drop, c.drop);
      EXPECT_EQ(h_.counters.dropped(c.drop), 1u);
      EXPECT_TRUE(h_.cstp.empty());
      break;
  }
  h_.pool.free(p);
}

INSTANTIATE_TEST_SUITE_P(Cases, RouteTest, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(RouteEdgeTest, NoHeadroomForTheTypeByte) {
  Harness h(4);
  h.activate(0);
  auto ip = test::ipv4_packet(test::kRemote, Harness::lease_of(0), 40);
  PktBuf* p = h.pool.alloc();
  std::copy(ip.begin(), ip.end(), p->buffer());
  ASSERT_TRUE(p->set_window(0, 40));  // packet at the very start of the buffer
  std::vector<PktBuf*> pkts{p};
  EXPECT_EQ(test::run_stage(route_tun, h.ctx, pkts), 0);
  EXPECT_EQ(p->meta.drop, DropReason::kTooBig);
  h.pool.free(p);
}

TEST(RouteEdgeTest, CstpRingFullIsCountedDrop) {
  Harness h(4, 64, 64, /*cstp_depth=*/2);
  ASSERT_TRUE(h.table.attach_cstp(1, Harness::lease_of(1)));
  std::vector<PktBuf*> pkts;
  for (int i = 0; i < 3; ++i) {
    pkts.push_back(h.packet(test::ipv4_packet(test::kRemote, Harness::lease_of(1), 40)));
  }
  EXPECT_EQ(test::run_stage(route_tun, h.ctx, pkts), 0);
  EXPECT_EQ(h.counters.count(Event::kTunToCstp), 2u);
  EXPECT_EQ(h.counters.dropped(DropReason::kCstpRingFull), 1u);
  h.pool.free_bulk(pkts.data(), 3);
}

}  // namespace
}  // namespace ocm::datapath
