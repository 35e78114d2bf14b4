// LZS (protocol.md §6.6) through compress_packet/decompress_packet(Compression::kLzs): bit
// streams written out by hand from the encoding rules (RFC 1974 / ANSI X3.241 as openconnect and
// ocserv send it), rejection of malformed streams, and bounds on what the decoder writes.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "codec_test_util.hpp"
#include "ocm/proto/compression.hpp"
#include "param_name.hpp"

namespace ocm::proto {
namespace {

using testutil::bits;
using testutil::bytes_of;
using testutil::Guarded;
using testutil::literal;

constexpr std::string_view kEnd = " 110000000";  // end marker: short offset 0

size_t lzs_decode(const std::vector<uint8_t>& in, Guarded& out) {
  return decompress_packet(Compression::kLzs, in, out.out());
}

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += s;
  }
  return out;
}

// --- Decoding streams written by hand ---------------------------------------------------------

struct DecodeCase {
  const char* name;
  std::string stream;  // bit string
  std::string expected;
};

class LzsDecodeTest : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(LzsDecodeTest, DecodesHandWrittenStream) {
  const auto& c = GetParam();
  Guarded out(c.expected.size());
  ASSERT_EQ(lzs_decode(bits(c.stream), out), c.expected.size());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(out.first(c.expected.size()).data()), c.expected.size()),
            c.expected);
  EXPECT_TRUE(out.guards_intact());
}

std::string run_with_length(std::string_view length_code) {
  return literal('A') + "11 0000001 " + std::string(length_code) + std::string(kEnd);
}

std::string long_offset_stream() {
  // 130 literals 0..129, then a match of 2 at offset 130 (the 11-bit form: 10 00010000010).
  std::string s;
  for (int i = 0; i < 130; ++i) {
    s += literal(static_cast<uint8_t>(i));
  }
  return s + "10 00010000010 00" + std::string(kEnd);
}

std::string long_offset_expected() {
  std::string s;
  for (int i = 0; i < 130; ++i) {
    s += static_cast<char>(i);
  }
  return s + std::string("\x00\x01", 2);
}

INSTANTIATE_TEST_SUITE_P(
    Streams, LzsDecodeTest,
    ::testing::Values(
        DecodeCase{"SingleLiteral", literal('A') + std::string(kEnd), "A"},
        DecodeCase{"TwoLiterals", literal('h') + literal('i') + std::string(kEnd), "hi"},
        DecodeCase{"LiteralFF", literal(0xFF) + std::string(kEnd), "\xFF"},
        // Length codes: 00/01/10 = 2..4, 1100/1101/1110 = 5..7, 1111 + nibble = 8..22, each
        // further 1111 adds 15.
        DecodeCase{"Length2", run_with_length("00"), std::string(3, 'A')},
        DecodeCase{"Length3", run_with_length("01"), std::string(4, 'A')},
        DecodeCase{"Length4", run_with_length("10"), std::string(5, 'A')},
        DecodeCase{"Length5", run_with_length("1100"), std::string(6, 'A')},
        DecodeCase{"Length6", run_with_length("1101"), std::string(7, 'A')},
        DecodeCase{"Length7", run_with_length("1110"), std::string(8, 'A')},
        DecodeCase{"Length8", run_with_length("1111 0000"), std::string(9, 'A')},
        DecodeCase{"Length9", run_with_length("1111 0001"), std::string(10, 'A')},
        DecodeCase{"Length22", run_with_length("1111 1110"), std::string(23, 'A')},
        DecodeCase{"Length23", run_with_length("1111 1111 0000"), std::string(24, 'A')},
        DecodeCase{"Length37", run_with_length("1111 1111 1110"), std::string(38, 'A')},
        DecodeCase{"Length38", run_with_length("1111 1111 1111 0000"), std::string(39, 'A')},
        DecodeCase{"Offset2", literal('A') + literal('B') + "11 0000010 1101" + std::string(kEnd), "ABABABAB"},
        DecodeCase{"Offset127",
                   [] {
                     std::string s;
                     for (int i = 0; i < 127; ++i) {
                       s += literal(static_cast<uint8_t>('a' + i % 26));
                     }
                     return s + "11 1111111 00" + std::string(kEnd);
                   }(),
                   [] {
                     std::string s;
                     for (int i = 0; i < 127; ++i) {
                       s += static_cast<char>('a' + i % 26);
                     }
                     return s + "ab";
                   }()},
        DecodeCase{"LongOffset130", long_offset_stream(), long_offset_expected()},
        // The 11-bit form with a small offset is not what an encoder would send, but it is a
        // valid stream (openconnect accepts it too).
        DecodeCase{"LongFormSmallOffset", literal('x') + "10 00000000001 00" + std::string(kEnd), "xxx"},
        // Bytes after the end marker are not part of the stream.
        DecodeCase{"TrailingBytesIgnored", literal('A') + std::string(kEnd) + " 0000000 11111111 10101010", "A"}),
    case_name<DecodeCase>);

