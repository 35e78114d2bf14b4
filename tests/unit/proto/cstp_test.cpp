#include "ocm/proto/cstp.hpp"

#include <gtest/gtest.h>

#include "param_name.hpp"

#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace ocm::proto {
namespace {

std::vector<uint8_t> frame(CstpType type, size_t payload_len, uint8_t fill = 0xAB) {
  std::vector<uint8_t> out(kCstpHeaderSize + payload_len, fill);
  encode_cstp_header(out.data(), type, static_cast<uint16_t>(payload_len));
  return out;
}

TEST(CstpEncode, HeaderBytes) {
  uint8_t header[kCstpHeaderSize];
  encode_cstp_header(header, CstpType::kData, 0x1234);
  const uint8_t expected[kCstpHeaderSize] = {'S', 'T', 'F', 0x01, 0x12, 0x34, 0x00, 0x00};
  EXPECT_EQ(std::memcmp(header, expected, sizeof(expected)), 0);

  encode_cstp_header(header, CstpType::kDpdResponse, 0);
  const uint8_t dpd[kCstpHeaderSize] = {'S', 'T', 'F', 0x01, 0x00, 0x00, 0x04, 0x00};
  EXPECT_EQ(std::memcmp(header, dpd, sizeof(dpd)), 0);
}

struct RoundTripCase {
  CstpType type;
  size_t payload_len;
};

class CstpRoundTripTest : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(CstpRoundTripTest, DecodesWhatWasEncoded) {
  auto [type, len] = GetParam();
  auto bytes = frame(type, len);
  for (size_t i = 0; i < len; ++i) {
    bytes[kCstpHeaderSize + i] = static_cast<uint8_t>(i * 7);
  }
  CstpFrame decoded;
  ASSERT_EQ(decode_cstp_record(bytes, decoded), CstpDecodeError::kNone);
  EXPECT_EQ(decoded.type, type);
  ASSERT_EQ(decoded.payload.size(), len);
  // The payload is a view into the record, not a copy.
  EXPECT_EQ(decoded.payload.data(), bytes.data() + kCstpHeaderSize);
  for (size_t i = 0; i < len; ++i) {
    ASSERT_EQ(decoded.payload[i], static_cast<uint8_t>(i * 7));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Frames, CstpRoundTripTest,
    ::testing::Values(RoundTripCase{CstpType::kData, 0}, RoundTripCase{CstpType::kData, 1},
                      RoundTripCase{CstpType::kData, 1400}, RoundTripCase{CstpType::kData, 255},
                      RoundTripCase{CstpType::kData, 256}, RoundTripCase{CstpType::kData, kCstpMaxPayload},
                      RoundTripCase{CstpType::kDpdRequest, 0}, RoundTripCase{CstpType::kDpdRequest, 1300},
                      RoundTripCase{CstpType::kDpdResponse, 0}, RoundTripCase{CstpType::kDisconnect, 0},
                      RoundTripCase{CstpType::kKeepalive, 0}, RoundTripCase{CstpType::kCompressed, 600},
                      RoundTripCase{CstpType::kTerminate, 0}, RoundTripCase{static_cast<CstpType>(0x42), 3}));

TEST(CstpDecode, DisconnectPayloads) {
  // openconnect's logout: 0xB0 + reason text.
  std::string reason = "Aborted by caller";
  auto bytes = frame(CstpType::kDisconnect, 1 + reason.size());
  bytes[kCstpHeaderSize] = kDisconnectUserLogout;
  std::memcpy(bytes.data() + kCstpHeaderSize + 1, reason.data(), reason.size());
  CstpFrame decoded;
  ASSERT_EQ(decode_cstp_record(bytes, decoded), CstpDecodeError::kNone);
  EXPECT_EQ(decoded.type, CstpType::kDisconnect);
  EXPECT_EQ(decoded.payload[0], 0xB0);
  EXPECT_EQ(decoded.payload.size(), 18u);
}

struct DecodeErrorCase {
  const char* name;
  std::vector<uint8_t> record;
  CstpDecodeError error;
};

// NOLINTNEXTLINE(readability-identifier-naming): gtest looks this hook up by name.
void PrintTo(const DecodeErrorCase& c, std::ostream* os) {
  *os << c.name;
}

std::vector<DecodeErrorCase> decode_error_cases() {
  std::vector<DecodeErrorCase> cases;
  for (size_t n = 0; n < kCstpHeaderSize; ++n) {
    auto bytes = frame(CstpType::kData, 0);
    bytes.resize(n);
    cases.push_back({"TooShort", bytes, CstpDecodeError::kTooShort});
  }
  for (size_t i = 0; i < 4; ++i) {
    auto bytes = frame(CstpType::kData, 4);
    bytes[i] ^= 0x20;
    cases.push_back({"BadMagic", bytes, CstpDecodeError::kBadMagic});
  }
  {
    auto bytes = frame(CstpType::kData, 4);
    bytes[3] = 0x02;  // "STF\x02": a different protocol version
    cases.push_back({"BadMagicVersion", bytes, CstpDecodeError::kBadMagic});
  }
  {
    auto bytes = frame(CstpType::kData, 4);
    bytes[7] = 0x01;
    cases.push_back({"BadReserved", bytes, CstpDecodeError::kBadReserved});
    bytes[7] = 0x80;
    cases.push_back({"BadReservedHighBit", bytes, CstpDecodeError::kBadReserved});
  }
  {
    auto bytes = frame(CstpType::kData, 4);
    bytes.pop_back();
    cases.push_back({"RecordShorterThanLength", bytes, CstpDecodeError::kLengthMismatch});
  }
  {
    auto bytes = frame(CstpType::kData, 4);
    bytes.push_back(0);
    cases.push_back({"RecordLongerThanLength", bytes, CstpDecodeError::kLengthMismatch});
  }
  {
    // Two frames in one record break the one-frame-per-record rule.
    auto bytes = frame(CstpType::kKeepalive, 0);
    auto second = frame(CstpType::kKeepalive, 0);
    bytes.insert(bytes.end(), second.begin(), second.end());
    cases.push_back({"TwoFramesInOneRecord", bytes, CstpDecodeError::kLengthMismatch});
  }
  {
    auto bytes = frame(CstpType::kData, kCstpMaxPayload + 1);
    cases.push_back({"PayloadOneOverMax", bytes, CstpDecodeError::kTooLong});
  }
  {
    std::vector<uint8_t> bytes = {'S', 'T', 'F', 0x01, 0xFF, 0xFF, 0x00, 0x00};
    cases.push_back({"LengthFieldMax", bytes, CstpDecodeError::kTooLong});
  }
  return cases;
}

class CstpDecodeErrorTest : public ::testing::TestWithParam<DecodeErrorCase> {};

TEST_P(CstpDecodeErrorTest, Rejects) {
  CstpFrame decoded;
  decoded.type = CstpType::kTerminate;
  EXPECT_EQ(decode_cstp_record(GetParam().record, decoded), GetParam().error);
  EXPECT_EQ(decoded.type, CstpType::kTerminate) << "output must be untouched on error";
  EXPECT_TRUE(decoded.payload.empty());
}

INSTANTIATE_TEST_SUITE_P(Records, CstpDecodeErrorTest, ::testing::ValuesIn(decode_error_cases()),
                         indexed_case_name<DecodeErrorCase>);

TEST(CstpDecode, ErrorNamesAreDistinct) {
  std::set<std::string> names;
  for (auto e : {CstpDecodeError::kNone, CstpDecodeError::kTooShort, CstpDecodeError::kBadMagic,
                 CstpDecodeError::kBadReserved, CstpDecodeError::kLengthMismatch, CstpDecodeError::kTooLong}) {
    const char* name = to_string(e);
    ASSERT_NE(name, nullptr);
    names.insert(name);
  }
  EXPECT_EQ(names.size(), 6u);
}

TEST(CstpCodec, IsNoexcept) {
  static_assert(noexcept(decode_cstp_record(std::span<const uint8_t>{}, std::declval<CstpFrame&>())));
  static_assert(noexcept(encode_cstp_header(nullptr, CstpType::kData, 0)));
  static_assert(noexcept(to_string(CstpDecodeError::kNone)));
}

}  // namespace
}  // namespace ocm::proto
