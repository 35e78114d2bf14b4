#include "ocm/datapath/inner_packet.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace ocm::datapath {
namespace {

constexpr uint32_t kLease = 0xC0A8640B;  // 192.168.100.11

std::vector<uint8_t> ipv4_packet(uint32_t src, uint32_t dst, size_t total, uint8_t ihl = 5) {
  std::vector<uint8_t> p(total, 0);
  if (total >= 1) {
    p[0] = static_cast<uint8_t>(0x40 | ihl);
  }
  if (total >= 4) {
    p[2] = static_cast<uint8_t>(total >> 8);
    p[3] = static_cast<uint8_t>(total);
  }
  if (total >= 20) {
    for (int i = 0; i < 4; ++i) {
      p[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i));
      p[16 + i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
    }
  }
  return p;
}

struct Case {
  const char* name;
  std::vector<uint8_t> packet;
  InnerVerdict expected;
};

std::vector<Case> cases() {
  std::vector<Case> c;
  c.push_back({"valid", ipv4_packet(kLease, 0x0A000001, 84), InnerVerdict::kOk});
  c.push_back({"valid_with_options", ipv4_packet(kLease, 0x0A000001, 60, 6), InnerVerdict::kOk});
  c.push_back({"empty", {}, InnerVerdict::kTooShort});
  c.push_back({"nineteen_bytes", std::vector<uint8_t>(19, 0x45), InnerVerdict::kTooShort});
  auto v6 = ipv4_packet(kLease, 1, 60);
  v6[0] = 0x60;
  c.push_back({"ipv6", v6, InnerVerdict::kNotIpv4});
  c.push_back({"ihl_too_small", ipv4_packet(kLease, 1, 40, 4), InnerVerdict::kBadHeaderLength});
  c.push_back({"ihl_beyond_packet", ipv4_packet(kLease, 1, 24, 15), InnerVerdict::kBadHeaderLength});
  auto longer = ipv4_packet(kLease, 1, 84);
  longer[3] = 100;
  c.push_back({"total_length_larger", longer, InnerVerdict::kBadTotalLength});
  auto shorter = ipv4_packet(kLease, 1, 84);
  shorter[3] = 40;
  c.push_back({"trailing_bytes", shorter, InnerVerdict::kBadTotalLength});
  c.push_back({"spoofed_source", ipv4_packet(kLease + 1, 1, 84), InnerVerdict::kSourceSpoofed});
  c.push_back({"zero_source", ipv4_packet(0, 1, 84), InnerVerdict::kSourceSpoofed});
  return c;
}

class InnerPacketTest : public ::testing::TestWithParam<Case> {};

INSTANTIATE_TEST_SUITE_P(Cases, InnerPacketTest, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_P(InnerPacketTest, Verdict) {
  EXPECT_EQ(check_inner_ipv4(GetParam().packet, kLease), GetParam().expected)
      << to_string(check_inner_ipv4(GetParam().packet, kLease));
}

// ---- IPv6 ---------------------------------------------------------------------------------

std::vector<uint8_t> ipv6_packet(const Ipv6Addr& src, size_t total) {
  std::vector<uint8_t> p(total, 0);
  p[0] = 0x60;
  if (total >= 40) {
    p[4] = static_cast<uint8_t>((total - 40) >> 8);
    p[5] = static_cast<uint8_t>(total - 40);
    std::copy(src.begin(), src.end(), p.begin() + 8);
    p[24] = 0x20;  // destination 2001:db8::1
    p[25] = 0x01;
    p[26] = 0x0d;
    p[27] = 0xb8;
    p[39] = 1;
  }
  return p;
}

Ipv6Addr v6(const char* text) { return *parse_ipv6(text); }

struct Case6 {
  const char* name;
  std::vector<uint8_t> packet;
  Ipv6Subnet lease;
  InnerVerdict expected;
};

std::vector<Case6> cases6() {
  const Ipv6Subnet host{v6("fd00:1::5"), 128};
  const Ipv6Subnet net64{v6("fd00:1:0:5::"), 64};
  const Ipv6Subnet net61{v6("fd00:1:0:8::"), 61};  // fd00:1:0:8:: .. fd00:1:0:f:ffff:...
  std::vector<Case6> c;
  c.push_back({"host_valid", ipv6_packet(v6("fd00:1::5"), 100), host, InnerVerdict::kOk});
  c.push_back({"host_neighbour", ipv6_packet(v6("fd00:1::6"), 100), host, InnerVerdict::kIpv6SourceSpoofed});
  c.push_back({"host_link_local", ipv6_packet(v6("fe80::5"), 100), host, InnerVerdict::kIpv6SourceSpoofed});
  c.push_back({"net64_any_host", ipv6_packet(v6("fd00:1:0:5:abcd::1"), 100), net64, InnerVerdict::kOk});
  c.push_back({"net64_next_subnet", ipv6_packet(v6("fd00:1:0:6::1"), 100), net64, InnerVerdict::kIpv6SourceSpoofed});
  c.push_back({"net61_last_subnet", ipv6_packet(v6("fd00:1:0:f::1"), 100), net61, InnerVerdict::kOk});
  c.push_back({"net61_beyond", ipv6_packet(v6("fd00:1:0:10::1"), 100), net61, InnerVerdict::kIpv6SourceSpoofed});
  c.push_back({"net61_below", ipv6_packet(v6("fd00:1:0:7::1"), 100), net61, InnerVerdict::kIpv6SourceSpoofed});
  c.push_back({"no_lease", ipv6_packet(v6("fd00:1::5"), 100), Ipv6Subnet{}, InnerVerdict::kIpv6NoLease});
  c.push_back({"header_only", ipv6_packet(v6("fd00:1::5"), 40), host, InnerVerdict::kOk});
  c.push_back({"thirty_nine_bytes", std::vector<uint8_t>(39, 0x60), host, InnerVerdict::kIpv6TooShort});
  auto longer = ipv6_packet(v6("fd00:1::5"), 100);
  longer[5] = 61;
  c.push_back({"payload_length_larger", longer, host, InnerVerdict::kIpv6BadPayloadLength});
  auto jumbo = ipv6_packet(v6("fd00:1::5"), 100);
  jumbo[5] = 0;
  c.push_back({"jumbogram", jumbo, host, InnerVerdict::kIpv6BadPayloadLength});
  return c;
}

class InnerPacket6Test : public ::testing::TestWithParam<Case6> {};

INSTANTIATE_TEST_SUITE_P(Cases, InnerPacket6Test, ::testing::ValuesIn(cases6()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_P(InnerPacket6Test, Verdict) {
  const Case6& c = GetParam();
  EXPECT_EQ(check_inner_ipv6(c.packet, c.lease), c.expected) << to_string(check_inner_ipv6(c.packet, c.lease));
  // check_inner dispatches on the version nibble; the IPv4 lease plays no part.
  EXPECT_EQ(check_inner(c.packet, kLease, c.lease), c.expected);
}

TEST(CheckInner, DispatchesByVersion) {
  const Ipv6Subnet host{v6("fd00:1::5"), 128};
  EXPECT_EQ(check_inner(ipv4_packet(kLease, 1, 60), kLease, host), InnerVerdict::kOk);
  EXPECT_EQ(check_inner(ipv4_packet(kLease + 1, 1, 60), kLease, host), InnerVerdict::kSourceSpoofed);
  auto v5 = ipv4_packet(kLease, 1, 60);
  v5[0] = 0x55;
  EXPECT_EQ(check_inner(v5, kLease, host), InnerVerdict::kNotIpv4);
  EXPECT_EQ(check_inner({}, kLease, host), InnerVerdict::kTooShort);
}

TEST(Ipv6Destination, ReadsDestinationOrRejects) {
  auto p = ipv6_packet(v6("fd00:1::5"), 60);
  const uint8_t* dst = ipv6_destination(p);
  ASSERT_NE(dst, nullptr);
  EXPECT_EQ(dst, p.data() + 24);
  EXPECT_EQ(ipv6_destination(std::vector<uint8_t>(39, 0x60)), nullptr);
  EXPECT_EQ(ipv6_destination(ipv4_packet(kLease, 1, 60)), nullptr);
}

TEST(Ipv4Destination, ReadsDestinationOrRejects) {
  uint32_t dst = 0;
  EXPECT_TRUE(ipv4_destination(ipv4_packet(1, 0xC0A86405, 40), dst));
  EXPECT_EQ(dst, 0xC0A86405u);
  auto v6 = ipv4_packet(1, 2, 40);
  v6[0] = 0x60;
  EXPECT_FALSE(ipv4_destination(v6, dst));
  EXPECT_FALSE(ipv4_destination(std::vector<uint8_t>(10, 0x45), dst));
}

}  // namespace
}  // namespace ocm::datapath
