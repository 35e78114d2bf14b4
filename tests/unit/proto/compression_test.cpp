#include "ocm/proto/compression.hpp"

#include <gtest/gtest.h>
#include <lz4.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "codec_test_util.hpp"
#include "param_name.hpp"

namespace ocm::proto {
namespace {

using testutil::bytes_of;
using testutil::Guarded;

// --- Names and negotiation --------------------------------------------------------------------

TEST(CompressionName, WireNames) {
  EXPECT_EQ(compression_name(Compression::kLz4), "oc-lz4");
  EXPECT_EQ(compression_name(Compression::kLzs), "lzs");
  EXPECT_EQ(compression_name(Compression::kNone), "");
}

struct FromNameCase {
  const char* name;
  std::string_view input;
  Compression expected;
};

class CompressionFromNameTest : public ::testing::TestWithParam<FromNameCase> {};

TEST_P(CompressionFromNameTest, Parses) {
  EXPECT_EQ(compression_from_name(GetParam().input), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Names, CompressionFromNameTest,
                         ::testing::Values(FromNameCase{"Lz4", "oc-lz4", Compression::kLz4},
                                           FromNameCase{"Lzs", "lzs", Compression::kLzs},
                                           FromNameCase{"UpperCase", "OC-LZ4", Compression::kLz4},
                                           FromNameCase{"MixedCase", "LzS", Compression::kLzs},
                                           FromNameCase{"Spaces", "  lzs ", Compression::kLzs},
                                           FromNameCase{"Deflate", "deflate", Compression::kNone},
                                           FromNameCase{"PlainLz4", "lz4", Compression::kNone},
                                           FromNameCase{"Prefix", "lzs2", Compression::kNone},
                                           FromNameCase{"Empty", "", Compression::kNone},
                                           FromNameCase{"List", "oc-lz4,lzs", Compression::kNone}),
                         case_name<FromNameCase>);

struct NegotiateCase {
  const char* name;
  std::string_view accept;
  std::vector<Compression> preference;
  Compression expected;
};

class NegotiateCompressionTest : public ::testing::TestWithParam<NegotiateCase> {};

TEST_P(NegotiateCompressionTest, PicksServerPreference) {
  const auto& c = GetParam();
  EXPECT_EQ(negotiate_compression(c.accept, c.preference), c.expected);
}

const std::vector<Compression> kLzsFirst = {Compression::kLzs, Compression::kLz4};
const std::vector<Compression> kLz4First = {Compression::kLz4, Compression::kLzs};

INSTANTIATE_TEST_SUITE_P(
    Headers, NegotiateCompressionTest,
    ::testing::Values(NegotiateCase{"BothPreferLzs", "oc-lz4,lzs", kLzsFirst, Compression::kLzs},
                      NegotiateCase{"BothPreferLz4", "oc-lz4,lzs", kLz4First, Compression::kLz4},
                      NegotiateCase{"DeflateOnly", "deflate", kLzsFirst, Compression::kNone},
                      NegotiateCase{"DeflateAndLzs", "deflate,lzs", kLz4First, Compression::kLzs},
                      NegotiateCase{"SpacesAndCase", " OC-LZ4 ", kLzsFirst, Compression::kLz4},
                      NegotiateCase{"SpacesAroundCommas", "deflate , lzs , oc-lz4", kLz4First, Compression::kLz4},
                      NegotiateCase{"Empty", "", kLzsFirst, Compression::kNone},
                      NegotiateCase{"OnlyCommas", ",, ,", kLzsFirst, Compression::kNone},
                      NegotiateCase{"EmptyTokens", ",lzs,", kLz4First, Compression::kLzs},
                      NegotiateCase{"UnknownOnly", "gzip,br", kLzsFirst, Compression::kNone},
                      NegotiateCase{"NoPreference", "oc-lz4,lzs", {}, Compression::kNone},
                      NegotiateCase{"ServerOnlyLz4", "lzs", {Compression::kLz4}, Compression::kNone},
                      NegotiateCase{
                          "NoneInPreference", "lzs", {Compression::kNone, Compression::kLzs}, Compression::kLzs}),
    case_name<NegotiateCase>);

// --- LZ4 -------------------------------------------------------------------------------------

TEST(Lz4, StateFitsScratch) {
  // compression.cpp checks this at run time and refuses to compress otherwise; a liblz4 that
  // needs more state would show up here first.
  ASSERT_GT(LZ4_sizeofState(), 0);
  EXPECT_LE(static_cast<size_t>(LZ4_sizeofState()), sizeof(CompressScratch::lz4_state));
  auto scratch = std::make_unique<CompressScratch>();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(scratch->lz4_state) % alignof(void*), 0u);
}

// Hand-made LZ4 blocks (token = literal length << 4 | (match length - 4), then literals, then
// a little-endian offset; the last sequence is literals only).
struct Lz4BlockCase {
  const char* name;
  std::vector<uint8_t> block;
  std::string expected;  // empty: must be rejected
  size_t out_size;
};

class Lz4BlockTest : public ::testing::TestWithParam<Lz4BlockCase> {};

TEST_P(Lz4BlockTest, DecodesOrRejects) {
  const auto& c = GetParam();
  Guarded out(c.out_size);
  size_t n = decompress_packet(Compression::kLz4, c.block, out.out());
  ASSERT_EQ(n, c.expected.size());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(out.first(n).data()), n), c.expected);
  EXPECT_TRUE(out.guards_intact());
}

