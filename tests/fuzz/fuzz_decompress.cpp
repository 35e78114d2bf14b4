// Compressed tunnel packets (type 0x08, protocol.md §6.6): the payload of an authenticated
// client's packet goes to decompress_packet with the algorithm negotiated for the channel. The
// input is fed as is to both decompressors (oc-lz4 and lzs), then used as a packet to compress.
// Invariants:
//  - a decompressor writes only inside `out` (every out buffer here is a heap block of exactly
//    the given size, so ASan sees a byte past it) and returns at most out.size();
//  - what decodes into 16384 bytes decodes the same into exactly its own size, and fails (0)
//    with one byte less: the size bound is exact, nothing depends on spare room;
//  - compress_packet returns 0 or a size strictly smaller than the input, and what it returns
//    decompresses back to the input exactly, into an out of exactly the input's size.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "fuzz_check.hpp"
#include "ocm/proto/compression.hpp"

namespace {

using ocm::proto::Compression;

// The largest packet the server decompresses into (header comment of compression.hpp).
constexpr size_t kMaxPacket = 16384;

void check_decompress(Compression algorithm, std::span<const uint8_t> in) {
  std::vector<uint8_t> out(kMaxPacket);
  size_t n = ocm::proto::decompress_packet(algorithm, in, out);
  FUZZ_CHECK(n <= out.size());
  if (n == 0) {
    return;
  }
  std::vector<uint8_t> exact(n);
  FUZZ_CHECK(ocm::proto::decompress_packet(algorithm, in, exact) == n);
  FUZZ_CHECK(std::memcmp(exact.data(), out.data(), n) == 0);
  std::vector<uint8_t> short_by_one(n - 1);
  FUZZ_CHECK(ocm::proto::decompress_packet(algorithm, in, short_by_one) == 0);
}

void check_round_trip(Compression algorithm, std::span<const uint8_t> in, ocm::proto::CompressScratch& scratch) {
  std::vector<uint8_t> packed(in.size());
  size_t n = ocm::proto::compress_packet(algorithm, in, packed, scratch);
  if (n == 0) {
    return;
  }
  FUZZ_CHECK(n < in.size());
  std::vector<uint8_t> back(in.size());
  FUZZ_CHECK(ocm::proto::decompress_packet(algorithm, std::span(packed).first(n), back) == in.size());
  FUZZ_CHECK(std::memcmp(back.data(), in.data(), in.size()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Tens of KiB: one per process, as the server keeps one per packet thread.
  static auto scratch = std::make_unique<ocm::proto::CompressScratch>();
  std::span<const uint8_t> in(data, size);
  for (Compression algorithm : {Compression::kLz4, Compression::kLzs}) {
    check_decompress(algorithm, in);
    check_round_trip(algorithm, in.first(size < kMaxPacket ? size : kMaxPacket), *scratch);
  }
  return 0;
}
