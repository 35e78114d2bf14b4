#pragma once
// Stac LZS (RFC 1974, ANSI X3.241) for one packet: the bit stream openconnect and ocserv send as
// "lzs" (protocol.md §6.6). Private to lib/proto; callers use compress_packet/decompress_packet.
//
// Bit stream, most significant bit first:
//   literal        0 bbbbbbbb
//   match          1 1 ooooooo           offset 1..127
//                  1 0 ooooooooooo       offset 1..2047 (the compressor uses it for 128..2047)
//                  then the length: 00/01/10 = 2/3/4, 1100/1101/1110 = 5/6/7,
//                  8 and above: 1111, then a nibble per further 15 (1111) and a final nibble < 15
//   end marker     1 1 0000000           (offset 0 in the short form), then zero bits to a byte

#include <cstddef>
#include <cstdint>
#include <span>

#include "ocm/proto/compression.hpp"

namespace ocm::proto {

// Greedy LZS over a 2047-byte window. Returns the encoded size, or 0 when it would not be
// strictly smaller than `in` or would not fit in `out` (nothing past out.size() is written).
size_t lzs_compress(std::span<const uint8_t> in, std::span<uint8_t> out, CompressScratch& scratch) noexcept;

// Decodes one stream up to its end marker (bytes after it are ignored, as openconnect does).
// Returns the decoded size; 0 on a bad offset, output over out.size(), a stream without end
// marker, or an empty result.
size_t lzs_decompress(std::span<const uint8_t> in, std::span<uint8_t> out) noexcept;

}  // namespace ocm::proto