std::vector<uint8_t> lz4_bomb() {
  // 1 literal 'A', then a match at offset 1 of 15 + 4 + 255 * 200 bytes, then 5 literals.
  std::vector<uint8_t> b = {0x1F, 'A', 0x01, 0x00};
  b.insert(b.end(), 200, 0xFF);
  b.push_back(0x00);
  b.insert(b.end(), {0x50, 'B', 'B', 'B', 'B', 'B'});
  return b;
}

INSTANTIATE_TEST_SUITE_P(
    Blocks, Lz4BlockTest,
    ::testing::Values(
        Lz4BlockCase{"LiteralsOnly", {0x50, 'h', 'e', 'l', 'l', 'o'}, "hello", 64},
        Lz4BlockCase{"Match", {0x17, 'A', 0x01, 0x00, 0x50, 'B', 'B', 'B', 'B', 'B'}, "AAAAAAAAAAAABBBBB", 64},
        Lz4BlockCase{"ExactFit", {0x17, 'A', 0x01, 0x00, 0x50, 'B', 'B', 'B', 'B', 'B'}, "AAAAAAAAAAAABBBBB", 17},
        Lz4BlockCase{"OneByteShort", {0x17, 'A', 0x01, 0x00, 0x50, 'B', 'B', 'B', 'B', 'B'}, "", 16},
        Lz4BlockCase{"OffsetZero", {0x17, 'A', 0x00, 0x00, 0x50, 'B', 'B', 'B', 'B', 'B'}, "", 64},
        Lz4BlockCase{"OffsetZeroAfterLongLiterals",
                     [] {
                       std::vector<uint8_t> b = {0xF0, 1};  // 15 + 1 literals
                       b.insert(b.end(), 16, 'x');
                       b.insert(b.end(), {0x00, 0x00, 0x50, 'B', 'B', 'B', 'B', 'B'});
                       return b;
                     }(),
                     "", 64},
        // End-of-block rules: the last 5 bytes are literals, the last match starts 12 or more
        // bytes before the end.
        Lz4BlockCase{"FourLastLiterals", {0x17, 'A', 0x01, 0x00, 0x40, 'B', 'B', 'B', 'B'}, "", 64},
        Lz4BlockCase{"LastMatchStartsTooLate",
                     {0x50, 'a', 'b', 'c', 'd', 'e', 0x01, 0x00, 0x50, 'B', 'B', 'B', 'B', 'B'},
                     "",
                     64},
        Lz4BlockCase{"EndsWithMatch", {0x1F, 'A', 0x01, 0x00, 0x10}, "", 64},
        Lz4BlockCase{"NoLiteralsAtAll", {0x00}, "", 64},
        Lz4BlockCase{"OffsetBeforeStart", {0x17, 'A', 0x02, 0x00, 0x50, 'B', 'B', 'B', 'B', 'B'}, "", 64},
        Lz4BlockCase{"TruncatedLiterals", {0x50, 'h', 'e'}, "", 64},
        Lz4BlockCase{"TruncatedOffset", {0x17, 'A', 0x01}, "", 64}, Lz4BlockCase{"Empty", {}, "", 64},
        Lz4BlockCase{"ZeroSizedOut", {0x50, 'h', 'e', 'l', 'l', 'o'}, "", 0},
        Lz4BlockCase{"Bomb", lz4_bomb(), "", 16384}),
    case_name<Lz4BlockCase>);

