#include "ocm/base/bytes.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ocm {
namespace {

std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

struct Base64Case {
  const char* plain;
  const char* encoded;
};

class Base64Test : public ::testing::TestWithParam<Base64Case> {};

// RFC 4648 §10 test vectors.
INSTANTIATE_TEST_SUITE_P(Rfc4648, Base64Test,
                         ::testing::Values(Base64Case{"", ""}, Base64Case{"f", "Zg=="}, Base64Case{"fo", "Zm8="},
                                           Base64Case{"foo", "Zm9v"}, Base64Case{"foob", "Zm9vYg=="},
                                           Base64Case{"fooba", "Zm9vYmE="}, Base64Case{"foobar", "Zm9vYmFy"}));

TEST_P(Base64Test, EncodesAndDecodes) {
  auto plain = bytes_of(GetParam().plain);
  EXPECT_EQ(base64_encode(plain), GetParam().encoded);
  auto decoded = base64_decode(GetParam().encoded);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, plain);
}

class Base64RejectTest : public ::testing::TestWithParam<const char*> {};

INSTANTIATE_TEST_SUITE_P(Malformed, Base64RejectTest,
                         ::testing::Values("Zg=", "Zg", "Z===", "=Zg=", "Zm9v=Zg=", "Zm9v\n", "Zm 9", "Zm-_",
                                           "Zg==Zg==", "Zg=a"));

TEST_P(Base64RejectTest, Rejects) { EXPECT_FALSE(base64_decode(GetParam()).has_value()) << GetParam(); }

TEST(Hex, EncodesLowerAndUpper) {
  std::vector<uint8_t> data{0x00, 0xab, 0x7f, 0xff};
  EXPECT_EQ(hex_encode(data), "00ab7fff");
  EXPECT_EQ(hex_encode(data, true), "00AB7FFF");
}

// Every length around the 8-byte word boundary, with one differing bit at each position: the
// word loop and the byte tail must both see it.
TEST(ConstantTimeEqual, FindsADifferenceAtEveryPositionAndLength) {
  for (size_t len = 0; len <= 33; ++len) {
    std::vector<uint8_t> a(len);
    for (size_t i = 0; i < len; ++i) {
      a[i] = static_cast<uint8_t>(i * 37 + 1);
    }
    EXPECT_TRUE(constant_time_equal(a, a)) << len;
    for (size_t pos = 0; pos < len; ++pos) {
      for (int bit : {0, 7}) {
        std::vector<uint8_t> b = a;
        b[pos] ^= static_cast<uint8_t>(1u << bit);
        EXPECT_FALSE(constant_time_equal(a, b)) << "len " << len << " pos " << pos << " bit " << bit;
      }
    }
  }
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  auto a = bytes_of("abcdef");
  auto b = bytes_of("abcdef");
  auto c = bytes_of("abcdeg");
  auto d = bytes_of("abcde");
  EXPECT_TRUE(constant_time_equal(a, b));
  EXPECT_FALSE(constant_time_equal(a, c));
  EXPECT_FALSE(constant_time_equal(a, d));
  EXPECT_TRUE(constant_time_equal({}, {}));
}

TEST(SecureZero, ClearsBuffer) {
  uint8_t key[16];
  for (auto& b : key) {
    b = 0x5a;
  }
  secure_zero(key, sizeof key);
  for (auto b : key) {
    EXPECT_EQ(b, 0);
  }
}

}  // namespace
}  // namespace ocm
