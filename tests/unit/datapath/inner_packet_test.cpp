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
