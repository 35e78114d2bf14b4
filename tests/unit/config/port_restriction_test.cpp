#include "ocm/config/port_restriction.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ocm::config {
namespace {

struct GoodCase {
  const char* name;
  const char* text;
  bool negate;
  std::vector<PortRule> rules;
};

class PortRestrictionGood : public ::testing::TestWithParam<GoodCase> {};

TEST_P(PortRestrictionGood, Parses) {
  const GoodCase& c = GetParam();
  auto r = parse_port_restriction(c.text);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->negate, c.negate);
  EXPECT_EQ(r->rules, c.rules);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PortRestrictionGood,
    ::testing::Values(
        /* 1 */ GoodCase{"one_tcp", "tcp(443)", false, {{6, 443}}},
        /* 2 */
        GoodCase{"ocserv_sample",
                 "tcp(443), tcp(80), udp(443), sctp(99), tcp(583), icmp(), icmpv6()",
                 false,
                 {{6, 443}, {6, 80}, {17, 443}, {132, 99}, {6, 583}, {1, 0}, {58, 0}}},
        /* 3 */ GoodCase{"negated", "!(tcp(443), tcp(80))", true, {{6, 443}, {6, 80}}},
        /* 4 */ GoodCase{"whitespace_everywhere", "  ! ( tcp ( 443 ) ,\tudp( 53 ) )  ", true, {{6, 443}, {17, 53}}},
        /* 5 */ GoodCase{"no_spaces", "udp(53),icmp()", false, {{17, 53}, {1, 0}}},
        /* 6 */ GoodCase{"port_bounds", "tcp(1), tcp(65535)", false, {{6, 1}, {6, 65535}}},
        /* 7 */ GoodCase{"case_insensitive", "TCP(22), IcmpV6()", false, {{6, 22}, {58, 0}}},
        /* 8 */ GoodCase{"duplicates_removed", "tcp(22), tcp(22), icmp(), icmp()", false, {{6, 22}, {1, 0}}},
        /* 9 */ GoodCase{"leading_zeros", "tcp(0443)", false, {{6, 443}}},
        /* 10 */ GoodCase{"icmp_spaces_inside", "icmp( )", false, {{1, 0}}}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

struct BadCase {
  const char* name;
  const char* text;
  const char* message;  // a part of the error message
};

class PortRestrictionBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(PortRestrictionBad, Refused) {
  const BadCase& c = GetParam();
  auto r = parse_port_restriction(c.text);
  ASSERT_FALSE(r) << c.text;
  EXPECT_NE(r.error().message.find(c.message), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(Cases, PortRestrictionBad,
                         ::testing::Values(
                             /* 1 */ BadCase{"empty", "", "empty list"},
                             /* 2 */ BadCase{"blank", "   ", "empty list"},
                             /* 3 */ BadCase{"negated_empty", "!( )", "empty list"},
                             /* 4 */ BadCase{"typo", "tpc(443)", "unknown protocol 'tpc'"},
                             /* 5 */ BadCase{"port_too_big", "tcp(70000)", "port 70000 out of range"},
                             /* 6 */ BadCase{"port_zero", "udp(0)", "port 0 out of range"},
                             /* 7 */ BadCase{"port_huge", "udp(99999999999999999999)", "out of range"},
                             /* 8 */ BadCase{"missing_paren", "tcp(443", "missing ')'"},
                             /* 9 */ BadCase{"missing_paren_before_comma", "tcp(443, udp(53)", "missing ')'"},
                             /* 10 */ BadCase{"negation_unclosed", "!(tcp(443)", "missing ')'"},
                             /* 11 */ BadCase{"negation_without_paren", "!tcp(443)", "expected '(' after '!'"},
                             /* 12 */ BadCase{"tcp_without_port", "tcp()", "needs a port"},
                             /* 13 */ BadCase{"icmp_with_port", "icmp(8)", "takes no port"},
                             /* 14 */ BadCase{"no_parens", "tcp", "missing '('"},
                             /* 15 */ BadCase{"trailing_comma", "tcp(443),", "expected a protocol"},
                             /* 16 */ BadCase{"no_comma", "tcp(443) udp(53)", "expected ','"},
                             /* 17 */ BadCase{"garbage_after_negation", "!(tcp(443)) x", "expected ','"},
                             /* 18 */ BadCase{"port_range_unsupported", "tcp(1-1024)", "missing ')'"},
                             /* 19 */ BadCase{"negative_port", "tcp(-1)", "needs a port"},
                             /* 20 */ BadCase{"double_negation", "!(!(tcp(1)))", "expected a protocol"}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// A session holds kMaxPortRules; duplicates do not count against it.
TEST(PortRestriction, AtMostMaxRules) {
  std::string text;
  for (size_t port = 1; port <= kMaxPortRules; ++port) {
    text += "tcp(" + std::to_string(port) + "), ";
  }
  auto full = parse_port_restriction(text + "tcp(1)");
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(full->rules.size(), kMaxPortRules);
  auto over = parse_port_restriction(text + "udp(1)");
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message.find("more than 32 rules"), std::string::npos) << over.error().message;
}

}  // namespace
}  // namespace ocm::config
