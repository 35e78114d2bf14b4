#include "ocm/session/cookie.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ocm::session {
namespace {

Cookie counting_cookie() {
  Cookie c{};
  for (size_t i = 0; i < c.size(); ++i) {
    c[i] = static_cast<uint8_t>(i);
  }
  return c;
}

TEST(Cookie, RandomCookiesDiffer) {
  std::set<Cookie> seen;
  for (int i = 0; i < 64; ++i) {
    EXPECT_TRUE(seen.insert(random_cookie()).second);
  }
  EXPECT_EQ(seen.count(Cookie{}), 0u);
}

TEST(Cookie, EncodesAsPaddedStandardBase64) {
  EXPECT_EQ(encode_cookie(counting_cookie()), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  Cookie ones{};
  ones.fill(0xff);
  EXPECT_EQ(encode_cookie(ones), "//////////////////////////////////////////8=");
}

TEST(Cookie, RoundTrips) {
  for (int i = 0; i < 16; ++i) {
    const Cookie c = random_cookie();
    const std::string text = encode_cookie(c);
    EXPECT_EQ(text.size(), 44u);
    auto back = decode_cookie(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_TRUE(cookie_equal(*back, c));
  }
  auto known = decode_cookie("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  ASSERT_TRUE(known.has_value());
  EXPECT_EQ(*known, counting_cookie());
}

class DecodeCookieRejectTest : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Malformed, DecodeCookieRejectTest,
                         ::testing::Values("",
                                           "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",     // 43: padding dropped
                                           "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==",   // 45
                                           "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",    // 44 chars but 31 bytes
                                           "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",    // 44 chars but 33 bytes
                                           "//////////////////////////////////////////9=",    // non-canonical last char
                                           "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-=",    // URL-safe alphabet
                                           "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH h=",    // space
                                           "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",  // trailing newline
                                           " AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",   // leading space
                                           "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaG=wdHh8=",    // padding in the middle
                                           std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\0", 44)));

TEST_P(DecodeCookieRejectTest, Rejects) {
  EXPECT_FALSE(decode_cookie(GetParam()).has_value()) << GetParam();
}

TEST(Cookie, EqualityComparesEveryByte) {
  const Cookie a = counting_cookie();
  for (size_t i = 0; i < a.size(); ++i) {
    Cookie b = a;
    b[i] ^= 0x01;
    EXPECT_FALSE(cookie_equal(a, b)) << i;
  }
  EXPECT_TRUE(cookie_equal(a, counting_cookie()));
  EXPECT_TRUE(cookie_equal(Cookie{}, Cookie{}));
}

}  // namespace
}  // namespace ocm::session
