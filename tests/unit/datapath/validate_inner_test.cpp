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

// restrict-to-ports, numbered cases. A packet is built from a protocol and destination port;
// the session's port rules (and, for the combined cases, routes) decide.
struct PortPacket {
  bool ipv6 = false;
  uint8_t protocol = kProtoTcp;  // IPv4 protocol / IPv6 next header
  uint16_t dport = 443;
  size_t total = 60;
  uint16_t frag_offset = 0;  // IPv4, in 8-byte units
  bool more_fragments = false;
  uint8_t ihl = 5;            // IPv4 header length in words
  uint32_t dst = 0x0A370002;  // IPv4 destination (10.55.0.2, inside the combined cases' route)
};

std::vector<uint8_t> build(const PortPacket& pp) {
  std::vector<uint8_t> p;
  size_t l4 = 0;
  if (pp.ipv6) {
    std::array<uint8_t, 16> remote6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    p = test::ipv6_packet(test::v6addr(3), remote6, pp.total);
    p[6] = pp.protocol;
    l4 = 40;
  } else {
    p = test::ipv4_packet(Harness::lease_of(1), pp.dst, pp.total);
    p[0] = static_cast<uint8_t>(0x40 | pp.ihl);
    p[9] = pp.protocol;
    p[6] = static_cast<uint8_t>((pp.more_fragments ? 0x20 : 0) | ((pp.frag_offset >> 8) & 0x1F));
    p[7] = static_cast<uint8_t>(pp.frag_offset);
    l4 = size_t{pp.ihl} * 4;
  }
  if (p.size() >= l4 + 4) {
    p[l4] = 0xC3;  // source port 50000: never what is checked
    p[l4 + 1] = 0x50;
    p[l4 + 2] = static_cast<uint8_t>(pp.dport >> 8);
    p[l4 + 3] = static_cast<uint8_t>(pp.dport);
  }
  return p;
}

struct PortCase {
  const char* name;
  std::vector<PortRuleSlot> rules;
  bool negate;
  PortPacket packet;
  DropReason expect;
  uint32_t routes = 0;  // 1: also restricted to 10.55.0.0/24
  bool allow_ipv6 = false;
};

const std::vector<PortRuleSlot> kAllowList = {
    {kProtoTcp, 443}, {kProtoUdp, 53}, {kProtoSctp, 99}, {kProtoIcmp, 0}, {kProtoIcmpv6, 0}};
const std::vector<PortRuleSlot> kTcp443 = {{kProtoTcp, 443}};
const std::vector<PortRuleSlot> kNotSmtp = {{kProtoTcp, 25}};

PortPacket v4(uint8_t protocol, uint16_t dport, size_t total = 60) {
  PortPacket p;
  p.protocol = protocol;
  p.dport = dport;
  p.total = total;
  return p;
}
PortPacket v6(uint8_t next, uint16_t dport, size_t total = 80) {
  PortPacket p = v4(next, dport, total);
  p.ipv6 = true;
  return p;
}
PortPacket fragment(uint8_t protocol, uint16_t dport, uint16_t offset, bool more) {
  PortPacket p = v4(protocol, dport);
  p.frag_offset = offset;
  p.more_fragments = more;
  return p;
}
PortPacket with_options(uint16_t dport) {
  PortPacket p = v4(kProtoTcp, dport);
  p.ihl = 6;
  return p;
}
PortPacket to(uint32_t dst, uint16_t dport) {
  PortPacket p = v4(kProtoTcp, dport);
  p.dst = dst;
  return p;
}

constexpr DropReason kOk = DropReason::kNone;
constexpr DropReason kPort = DropReason::kPortNotAllowed;
constexpr DropReason kRoute = DropReason::kNotInRoutes;

class RestrictToPortsTest : public ::testing::TestWithParam<PortCase> {};

