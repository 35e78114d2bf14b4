#include "ocm/datapath/checksum.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "reference.hpp"

namespace ocm::datapath {
namespace {

struct SumCase {
  std::string name;
  std::vector<uint8_t> data;
};

std::vector<SumCase> sum_cases() {
  std::vector<SumCase> c;
  c.push_back({"empty", {}});
  c.push_back({"one_byte", {0xab}});
  c.push_back({"two_bytes", {0xab, 0xcd}});
  c.push_back({"three_bytes", {0x01, 0x02, 0x03}});
  c.push_back({"all_ones_8", std::vector<uint8_t>(8, 0xff)});
  c.push_back({"all_ones_1500", std::vector<uint8_t>(1500, 0xff)});
  c.push_back({"all_zero_64", std::vector<uint8_t>(64, 0)});
  // RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
  c.push_back({"rfc1071_example", {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}});
  for (size_t n : {7u, 9u, 31u, 32u, 33u, 63u, 64u, 65u, 1399u, 1434u, 1500u, 9000u, 65535u}) {
    c.push_back({"random_" + std::to_string(n), ref::random_bytes(n, static_cast<uint32_t>(n))});
  }
  // Carry-heavy: every 64-bit add overflows.
  c.push_back({"carry_storm", std::vector<uint8_t>(4096, 0xfe)});
  return c;
}

class ChecksumSum : public ::testing::TestWithParam<SumCase> {};

INSTANTIATE_TEST_SUITE_P(Cases, ChecksumSum, ::testing::ValuesIn(sum_cases()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST_P(ChecksumSum, FoldMatchesReference) {
  const auto& d = GetParam().data;
  EXPECT_EQ(csum_fold(csum_partial(d.data(), d.size(), 0)), ref::fold(ref::sum_words(d.data(), d.size())));
  EXPECT_EQ(csum_finish(csum_partial(d.data(), d.size(), 0)), ref::checksum(d.data(), d.size()));
}

TEST_P(ChecksumSum, CopyCopiesAndSumsTheSame) {
  const auto& d = GetParam().data;
  std::vector<uint8_t> out(d.size() + 1, 0x5a);
  uint64_t acc = csum_copy(out.data(), d.data(), d.size(), 0);
  EXPECT_TRUE(std::equal(d.begin(), d.end(), out.begin()));
  EXPECT_EQ(out.back(), 0x5a) << "wrote past the end";
  EXPECT_EQ(csum_fold(acc), ref::fold(ref::sum_words(d.data(), d.size())));
}

TEST_P(ChecksumSum, EvenPiecesAddUp) {
  const auto& d = GetParam().data;
  for (size_t cut : {0u, 2u, 6u, 20u, 40u, 52u}) {
    if (cut > d.size()) {
      continue;
    }
    uint64_t acc = csum_partial(d.data(), cut, 0);
    acc = csum_partial(d.data() + cut, d.size() - cut, acc);
    EXPECT_EQ(csum_fold(acc), ref::fold(ref::sum_words(d.data(), d.size()))) << "cut at " << cut;
  }
}

TEST(Checksum, Rfc1071ExampleValue) {
  const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(csum_fold(csum_partial(d, sizeof d, 0)), 0xddf2);
  EXPECT_EQ(csum_finish(csum_partial(d, sizeof d, 0)), 0x220d);
}

TEST(Checksum, AddWordIsANetworkOrderWord) {
  const uint8_t d[] = {0x12, 0x34};
  EXPECT_EQ(csum_fold(csum_add_word(0, 0x1234)), csum_fold(csum_partial(d, 2, 0)));
  EXPECT_EQ(csum_fold(csum_add_word(csum_add_word(0, 0xffff), 0x0001)), 0x0001);  // end-around carry
}

TEST(Checksum, FoldEdgeValues) {
  EXPECT_EQ(csum_fold(0), 0);
  EXPECT_EQ(csum_finish(0), 0xffff);
  // A 64-bit accumulator full of ones is ones'-complement "negative zero".
  EXPECT_EQ(csum_fold(~uint64_t{0}), 0xffff);
}

struct PseudoCase {
  const char* name;
  ref::TcpSpec spec;
};

std::vector<PseudoCase> pseudo_cases() {
  std::vector<PseudoCase> c;
  ref::TcpSpec v4;
  c.push_back({"v4_small", v4});
  v4.payload = 1400;
  v4.src = 0xffffffff;
  v4.dst = 0xfffffffe;
  c.push_back({"v4_carry_addresses", v4});
  ref::TcpSpec v6;
  v6.v6 = true;
  v6.payload = 1200;
  c.push_back({"v6", v6});
  return c;
}

class ChecksumPseudo : public ::testing::TestWithParam<PseudoCase> {};

INSTANTIATE_TEST_SUITE_P(Cases, ChecksumPseudo, ::testing::ValuesIn(pseudo_cases()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_P(ChecksumPseudo, MatchesReference) {
  auto p = ref::tcp_packet(GetParam().spec);
  bool v6 = GetParam().spec.v6;
  size_t ihl = v6 ? 40 : 20;
  size_t l4 = p.size() - ihl;
  uint64_t mine = v6 ? csum_pseudo_v6(&p[8], &p[24], 6, static_cast<uint32_t>(l4))
                     : csum_pseudo_v4(&p[12], &p[16], 6, static_cast<uint16_t>(l4));
  uint64_t theirs = v6 ? ref::pseudo_v6(p.data(), 6, l4) : ref::pseudo_v4(p.data(), 6, l4);
  EXPECT_EQ(csum_fold(mine), ref::fold(theirs));
  // And the whole packet verifies with our sum.
  EXPECT_EQ(csum_fold(csum_partial(&p[ihl], l4, mine)), 0xffff);
}

struct HeaderCase {
  const char* name;
  size_t options;
};

class Ipv4HeaderChecksum : public ::testing::TestWithParam<HeaderCase> {};

INSTANTIATE_TEST_SUITE_P(Cases, Ipv4HeaderChecksum,
                         ::testing::Values(HeaderCase{"no_options", 0}, HeaderCase{"4_bytes", 4},
                                           HeaderCase{"40_bytes", 40}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_P(Ipv4HeaderChecksum, RecomputedInPlace) {
  ref::TcpSpec s;
  s.ip_options = GetParam().options;
  auto p = ref::tcp_packet(s);
  uint16_t expected = ref::be16(&p[10]);
  p[10] = 0x12;  // garbage in the field must not matter
  p[11] = 0x34;
  ipv4_set_header_checksum(p.data(), 20 + GetParam().options);
  EXPECT_EQ(ref::be16(&p[10]), expected);
  EXPECT_TRUE(ref::ipv4_header_ok(p.data()));
}

TEST(Checksum, BigEndianAccessors) {
  uint8_t b[4] = {};
  store_be16(b, 0xabcd);
  EXPECT_EQ(b[0], 0xab);
  EXPECT_EQ(load_be16(b), 0xabcd);
  store_be32(b, 0x01020304);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[3], 4);
  EXPECT_EQ(load_be32(b), 0x01020304u);
}

}  // namespace
}  // namespace ocm::datapath