TEST(LzsDecode, KnownBytes) {
  // Worked out bit by bit from the encoding rules:
  //  "A": 0 01000001 | 110000000 | 000000 -> 20 E0 00
  //  "AAAAAAAA": 0 01000001 | 11 0000001 | 1110 | 110000000 | 0 -> 20 E0 7B 00
  Guarded one(1);
  ASSERT_EQ(decompress_packet(Compression::kLzs, std::vector<uint8_t>{0x20, 0xE0, 0x00}, one.out()), 1u);
  EXPECT_EQ(one.first(1)[0], 'A');
  Guarded eight(8);
  ASSERT_EQ(decompress_packet(Compression::kLzs, std::vector<uint8_t>{0x20, 0xE0, 0x7B, 0x00}, eight.out()), 8u);
  for (uint8_t b : eight.first(8)) {
    EXPECT_EQ(b, 'A');
  }
  EXPECT_TRUE(one.guards_intact() && eight.guards_intact());
}

// --- Encoding: the compressor's exact output ------------------------------------------------

struct EncodeCase {
  const char* name;
  std::string input;
  std::string stream;  // expected bit string
};

class LzsEncodeTest : public ::testing::TestWithParam<EncodeCase> {
 protected:
  std::unique_ptr<CompressScratch> scratch_ = std::make_unique<CompressScratch>();
};

TEST_P(LzsEncodeTest, ProducesExpectedStream) {
  const auto& c = GetParam();
  auto expected = bits(c.stream);
  ASSERT_LT(expected.size(), c.input.size()) << "a case must compress";
  Guarded out(c.input.size());
  size_t n = compress_packet(Compression::kLzs, bytes_of(c.input), out.out(), *scratch_);
  ASSERT_EQ(n, expected.size());
  EXPECT_EQ(std::vector<uint8_t>(out.first(n).begin(), out.first(n).end()), expected);
  EXPECT_TRUE(out.guards_intact());

  // One byte less room than the stream needs: 0, and nothing written past the span.
  Guarded tight(n - 1);
  EXPECT_EQ(compress_packet(Compression::kLzs, bytes_of(c.input), tight.out(), *scratch_), 0u);
  EXPECT_TRUE(tight.guards_intact());
}

std::string long_offset_input() {
  std::string block;
  for (int i = 1; i <= 20; ++i) {
    block += static_cast<char>(i);
  }
  return block + std::string(140, '\0') + block;
}

std::string long_offset_encoding() {
  std::string s;
  for (int i = 1; i <= 20; ++i) {
    s += literal(static_cast<uint8_t>(i));
  }
  s += literal(0);
  // 139 zeros at offset 1: 139 - 8 = 131 = 8 * 15 + 11.
  s += "11 0000001 1111 " + repeat("1111 ", 8) + "1011 ";
  // The block again at offset 160 (11-bit form), length 20 = 8 + 12.
  s += "10 00010100000 1111 1100";
  return s + std::string(kEnd);
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, LzsEncodeTest,
    ::testing::Values(
        EncodeCase{"Run8", "AAAAAAAA", literal('A') + "11 0000001 1110" + std::string(kEnd)},
        EncodeCase{"Run9", "AAAAAAAAA", literal('A') + "11 0000001 1111 0000" + std::string(kEnd)},
        EncodeCase{"Run24", std::string(24, 'A'), literal('A') + "11 0000001 1111 1111 0000" + std::string(kEnd)},
        EncodeCase{"Period2", "ABABABAB", literal('A') + literal('B') + "11 0000010 1101" + std::string(kEnd)},
        EncodeCase{"Period3", "abcabcabcabc",
                   literal('a') + literal('b') + literal('c') + "11 0000011 1111 0001" + std::string(kEnd)},
        EncodeCase{"LongOffset", long_offset_input(), long_offset_encoding()}),
    case_name<EncodeCase>);

