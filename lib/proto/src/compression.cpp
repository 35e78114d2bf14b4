#include "ocm/proto/compression.hpp"

#include <lz4.h>

#include <algorithm>
#include <climits>

#include "lzs.hpp"

// compress_packet/decompress_packet run on the data path: no allocation, no exceptions.

namespace ocm::proto {
namespace {

constexpr std::string_view kLz4Name = "oc-lz4";
constexpr std::string_view kLzsName = "lzs";

constexpr char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// LZ4_compress_fast_extState() takes the state as raw memory of LZ4_sizeofState() bytes. The
// size is a function of the library actually loaded, so it is checked at run time, once; if a
// future liblz4 needs more than CompressScratch holds, LZ4 compression fails closed (every
// packet goes out uncompressed) instead of writing past the scratch.
bool lz4_state_fits() noexcept {
  static const bool fits =
      LZ4_sizeofState() > 0 && static_cast<size_t>(LZ4_sizeofState()) <= sizeof(CompressScratch::lz4_state);
  return fits;
}

size_t lz4_compress(std::span<const uint8_t> in, std::span<uint8_t> out, CompressScratch& scratch) noexcept {
  if (in.size() < 2 || in.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE) || !lz4_state_fits()) {
    return 0;
  }
  // At most in.size() - 1: LZ4 then fails (returns 0) on anything that does not shrink.
  size_t capacity = std::min({out.size(), in.size() - 1, static_cast<size_t>(INT_MAX)});
  int written = LZ4_compress_fast_extState(scratch.lz4_state, reinterpret_cast<const char*>(in.data()),
                                           reinterpret_cast<char*>(out.data()), static_cast<int>(in.size()),
                                           static_cast<int>(capacity), 1);
  return written > 0 ? static_cast<size_t>(written) : 0;
}

// Adds an LZ4 length extension (bytes of 255 continue it) to `value`.
bool add_length_bytes(std::span<const uint8_t> in, size_t& ip, size_t& value) noexcept {
  for (;;) {
    if (ip >= in.size()) {
      return false;
    }
    uint8_t b = in[ip++];
    value += b;
    if (b != 255) {
      return true;
    }
  }
}

// LZ4 block rules for the end of a block (lz4_Block_format.md): the last match starts at least
// 12 bytes (MFLIMIT) before the end, and the last 5 bytes (LASTLITERALS) are literals.
constexpr size_t kLz4MatchStartLimit = 12;
constexpr size_t kLz4LastLiterals = 5;

// Walks the sequence headers of a block (literal and match bytes are skipped, not read) and
// returns the size it decodes to, or 0 when it is not a well-formed block of at most `limit`
// bytes. We check this ourselves because liblz4 1.9.4's LZ4_decompress_safe
//  - accepts offset 0 (the format calls it invalid) and then copies bytes of `out` it has not
//    written: whatever an earlier packet left in that buffer would land in this one, where a
//    client could route it back to itself;
//  - enforces the end-of-block rules only near the end of dstCapacity, so the same malformed
//    block decodes into a large buffer and fails into an exact one.
// With the size known, liblz4 gets exactly that capacity: the result no longer depends on how
// much room the caller has, and a bomb is refused before a byte is written.
size_t lz4_block_size(std::span<const uint8_t> in, size_t limit) noexcept {
  size_t ip = 0;
  size_t produced = 0;
  bool any_match = false;
  size_t last_match_start = 0;
  size_t last_match_end = 0;
  for (;;) {
    if (ip >= in.size()) {
      return 0;
    }
    const uint8_t token = in[ip++];
    size_t literals = token >> 4;
    if (literals == 15 && !add_length_bytes(in, ip, literals)) {
      return 0;
    }
    if (literals > in.size() - ip) {
      return 0;
    }
    ip += literals;
    produced += literals;
    if (produced > limit) {
      return 0;
    }
    if (ip == in.size()) {
      break;  // the last sequence: literals only
    }
    if (in.size() - ip < 2) {
      return 0;
    }
    const size_t offset = in[ip] | (static_cast<size_t>(in[ip + 1]) << 8);
    ip += 2;
    if (offset == 0 || offset > produced) {
      return 0;
    }
    size_t match = (token & 0x0F) + 4u;
    if ((token & 0x0F) == 15 && !add_length_bytes(in, ip, match)) {
      return 0;
    }
    any_match = true;
    last_match_start = produced;
    produced += match;
    last_match_end = produced;
    if (produced > limit) {
      return 0;
    }
  }
  if (any_match &&
      (last_match_start + kLz4MatchStartLimit > produced || last_match_end + kLz4LastLiterals > produced)) {
    return 0;
  }
  return produced;
}

size_t lz4_decompress(std::span<const uint8_t> in, std::span<uint8_t> out) noexcept {
  if (in.size() > static_cast<size_t>(INT_MAX)) {
    return 0;
  }
  const size_t size = lz4_block_size(in, std::min(out.size(), size_t{INT_MAX}));
  if (size == 0) {
    return 0;
  }
  // LZ4_decompress_safe never reads past srcSize nor writes past dstCapacity.
  int written = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data()), reinterpret_cast<char*>(out.data()),
                                    static_cast<int>(in.size()), static_cast<int>(size));
  return written > 0 && static_cast<size_t>(written) == size ? size : 0;
}

}  // namespace

std::string_view compression_name(Compression algorithm) noexcept {
  switch (algorithm) {
    case Compression::kLz4:
      return kLz4Name;
    case Compression::kLzs:
      return kLzsName;
    case Compression::kNone:
      break;
  }
  return {};
}

Compression compression_from_name(std::string_view name) noexcept {
  name = trim(name);
  if (iequals(name, kLz4Name)) {
    return Compression::kLz4;
  }
  if (iequals(name, kLzsName)) {
    return Compression::kLzs;
  }
  return Compression::kNone;
}

Compression negotiate_compression(std::string_view accept_encoding, std::span<const Compression> preference) noexcept {
  for (Compression wanted : preference) {
    if (wanted == Compression::kNone) {
      continue;
    }
    std::string_view rest = accept_encoding;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view token = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (compression_from_name(token) == wanted) {
        return wanted;
      }
    }
  }
  return Compression::kNone;
}

size_t compress_packet(Compression algorithm, std::span<const uint8_t> in, std::span<uint8_t> out,
                       CompressScratch& scratch) noexcept {
  switch (algorithm) {
    case Compression::kLz4:
      return lz4_compress(in, out, scratch);
    case Compression::kLzs:
      return lzs_compress(in, out, scratch);
    case Compression::kNone:
      break;
  }
  return 0;
}

size_t decompress_packet(Compression algorithm, std::span<const uint8_t> in, std::span<uint8_t> out) noexcept {
  switch (algorithm) {
    case Compression::kLz4:
      return lz4_decompress(in, out);
    case Compression::kLzs:
      return lzs_decompress(in, out);
    case Compression::kNone:
      break;
  }
  return 0;
}

}  // namespace ocm::proto
