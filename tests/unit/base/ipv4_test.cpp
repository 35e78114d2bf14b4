#include "ocm/base/ipv4.hpp"

#include <gtest/gtest.h>

namespace ocm {
namespace {

struct AddrCase {
  const char* text;
  bool ok;
  uint32_t value;
};

class ParseIpv4Test : public ::testing::TestWithParam<AddrCase> {};

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseIpv4Test,
    ::testing::Values(AddrCase{"0.0.0.0", true, 0}, AddrCase{"192.168.100.1", true, 0xC0A86401},
                      AddrCase{"255.255.255.255", true, 0xFFFFFFFF}, AddrCase{"256.0.0.1", false, 0},
                      AddrCase{"1.2.3", false, 0}, AddrCase{"1.2.3.4.5", false, 0}, AddrCase{"1.2.3.04", false, 0},
                      AddrCase{"1..3.4", false, 0}, AddrCase{"", false, 0}, AddrCase{"a.b.c.d", false, 0},
                      AddrCase{"1.2.3.4 ", false, 0}, AddrCase{"-1.2.3.4", false, 0}));

TEST_P(ParseIpv4Test, Parses) {
  auto r = parse_ipv4(GetParam().text);
  ASSERT_EQ(r.has_value(), GetParam().ok) << GetParam().text;
  if (r) {
    EXPECT_EQ(*r, GetParam().value);
    EXPECT_EQ(format_ipv4(*r), GetParam().text);
  }
}

struct PrefixCase {
  const char* text;
  bool ok;
  uint32_t network;
  uint8_t length;
};

class ParsePrefixTest : public ::testing::TestWithParam<PrefixCase> {};

INSTANTIATE_TEST_SUITE_P(Cases, ParsePrefixTest,
                         ::testing::Values(PrefixCase{"10.0.0.0/8", true, 0x0A000000, 8},
                                           PrefixCase{"192.168.100.0/24", true, 0xC0A86400, 24},
                                           PrefixCase{"0.0.0.0/0", true, 0, 0},
                                           PrefixCase{"1.2.3.4/32", true, 0x01020304, 32},
                                           PrefixCase{"10.0.0.1/8", false, 0, 0},  // host bits set
                                           PrefixCase{"10.0.0.0/33", false, 0, 0},
                                           PrefixCase{"10.0.0.0/", false, 0, 0}, PrefixCase{"10.0.0.0", false, 0, 0},
                                           PrefixCase{"10.0.0.0/8x", false, 0, 0}));

TEST_P(ParsePrefixTest, Parses) {
  auto r = parse_ipv4_prefix(GetParam().text);
  ASSERT_EQ(r.has_value(), GetParam().ok) << GetParam().text;
  if (r) {
    EXPECT_EQ(r->network, GetParam().network);
    EXPECT_EQ(r->length, GetParam().length);
  }
}

TEST(Ipv4Prefix, NetmaskContainsAndDottedForm) {
  auto p = *parse_ipv4_prefix("10.10.0.0/16");
  EXPECT_EQ(p.netmask(), 0xFFFF0000u);
  EXPECT_TRUE(p.contains(0x0A0A0101));
  EXPECT_FALSE(p.contains(0x0A0B0000));
  EXPECT_EQ(format_prefix_dotted(p), "10.10.0.0/255.255.0.0");
  EXPECT_EQ(Ipv4Prefix{}.netmask(), 0u);
}

}  // namespace
}  // namespace ocm