// --- Rejection -------------------------------------------------------------------------------

struct RejectCase {
  const char* name;
  std::string stream;
  size_t out_size;
};

class LzsRejectTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(LzsRejectTest, ReturnsZeroWithinBounds) {
  const auto& c = GetParam();
  Guarded out(c.out_size);
  EXPECT_EQ(lzs_decode(bits(c.stream), out), 0u);
  EXPECT_TRUE(out.guards_intact());
}

INSTANTIATE_TEST_SUITE_P(
    Streams, LzsRejectTest,
    ::testing::Values(RejectCase{"EmptyInput", "", 2048},
                      RejectCase{"EndMarkerOnly", "110000000", 2048},  // an empty packet
                      RejectCase{"NoEndMarker", literal('A') + literal('B'), 2048},
                      RejectCase{"ZeroBytesOnly", "00000000 00000000 00000000", 2048},  // literals 0x00 then truncated
                      RejectCase{"LongFormOffsetZero", literal('A') + "10 00000000000 00" + std::string(kEnd), 2048},
                      RejectCase{"OffsetBeforeStart", "11 0000001 00" + std::string(kEnd), 2048},
                      RejectCase{"OffsetBeyondOutput", literal('A') + "11 0000010 00" + std::string(kEnd), 2048},
                      RejectCase{"LongOffsetBeyondOutput", literal('A') + "10 00010000000 00" + std::string(kEnd),
                                 2048},
                      RejectCase{"MatchPastOut", literal('A') + "11 0000001 1110" + std::string(kEnd), 7},
                      RejectCase{"LiteralPastOut", literal('A') + literal('B') + std::string(kEnd), 1},
                      RejectCase{"ZeroSizedOut", literal('A') + std::string(kEnd), 0},
                      RejectCase{"TruncatedInLongOffset", literal('A') + "10 0000", 2048},
                      RejectCase{"TruncatedInLengthNibbles", literal('A') + "11 0000001 1111 1111 11", 2048},
                      RejectCase{"EndMarkerCutShort", literal('A') + "1100000", 2048}),
    case_name<RejectCase>);

TEST(LzsDecode, EveryStrictPrefixOfAStreamIsRejected) {
  auto scratch = std::make_unique<CompressScratch>();
  auto input = testutil::text_bytes(1400, 7);
  Guarded packed(input.size());
  size_t n = compress_packet(Compression::kLzs, input, packed.out(), *scratch);
  ASSERT_GT(n, 0u);
  std::vector<uint8_t> stream(packed.first(n).begin(), packed.first(n).end());
  for (size_t len = 0; len < n; ++len) {
    Guarded out(input.size());
    ASSERT_EQ(decompress_packet(Compression::kLzs, std::span(stream).first(len), out.out()), 0u) << len;
    ASSERT_TRUE(out.guards_intact()) << len;
  }
  Guarded out(input.size());
  ASSERT_EQ(decompress_packet(Compression::kLzs, stream, out.out()), input.size());
  EXPECT_TRUE(std::equal(input.begin(), input.end(), out.first(input.size()).begin()));
}

TEST(LzsDecode, CorruptedStreamsStayWithinOut) {
  auto scratch = std::make_unique<CompressScratch>();
  std::mt19937 rng(1974);
  for (int round = 0; round < 2000; ++round) {
    auto input = testutil::ip_packet_bytes(300 + rng() % 1200, static_cast<uint32_t>(round));
    Guarded packed(input.size());
    size_t n = compress_packet(Compression::kLzs, input, packed.out(), *scratch);
    ASSERT_GT(n, 0u);
    std::vector<uint8_t> stream(packed.first(n).begin(), packed.first(n).end());
    for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; --flips) {
      stream[rng() % n] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
    size_t cap = rng() % 2 ? input.size() : rng() % (input.size() + 1);
    Guarded out(cap);
    size_t got = decompress_packet(Compression::kLzs, stream, out.out());
    ASSERT_LE(got, cap);
    ASSERT_TRUE(out.guards_intact()) << round;
  }
}