TEST(Lz4, BombDecodesWhenThereIsRoom) {
  // The bomb block above is a valid block: it was out.size() that stopped it.
  auto block = lz4_bomb();
  const size_t full = 1 + 15 + 4 + 255 * 200 + 5;
  Guarded out(full);
  EXPECT_EQ(decompress_packet(Compression::kLz4, block, out.out()), full);
  EXPECT_TRUE(out.guards_intact());
}

TEST(Lz4, ResultDoesNotDependOnRoom) {
  // Found by fuzz_decompress: a block that breaks the end-of-block rules, which liblz4 alone
  // decodes (12 bytes) into a large buffer but refuses into one of exactly 12 bytes.
  const std::vector<uint8_t> block = {0x20, 0x20, 0xe0, 0x01, 0x00, 0x60, 0xe0, 0xe0, 0x7b, 0x00, 0x60, 0x7b};
  for (size_t room : {11u, 12u, 13u, 28u, 100u, 16384u}) {
    Guarded out(room);
    EXPECT_EQ(decompress_packet(Compression::kLz4, block, out.out()), 0u) << room;
    EXPECT_TRUE(out.guards_intact());
  }
  // A well-formed block decodes the same with exactly its size and with any room to spare.
  const std::vector<uint8_t> good = {0x17, 'A', 0x01, 0x00, 0x50, 'B', 'B', 'B', 'B', 'B'};
  for (size_t room : {17u, 18u, 28u, 100u, 16384u}) {
    Guarded out(room);
    ASSERT_EQ(decompress_packet(Compression::kLz4, good, out.out()), 17u) << room;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(out.first(17).data()), 17), "AAAAAAAAAAAABBBBB");
  }
}

TEST(Lz4, CorruptedBlocksStayWithinOut) {
  auto scratch = std::make_unique<CompressScratch>();
  std::mt19937 rng(4);
  for (int round = 0; round < 2000; ++round) {
    auto input = testutil::ip_packet_bytes(300 + rng() % 1200, static_cast<uint32_t>(round));
    Guarded packed(input.size());
    size_t n = compress_packet(Compression::kLz4, input, packed.out(), *scratch);
    ASSERT_GT(n, 0u);
    std::vector<uint8_t> block(packed.first(n).begin(), packed.first(n).end());
    for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; --flips) {
      block[rng() % n] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
    block.resize(rng() % 4 == 0 ? rng() % (n + 1) : n);  // sometimes truncated too
    size_t cap = rng() % 2 ? input.size() : rng() % (input.size() + 1);
    Guarded out(cap);
    ASSERT_LE(decompress_packet(Compression::kLz4, block, out.out()), cap);
    ASSERT_TRUE(out.guards_intact()) << round;
  }
}

// --- Both algorithms: round trips over sizes and kinds of data ------------------------------

enum class Kind { kRandom, kText, kIpPacket, kZeros, kPeriodic };

std::vector<uint8_t> make_data(Kind kind, size_t n) {
  auto seed = static_cast<uint32_t>(n * 31 + static_cast<int>(kind));
  switch (kind) {
    case Kind::kRandom:
      return testutil::random_bytes(n, seed);
    case Kind::kText:
      return testutil::text_bytes(n, seed);
    case Kind::kIpPacket:
      return testutil::ip_packet_bytes(n, seed);
    case Kind::kZeros:
      return std::vector<uint8_t>(n, 0);
    case Kind::kPeriodic: {
      // A random 300-byte block repeated: matches at offset 300, the 11-bit form.
      auto block = testutil::random_bytes(300, seed);
      std::vector<uint8_t> out(n);
      for (size_t i = 0; i < n; ++i) {
        out[i] = block[i % block.size()];
      }
      return out;
    }
  }
  return {};
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::kRandom:
      return "Random";
    case Kind::kText:
      return "Text";
    case Kind::kIpPacket:
      return "IpPacket";
    case Kind::kZeros:
      return "Zeros";
    case Kind::kPeriodic:
      return "Periodic";
  }
  return "?";
}

// The size from which both codecs must shrink the data: text and zeros repeat at once; the
// IP packet's payload starts repeating after ~130 bytes, the periodic data after 300.
size_t compresses_from(Kind kind) {
  switch (kind) {
    case Kind::kRandom:
      return SIZE_MAX;
    case Kind::kText:
    case Kind::kZeros:
      return 64;
    case Kind::kIpPacket:
      return 255;
    case Kind::kPeriodic:
      return 1000;
  }
  return SIZE_MAX;
}

