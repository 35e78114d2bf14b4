#pragma once
// Tunnel packet compression as openconnect and ocserv negotiate it (protocol.md §6.6): one
// algorithm per channel, chosen from the client's X-CSTP-/X-DTLS-Accept-Encoding list, sent as
// packet type 0x08 with the compressed bytes as payload. One IP packet per call; no state is
// carried between packets (both algorithms restart their history for every packet).
//
// Both codecs are called from the fast path: noexcept, no allocation, bounded work. The caller
// owns the scratch (one per packet thread), so nothing here is shared between threads.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ocm::proto {

enum class Compression : uint8_t {
  kNone = 0,
  kLz4 = 1,  // "oc-lz4": raw LZ4 block, no frame header
  kLzs = 2,  // "lzs": Stac LZS (RFC 1974 bit stream), one packet per stream with end marker
};

// The wire name ("oc-lz4", "lzs"); "" for kNone.
std::string_view compression_name(Compression algorithm) noexcept;

// Parses one wire name (case-insensitive); kNone for anything else.
Compression compression_from_name(std::string_view name) noexcept;

// The first algorithm of `preference` (the server's order) that the client lists in
// `accept_encoding` (comma-separated names, optional spaces, unknown names ignored, as
// openconnect sends "oc-lz4,lzs" or "deflate,lzs"). kNone when nothing matches or the header
// is empty.
Compression negotiate_compression(std::string_view accept_encoding,
                                  std::span<const Compression> preference) noexcept;

// Working memory for compress(): LZ4's hash state and LZS's match table. Large (tens of KiB):
// keep one per thread, never on a fast-path stack.
struct alignas(64) CompressScratch {
  // LZ4_sizeofState() of liblz4 1.9 is 16416 bytes; compression.cpp checks this on first use and
  // refuses to LZ4-compress (returns 0) if the loaded library needs more.
  alignas(8) uint8_t lz4_state[16416];
  // LZS: last position (+1, 0 = none) of each hashed 2-byte prefix, within one packet.
  uint16_t lzs_head[4096];
  uint16_t lzs_chain[2048];
};

// Compresses `in` into `out`. Returns the compressed size, or 0 when compression does not pay:
// the result would not be strictly smaller than in.size(), or would not fit in out. Callers
// send the packet uncompressed (type 0x00) on 0. `in` is at most 16384 bytes.
size_t compress_packet(Compression algorithm, std::span<const uint8_t> in, std::span<uint8_t> out,
                       CompressScratch& scratch) noexcept;

// Decompresses one packet's payload (without the 0x08 type byte) into `out`. Returns the
// decompressed size, or 0 when the input is malformed, truncated, refers before the start of
// the output, or would decompress to more than out.size() bytes (a decompression bomb is
// stopped at out.size(), never written past it). A valid IP packet is never empty, so 0 is
// always an error.
size_t decompress_packet(Compression algorithm, std::span<const uint8_t> in, std::span<uint8_t> out) noexcept;

}  // namespace ocm::proto