TEST(LzsDecode, BombStopsAtOutSize) {
  // One literal, then a match at offset 1 whose length runs on for 4000 nibbles of 1111:
  // 8 + 4000 * 15 = 60008 bytes from a 2 KB stream.
  std::string stream = literal('A') + "11 0000001 1111 " + repeat("1111", 4000) + " 0000" + std::string(kEnd);
  auto packed = bits(stream);
  Guarded out(16384);
  EXPECT_EQ(decompress_packet(Compression::kLzs, packed, out.out()), 0u);
  EXPECT_TRUE(out.guards_intact());

  // The same stream with room for all of it decodes: it was the bound that stopped it.
  Guarded big(60009);
  EXPECT_EQ(decompress_packet(Compression::kLzs, packed, big.out()), 60009u);
  EXPECT_TRUE(big.guards_intact());
}

TEST(LzsEncode, TinyAndEmptyInputsAreNotCompressed) {
  auto scratch = std::make_unique<CompressScratch>();
  Guarded out(64);
  EXPECT_EQ(compress_packet(Compression::kLzs, {}, out.out(), *scratch), 0u);
  EXPECT_EQ(compress_packet(Compression::kLzs, bytes_of("A"), out.out(), *scratch), 0u);
  EXPECT_EQ(compress_packet(Compression::kLzs, bytes_of("AB"), out.out(), *scratch), 0u);
  // Four equal bytes: literal + match (2 + 2 + end) = 29 bits = 4 bytes, not smaller.
  EXPECT_EQ(compress_packet(Compression::kLzs, bytes_of("AAAA"), out.out(), *scratch), 0u);
  // Five: 4 bytes < 5.
  EXPECT_EQ(compress_packet(Compression::kLzs, bytes_of("AAAAA"), out.out(), *scratch), 4u);
  EXPECT_TRUE(out.guards_intact());
}

TEST(LzsEncode, ScratchReuseDoesNotLeakHistory) {
  // The same scratch for two packets: the second must not refer to bytes of the first.
  auto scratch = std::make_unique<CompressScratch>();
  auto first = testutil::text_bytes(2000, 1);
  Guarded a(first.size());
  ASSERT_GT(compress_packet(Compression::kLzs, first, a.out(), *scratch), 0u);
  auto second = testutil::text_bytes(500, 2);
  Guarded b(second.size());
  size_t n = compress_packet(Compression::kLzs, second, b.out(), *scratch);
  ASSERT_GT(n, 0u);
  Guarded c(second.size());
  ASSERT_EQ(decompress_packet(Compression::kLzs, b.first(n), c.out()), second.size());
  EXPECT_TRUE(std::equal(second.begin(), second.end(), c.first(second.size()).begin()));
}

TEST(LzsEncode, OffsetsStayWithinTheWindow) {
  // A block repeated 2164 bytes later is out of reach (the 11-bit offset ends at 2047): the
  // second copy must go out as literals. An encoder that emitted the offset anyway would set
  // bits outside the 11-bit field and the stream would not decode back.
  auto scratch = std::make_unique<CompressScratch>();
  auto block = testutil::random_bytes(64, 5);
  std::vector<uint8_t> input = block;
  input.resize(input.size() + 2100, 0);
  input.insert(input.end(), block.begin(), block.end());
  Guarded out(input.size());
  size_t n = compress_packet(Compression::kLzs, input, out.out(), *scratch);
  ASSERT_GT(n, 0u);
  EXPECT_GT(n, 2 * 64 * 9 / 8) << "both blocks should be literals";
  Guarded back(input.size());
  ASSERT_EQ(decompress_packet(Compression::kLzs, out.first(n), back.out()), input.size());
  EXPECT_TRUE(std::equal(input.begin(), input.end(), back.first(input.size()).begin()));

  // 2047 bytes back is still in reach: block + 1983 zeros + block puts the copy at offset 2047.
  input = block;
  input.resize(input.size() + 2047 - 64, 0);
  input.insert(input.end(), block.begin(), block.end());
  Guarded near(input.size());
  size_t m = compress_packet(Compression::kLzs, input, near.out(), *scratch);
  ASSERT_GT(m, 0u);
  EXPECT_LT(m, n - 50) << "the second block should be one match";
  Guarded back2(input.size());
  ASSERT_EQ(decompress_packet(Compression::kLzs, near.first(m), back2.out()), input.size());
  EXPECT_TRUE(std::equal(input.begin(), input.end(), back2.first(input.size()).begin()));
}

}  // namespace
}  // namespace ocm::proto
