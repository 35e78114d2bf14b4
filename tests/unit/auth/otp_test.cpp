#include "ocm/auth/otp.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ocm::auth {
namespace {

// RFC 4226 Appendix D / RFC 6238 Appendix B secret: ASCII "12345678901234567890".
constexpr std::string_view kRfcSecretHex = "3132333435363738393031323334353637383930";
const std::vector<uint8_t> kRfcSecret{'1', '2', '3', '4', '5', '6', '7', '8', '9', '0',
                                      '1', '2', '3', '4', '5', '6', '7', '8', '9', '0'};

struct HotpVector {
  uint64_t counter;
  const char* code;
};

class HotpRfc4226 : public ::testing::TestWithParam<HotpVector> {};

TEST_P(HotpRfc4226, MatchesAppendixD) {
  const auto& v = GetParam();
  EXPECT_EQ(format_otp(hotp(kRfcSecret, v.counter, 6), 6), v.code);
}

INSTANTIATE_TEST_SUITE_P(Vectors, HotpRfc4226,
                         ::testing::Values(HotpVector{0, "755224"}, HotpVector{1, "287082"}, HotpVector{2, "359152"},
                                           HotpVector{3, "969429"}, HotpVector{4, "338314"}, HotpVector{5, "254676"},
                                           HotpVector{6, "287922"}, HotpVector{7, "162583"}, HotpVector{8, "399871"},
                                           HotpVector{9, "520489"}));

struct TotpVector {
  uint64_t unix_time;
  const char* code;
};

class TotpRfc6238 : public ::testing::TestWithParam<TotpVector> {};

// The SHA-1 rows of RFC 6238 Appendix B (8 digits, 30 s steps).
TEST_P(TotpRfc6238, MatchesAppendixB) {
  const auto& v = GetParam();
  EXPECT_EQ(format_otp(hotp(kRfcSecret, v.unix_time / 30, 8), 8), v.code);
}

INSTANTIATE_TEST_SUITE_P(Vectors, TotpRfc6238,
                         ::testing::Values(TotpVector{59, "94287082"}, TotpVector{1111111109, "07081804"},
                                           TotpVector{1111111111, "14050471"}, TotpVector{1234567890, "89005924"},
                                           TotpVector{2000000000, "69279037"}, TotpVector{20000000000, "65353130"}));

OtpFile parse_ok(std::string_view text) {
  auto file = OtpFile::parse(text, "users.oath");
  EXPECT_TRUE(file) << (file ? "" : file.error().message);
  return file ? std::move(file).value() : OtpFile{};
}

TEST(OtpFile, ParsesLiboathTypes) {
  auto file = parse_ok(
      "# comment\n"
      "HOTP/T30 alice - 3132333435363738393031323334353637383930\n"
      "HOTP bob - 3132333435363738393031323334353637383930 5\n"
      "HOTP/E/8 carol - 3132333435363738393031323334353637383930\n"
      "HOTP/T60/8 dave - 3132333435363738393031323334353637383930 0 123456 2024-01-01T00:00:00L\n");
  ASSERT_EQ(file.size(), 4u);
  const OtpToken* alice = file.find("alice");
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(alice->kind, OtpKind::kTotp);
  EXPECT_EQ(alice->period, 30u);
  EXPECT_EQ(alice->digits, 6u);
  EXPECT_EQ(alice->secret, kRfcSecret);
  EXPECT_EQ(file.find("bob")->kind, OtpKind::kHotp);
  EXPECT_EQ(file.find("bob")->counter, 5u);
  EXPECT_EQ(file.find("carol")->digits, 8u);
  EXPECT_EQ(file.find("dave")->period, 60u);
  EXPECT_EQ(file.find("nobody"), nullptr);
}

struct BadLine {
  const char* text;
  const char* error_contains;
};

class OtpFileErrors : public ::testing::TestWithParam<BadLine> {};

TEST_P(OtpFileErrors, NamesTheLine) {
  std::string text = "HOTP/T30 ok - 3132333435363738393031323334353637383930\n";
  text += GetParam().text;
  auto file = OtpFile::parse(text, "users.oath");
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message.find("users.oath:2: "), std::string::npos) << file.error().message;
  EXPECT_NE(file.error().message.find(GetParam().error_contains), std::string::npos) << file.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, OtpFileErrors,
    ::testing::Values(BadLine{"TOTP alice - 3132333435363738393031323334353637383930", "unknown token type"},
                      BadLine{"HOTP/T0 alice - 3132333435363738393031323334353637383930", "time step"},
                      BadLine{"HOTP/T30/5 alice - 3132333435363738393031323334353637383930", "digit count"},
                      BadLine{"HOTP/T30/9 alice - 3132333435363738393031323334353637383930", "digit count"},
                      BadLine{"HOTP/X alice - 3132333435363738393031323334353637383930", "malformed"},
                      BadLine{"HOTP/T30 alice 1234 3132333435363738393031323334353637383930", "PIN"},
                      BadLine{"HOTP/T30 alice - 31323", "bad secret"},
                      BadLine{"HOTP/T30 alice - 3132", "bad secret"},  // too short to be a secret
                      BadLine{"HOTP/T30 alice - 313233343536373839303132333435363738393g", "bad secret"},
                      BadLine{"HOTP alice - 3132333435363738393031323334353637383930 x", "bad counter"},
                      BadLine{"HOTP/T30 alice", "expected"},
                      BadLine{"HOTP/T30 ok - 3132333435363738393031323334353637383930", "duplicate"}));

