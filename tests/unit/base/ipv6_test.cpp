#include "ocm/base/ipv6.hpp"

#include <gtest/gtest.h>

namespace ocm {
namespace {

Ipv6Addr addr(std::initializer_list<uint8_t> head, std::initializer_list<uint8_t> tail = {}) {
  Ipv6Addr a{};
  size_t i = 0;
  for (uint8_t b : head) {
    a[i++] = b;
  }
  i = 16 - tail.size();
  for (uint8_t b : tail) {
    a[i++] = b;
  }
  return a;
}

struct PrefixCase {
  const char* text;
  bool ok;
  const char* canonical;  // format_ipv6_prefix of the result
};

class ParseIpv6PrefixTest : public ::testing::TestWithParam<PrefixCase> {};

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseIpv6PrefixTest,
    ::testing::Values(PrefixCase{"fd00:1::/64", true, "fd00:1::/64"}, PrefixCase{"::/0", true, "::/0"},
                      PrefixCase{"FD00:0:0:0::/48", true, "fd00::/48"},
                      PrefixCase{"fd00::1/128", true, "fd00::1/128"},
                      PrefixCase{"fd00::1/64", false, ""},     // host bits set
                      PrefixCase{"fd00::/129", false, ""},     // length out of range
                      PrefixCase{"fd00::", false, ""},         // no length
                      PrefixCase{"fd00::/", false, ""}, PrefixCase{"fd00::/6x", false, ""},
                      PrefixCase{"10.0.0.0/8", false, ""},     // IPv4
                      PrefixCase{"fd00:::/64", false, ""}, PrefixCase{"fe80::%eth0/64", false, ""}));

TEST_P(ParseIpv6PrefixTest, Parses) {
  auto r = parse_ipv6_prefix(GetParam().text);
  ASSERT_EQ(r.has_value(), GetParam().ok) << GetParam().text;
  if (r) {
    EXPECT_EQ(format_ipv6_prefix(r->network, r->length), GetParam().canonical);
  }
}

TEST(Ipv6, ParseAndFormatRoundTrip) {
  auto a = parse_ipv6("fd00:1::5");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, addr({0xfd, 0x00, 0x00, 0x01}, {0x05}));
  EXPECT_EQ(format_ipv6(*a), "fd00:1::5");
  EXPECT_FALSE(parse_ipv6(""));
  EXPECT_FALSE(parse_ipv6("1.2.3.4"));
  EXPECT_FALSE(parse_ipv6(std::string(60, '1')));
}

TEST(Ipv6, MaskClearsHostBitsAtEveryBoundary) {
  Ipv6Addr ones;
  ones.fill(0xff);
  EXPECT_EQ(ipv6_masked(ones, 0), Ipv6Addr{});
  EXPECT_EQ(ipv6_masked(ones, 128), ones);
  auto m = ipv6_masked(ones, 61);  // mid-byte: 7 full bytes, then 0xf8
  EXPECT_EQ(m[6], 0xff);
  EXPECT_EQ(m[7], 0xf8);
  EXPECT_EQ(m[8], 0x00);
}

TEST(Ipv6, PrefixContains) {
  auto p = parse_ipv6_prefix("fd00:1::/64");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->contains(*parse_ipv6("fd00:1::1")));
  EXPECT_TRUE(p->contains(*parse_ipv6("fd00:1::ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(p->contains(*parse_ipv6("fd00:1:0:1::1")));
  EXPECT_TRUE(Ipv6Prefix{}.contains(*parse_ipv6("2001:db8::1")));  // ::/0 holds everything
}

}  // namespace
}  // namespace ocm