using RoundTripParam = std::tuple<Compression, Kind, size_t>;

class CompressionRoundTripTest : public ::testing::TestWithParam<RoundTripParam> {
 protected:
  std::unique_ptr<CompressScratch> scratch_ = std::make_unique<CompressScratch>();
};

TEST_P(CompressionRoundTripTest, DecompressesToInput) {
  auto [algorithm, kind, size] = GetParam();
  auto input = make_data(kind, size);

  // The usual call: out as large as the input.
  Guarded packed(size);
  size_t n = compress_packet(algorithm, input, packed.out(), *scratch_);
  EXPECT_TRUE(packed.guards_intact());
  if (size >= compresses_from(kind)) {
    EXPECT_GT(n, 0u) << "this data should compress";
  } else if (kind == Kind::kRandom && size >= 64) {
    EXPECT_EQ(n, 0u) << "random data should not compress";
  }
  if (n == 0) {
    return;
  }
  ASSERT_LT(n, size);

  Guarded back(size);
  ASSERT_EQ(decompress_packet(algorithm, packed.first(n), back.out()), size);
  EXPECT_TRUE(std::equal(input.begin(), input.end(), back.first(size).begin()));
  EXPECT_TRUE(back.guards_intact());

  // One byte less room than the packet: refused, and nothing written past the span.
  Guarded short_out(size - 1);
  EXPECT_EQ(decompress_packet(algorithm, packed.first(n), short_out.out()), 0u);
  EXPECT_TRUE(short_out.guards_intact());

  // Compressing into one byte less than the result needs: 0, within bounds.
  Guarded tight(n - 1);
  EXPECT_EQ(compress_packet(algorithm, input, tight.out(), *scratch_), 0u);
  EXPECT_TRUE(tight.guards_intact());

  // A larger out changes nothing: the result is still capped below the input size.
  Guarded roomy(size + 1024);
  size_t again = compress_packet(algorithm, input, roomy.out(), *scratch_);
  EXPECT_EQ(again, n);
  EXPECT_TRUE(roomy.guards_intact());
}

std::string round_trip_name(const ::testing::TestParamInfo<RoundTripParam>& info) {
  auto [algorithm, kind, size] = info.param;
  return std::string(algorithm == Compression::kLz4 ? "Lz4" : "Lzs") + kind_name(kind) + std::to_string(size);
}

constexpr size_t kSizes[] = {1,    2,    3,    4,    5,    8,    12,   13,    16,   17,   31,
                             64,   127,  128,  129,  255,  256,  300,  301,   1000, 1399, 1400,
                             1500, 2047, 2048, 2049, 4096, 8191, 9000, 16383, 16384};

INSTANTIATE_TEST_SUITE_P(SizesAndData, CompressionRoundTripTest,
                         ::testing::Combine(::testing::Values(Compression::kLz4, Compression::kLzs),
                                            ::testing::Values(Kind::kRandom, Kind::kText, Kind::kIpPacket, Kind::kZeros,
                                                              Kind::kPeriodic),
                                            ::testing::ValuesIn(kSizes)),
                         round_trip_name);

TEST(Compression, NoneNeverCompressesOrDecompresses) {
  auto scratch = std::make_unique<CompressScratch>();
  auto input = std::vector<uint8_t>(1000, 0);
  Guarded out(1000);
  EXPECT_EQ(compress_packet(Compression::kNone, input, out.out(), *scratch), 0u);
  EXPECT_EQ(decompress_packet(Compression::kNone, input, out.out()), 0u);
  EXPECT_EQ(compress_packet(static_cast<Compression>(7), input, out.out(), *scratch), 0u);
  EXPECT_EQ(decompress_packet(static_cast<Compression>(7), input, out.out()), 0u);
  EXPECT_TRUE(out.guards_intact());
}

TEST(Compression, EmptyInputs) {
  auto scratch = std::make_unique<CompressScratch>();
  Guarded out(64);
  for (auto algorithm : {Compression::kLz4, Compression::kLzs}) {
    EXPECT_EQ(compress_packet(algorithm, {}, out.out(), *scratch), 0u);
    EXPECT_EQ(decompress_packet(algorithm, {}, out.out()), 0u);
    EXPECT_EQ(compress_packet(algorithm, bytes_of("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), {}, *scratch), 0u);
  }
  EXPECT_TRUE(out.guards_intact());
}

}  // namespace
}  // namespace ocm::proto