std::string code_at(uint64_t counter, uint32_t digits = 6) {
  return format_otp(hotp(kRfcSecret, counter, digits), digits);
}

TEST(OtpVerifier, TotpAcceptsOneStepEitherSideOnly) {
  auto file = parse_ok(std::string("HOTP/T30 alice - ") + std::string(kRfcSecretHex) + "\n");
  const uint64_t now = 1111111111;  // step 37037037
  const uint64_t step = now / 30;
  for (int64_t delta : {-1, 0, 1}) {
    OtpVerifier v;
    EXPECT_EQ(v.verify(file, "alice", code_at(step + static_cast<uint64_t>(delta)), now), OtpVerifier::Verdict::kOk)
        << delta;
  }
  for (int64_t delta : {-3, -2, 2, 3}) {
    OtpVerifier v;
    EXPECT_EQ(v.verify(file, "alice", code_at(step + static_cast<uint64_t>(delta)), now),
              OtpVerifier::Verdict::kWrong)
        << delta;
  }
}

TEST(OtpVerifier, CodeIsGoodOnlyOnce) {
  auto file = parse_ok(std::string("HOTP/T30 alice - ") + std::string(kRfcSecretHex) + "\n");
  const uint64_t now = 1234567890;
  OtpVerifier v;
  const auto code = code_at(now / 30);
  EXPECT_EQ(v.verify(file, "alice", code, now), OtpVerifier::Verdict::kOk);
  EXPECT_EQ(v.verify(file, "alice", code, now), OtpVerifier::Verdict::kReused);
  // An older step inside the window is also spent once a newer one was accepted.
  EXPECT_EQ(v.verify(file, "alice", code_at(now / 30 - 1), now), OtpVerifier::Verdict::kReused);
  // The next step is still fine.
  EXPECT_EQ(v.verify(file, "alice", code_at(now / 30 + 1), now + 30), OtpVerifier::Verdict::kOk);
}

TEST(OtpVerifier, HotpLookAheadAndCounter) {
  auto file = parse_ok(std::string("HOTP bob - ") + std::string(kRfcSecretHex) + " 2\n");
  OtpVerifier v;
  EXPECT_EQ(v.verify(file, "bob", code_at(0), 0), OtpVerifier::Verdict::kWrong);  // below the file's counter
  EXPECT_EQ(v.verify(file, "bob", code_at(2 + OtpVerifier::kHotpLookAhead), 0), OtpVerifier::Verdict::kWrong);
  EXPECT_EQ(v.verify(file, "bob", code_at(5), 0), OtpVerifier::Verdict::kOk);
  EXPECT_EQ(v.verify(file, "bob", code_at(5), 0), OtpVerifier::Verdict::kReused);
  EXPECT_EQ(v.verify(file, "bob", code_at(4), 0), OtpVerifier::Verdict::kWrong);  // older: refused too
  EXPECT_EQ(v.verify(file, "bob", code_at(6), 0), OtpVerifier::Verdict::kOk);
}

TEST(OtpVerifier, MalformedCodesAndUnknownUsersFail) {
  auto file = parse_ok(std::string("HOTP/T30/8 alice - ") + std::string(kRfcSecretHex) + "\n");
  OtpVerifier v;
  const uint64_t now = 59;
  EXPECT_EQ(v.verify(file, "alice", "94287082", now), OtpVerifier::Verdict::kOk);  // RFC 6238 T=59
  OtpVerifier fresh;
  EXPECT_EQ(fresh.verify(file, "alice", "4287082", now), OtpVerifier::Verdict::kWrong);     // too short
  EXPECT_EQ(fresh.verify(file, "alice", "942870820", now), OtpVerifier::Verdict::kWrong);   // too long
  EXPECT_EQ(fresh.verify(file, "alice", "9428708a", now), OtpVerifier::Verdict::kWrong);    // not digits
  EXPECT_EQ(fresh.verify(file, "alice", "", now), OtpVerifier::Verdict::kWrong);
  EXPECT_EQ(fresh.verify(file, "mallory", "94287082", now), OtpVerifier::Verdict::kNoToken);
}

}  // namespace
}  // namespace ocm::auth