TEST_P(RestrictToPortsTest, Verdict) {
  const PortCase& c = GetParam();
  Harness h(4);
  ASSERT_TRUE(h.table.attach_cstp(1, Harness::lease_of(1)));
  ASSERT_TRUE(h.table.attach_ipv6(1, Ipv6Subnet{test::v6addr(3), 128}));
  RouteRestriction r;
  r.count = c.routes;
  r.allow_ipv6 = c.allow_ipv6;
  r.routes[0] = Ipv4Prefix{0x0A370000, 24};  // 10.55.0.0/24
  r.ports_negate = c.negate;
  for (const auto& rule : c.rules) {
    r.ports[r.port_count++] = rule;
  }
  ASSERT_TRUE(h.table.set_restriction(1, r));
  EXPECT_TRUE(h.table.restriction(1).restricted());
  auto bytes = build(c.packet);
  ASSERT_EQ(check_inner(bytes, Harness::lease_of(1), Ipv6Subnet{test::v6addr(3), 128}), InnerVerdict::kOk)
      << "the case must test the restriction, not the header checks";
  PktBuf* p = h.packet(bytes);
  p->meta.slot = 1;
  std::vector<PktBuf*> pkts{p};
  EXPECT_EQ(test::run_stage(validate_inner, h.ctx, pkts), c.expect == kOk ? 1 : 0);
  EXPECT_EQ(p->meta.drop, c.expect);
  EXPECT_EQ(h.counters.dropped(kPort), c.expect == kPort ? 1u : 0u);
  EXPECT_EQ(h.counters.dropped(kRoute), c.expect == kRoute ? 1u : 0u);
  // The CSTP path asks the same object.
  EXPECT_EQ(r.allows(bytes), c.expect == kOk);
  h.pool.free(p);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RestrictToPortsTest,
    ::testing::Values(
        // Allow-list, IPv4.
        /* 1 */ PortCase{"tcp_listed", kAllowList, false, v4(kProtoTcp, 443), kOk},
        /* 2 */ PortCase{"tcp_other_port", kAllowList, false, v4(kProtoTcp, 80), kPort},
        /* 3 */ PortCase{"udp_listed", kAllowList, false, v4(kProtoUdp, 53), kOk},
        /* 4 */ PortCase{"udp_port_of_a_tcp_rule", kAllowList, false, v4(kProtoUdp, 443), kPort},
        /* 5 */ PortCase{"sctp_listed", kAllowList, false, v4(kProtoSctp, 99), kOk},
        /* 6 */ PortCase{"sctp_other_port", kAllowList, false, v4(kProtoSctp, 98), kPort},
        /* 7 */ PortCase{"icmp_listed", kAllowList, false, v4(kProtoIcmp, 0x0800), kOk},
        /* 8 */ PortCase{"icmp_not_listed", kTcp443, false, v4(kProtoIcmp, 0x0800), kPort},
        /* 9 */ PortCase{"unknown_protocol", kAllowList, false, v4(47, 443), kPort},
        /* 10 */ PortCase{"source_port_is_not_checked", {{kProtoTcp, 50000}}, false, v4(kProtoTcp, 443), kPort},
        /* 11 */ PortCase{"ip_options_skipped", kTcp443, false, with_options(443), kOk},
        /* 12 */ PortCase{"ip_options_other_port", kTcp443, false, with_options(80), kPort},
        /* 13 */ PortCase{"icmpv6_rule_not_for_ipv4", {{kProtoIcmpv6, 0}}, false, v4(kProtoIcmp, 0), kPort},
        // Allow-list, IPv6.
        /* 14 */ PortCase{"v6_tcp_listed", kAllowList, false, v6(kProtoTcp, 443), kOk},
        /* 15 */ PortCase{"v6_udp_other_port", kAllowList, false, v6(kProtoUdp, 54), kPort},
        /* 16 */ PortCase{"v6_sctp_listed", kAllowList, false, v6(kProtoSctp, 99), kOk},
        /* 17 */ PortCase{"v6_icmpv6_listed", kAllowList, false, v6(kProtoIcmpv6, 0x8000), kOk},
        /* 18 */ PortCase{"v6_icmpv6_needs_icmpv6_rule", {{kProtoIcmp, 0}}, false, v6(kProtoIcmpv6, 0), kPort},
        /* 19 */ PortCase{"v6_hop_by_hop_allow_list", kAllowList, false, v6(0, 443), kPort},
        /* 20 */ PortCase{"v6_fragment_header_allow_list", kAllowList, false, v6(44, 443), kPort},
        /* 21 */ PortCase{"v6_extension_header_deny_list", kNotSmtp, true, v6(60, 25), kOk},
        // Deny-list (negation).
        /* 22 */ PortCase{"negated_port_refused", kNotSmtp, true, v4(kProtoTcp, 25), kPort},
        /* 23 */ PortCase{"negated_other_port", kNotSmtp, true, v4(kProtoTcp, 26), kOk},
        /* 24 */ PortCase{"negated_other_protocol", kNotSmtp, true, v4(kProtoUdp, 25), kOk},
        /* 25 */ PortCase{"negated_icmp_passes", kNotSmtp, true, v4(kProtoIcmp, 0), kOk},
        /* 26 */ PortCase{"negated_icmp_refused", {{kProtoIcmp, 0}}, true, v4(kProtoIcmp, 0), kPort},
        /* 27 */ PortCase{"negated_v6_port_refused", kNotSmtp, true, v6(kProtoTcp, 25), kPort},
        /* 28 */ PortCase{"negated_unknown_protocol", kNotSmtp, true, v4(47, 25), kOk},
        // IPv4 fragments: the first carries the ports; later ones are judged by protocol.
        /* 29 */ PortCase{"first_fragment_listed", kTcp443, false, fragment(kProtoTcp, 443, 0, true), kOk},
        /* 30 */ PortCase{"first_fragment_other_port", kTcp443, false, fragment(kProtoTcp, 80, 0, true), kPort},
        /* 31 */ PortCase{"later_fragment_listed_protocol", kTcp443, false, fragment(kProtoTcp, 80, 185, true), kOk},
        /* 32 */ PortCase{"last_fragment_listed_protocol", kTcp443, false, fragment(kProtoTcp, 80, 185, false), kOk},
        /* 33 */ PortCase{"later_fragment_other_protocol", kTcp443, false, fragment(kProtoUdp, 443, 185, true), kPort},
        /* 34 */ PortCase{"later_fragment_deny_list", kNotSmtp, true, fragment(kProtoTcp, 25, 185, true), kOk},
        /* 35 */ PortCase{"later_fragment_icmp", kAllowList, false, fragment(kProtoIcmp, 0, 1, false), kOk},
        // Too short for the destination port: dropped by either kind of list.
        /* 36 */ PortCase{"tcp_two_bytes_of_header", kTcp443, false, v4(kProtoTcp, 443, 22), kPort},
        /* 37 */ PortCase{"udp_short_deny_list", kNotSmtp, true, v4(kProtoUdp, 25, 23), kPort},
        /* 38 */ PortCase{"udp_exactly_ports", kAllowList, false, v4(kProtoUdp, 53, 24), kOk},
        /* 39 */ PortCase{"v6_tcp_short", kTcp443, false, v6(kProtoTcp, 443, 42), kPort},
        /* 40 */ PortCase{"icmp_needs_no_ports", kAllowList, false, v4(kProtoIcmp, 0, 20), kOk},
        /* 41 */
        PortCase{"short_later_fragment", kTcp443, false,
                 [] {
                   PortPacket p = fragment(kProtoTcp, 0, 3, false);
                   p.total = 21;
                   return p;
                 }(),
                 kOk},
        // With restrict-to-routes too (10.55.0.0/24): routes are judged first.
        /* 42 */ PortCase{"both_pass", kTcp443, false, to(0x0A370002, 443), kOk, 1},
        /* 43 */ PortCase{"route_ok_port_not", kTcp443, false, to(0x0A370002, 80), kPort, 1},
        /* 44 */ PortCase{"port_ok_route_not", kTcp443, false, to(0x08080808, 443), kRoute, 1},
        /* 45 */ PortCase{"neither", kTcp443, false, to(0x08080808, 80), kRoute, 1},
        /* 46 */ PortCase{"v6_route_refused_first", kTcp443, false, v6(kProtoTcp, 443), kRoute, 1},
        /* 47 */ PortCase{"v6_route_allowed_port_not", kTcp443, false, v6(kProtoTcp, 80), kPort, 1, true},
        /* 48 */ PortCase{"ports_only_any_destination", kTcp443, false, to(0x08080808, 443), kOk}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(RestrictToPortsSlotTest, BoundedAndNamed) {
  Harness h(4);
  ASSERT_TRUE(h.table.attach_cstp(1, Harness::lease_of(1)));
  RouteRestriction r;
  r.port_count = kMaxPortRules + 1;
  EXPECT_FALSE(h.table.set_restriction(1, r));
  r.port_count = kMaxPortRules;
  ASSERT_TRUE(h.table.set_restriction(1, r));
  EXPECT_TRUE(h.table.restriction(1).restricted()) << "ports alone restrict a session";
  EXPECT_EQ(h.table.restriction(1).count, 0u);
  h.table.release(1);
  ASSERT_TRUE(h.table.attach_cstp(1, Harness::lease_of(1)));
  EXPECT_FALSE(h.table.restriction(1).restricted()) << "the next session in the slot starts unrestricted";
  EXPECT_STREQ(to_string(DropReason::kPortNotAllowed), "port_not_allowed");
}

}  // namespace
}  // namespace ocm::datapath
