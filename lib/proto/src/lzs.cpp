#include "lzs.hpp"

#include <algorithm>
#include <cstring>

// Runs on the data path: no allocation, no exceptions, work bounded by the packet size.

namespace ocm::proto {
namespace {

// Largest offset the 11-bit form can carry.
constexpr size_t kWindow = 2047;
// Offsets below this fit the 7-bit form.
constexpr size_t kShortOffsetLimit = 128;
// Candidates examined per position: enough to find the usual repeats in IP headers and text,
// and a hard bound on the work per byte whatever the data.
constexpr unsigned kMaxChainSteps = 16;
// Positions are stored +1 in uint16_t (0 = none), so the input must stay below 65535 bytes.
constexpr size_t kMaxInput = 65534;

constexpr size_t kHeadSize = sizeof(CompressScratch::lzs_head) / sizeof(CompressScratch::lzs_head[0]);
constexpr size_t kChainSize = sizeof(CompressScratch::lzs_chain) / sizeof(CompressScratch::lzs_chain[0]);
static_assert((kHeadSize & (kHeadSize - 1)) == 0, "lzs_head must have a power-of-two size");
static_assert(kChainSize > kWindow && (kChainSize & (kChainSize - 1)) == 0,
              "lzs_chain is a ring over the window: a power of two larger than it");
static_assert(kMaxInput < UINT16_MAX, "positions + 1 are stored in uint16_t");

constexpr uint32_t kEndMarker = 0x180;  // 1 1 0000000

// Writes MSB-first into a fixed span; once full it records the overflow and drops the rest.
class BitWriter {
 public:
  explicit BitWriter(std::span<uint8_t> out) noexcept : out_(out) {}

  // n <= 16.
  void put(uint32_t value, unsigned n) noexcept {
    acc_ = (acc_ << n) | value;
    nbits_ += n;
    while (nbits_ >= 8) {
      nbits_ -= 8;
      if (pos_ == out_.size()) {
        overflow_ = true;
        nbits_ = 0;
        break;
      }
      out_[pos_++] = static_cast<uint8_t>(acc_ >> nbits_);
    }
    acc_ &= (1u << nbits_) - 1;
  }

  // Pads the last byte with zero bits.
  void flush() noexcept {
    if (nbits_ > 0) {
      put(0, 8 - nbits_);
    }
  }

  [[nodiscard]] bool overflow() const noexcept { return overflow_; }
  [[nodiscard]] size_t size() const noexcept { return pos_; }

 private:
  std::span<uint8_t> out_;
  size_t pos_ = 0;
  uint32_t acc_ = 0;
  unsigned nbits_ = 0;
  bool overflow_ = false;
};

// Reads MSB-first; a read past the last bit fails rather than inventing zeros.
class BitReader {
 public:
  explicit BitReader(std::span<const uint8_t> in) noexcept : in_(in), total_bits_(in.size() * 8) {}

  // n <= 13, so the bits always lie within three bytes.
  bool take(unsigned n, uint32_t& value) noexcept {
    if (total_bits_ - pos_ < n) {
      return false;
    }
    size_t byte = pos_ >> 3;
    unsigned shift = static_cast<unsigned>(pos_ & 7);
    uint32_t window = static_cast<uint32_t>(in_[byte]) << 16;
    if (byte + 1 < in_.size()) {
      window |= static_cast<uint32_t>(in_[byte + 1]) << 8;
    }
    if (byte + 2 < in_.size()) {
      window |= in_[byte + 2];
    }
    value = (window >> (24 - shift - n)) & ((1u << n) - 1);
    pos_ += n;
    return true;
  }

 private:
  std::span<const uint8_t> in_;
  size_t total_bits_;
  size_t pos_ = 0;
};

inline uint32_t hash2(const uint8_t* p) noexcept {
  uint32_t v = (static_cast<uint32_t>(p[0]) << 8) | p[1];
  // Fibonacci hashing: the top bits of the product, as many as lzs_head has slots (12).
  return (v * 2654435761u) >> (32 - 12);
}
static_assert(kHeadSize == 4096, "hash2 produces 12 bits");

void put_match(BitWriter& w, size_t offset, size_t length) noexcept {
  if (offset < kShortOffsetLimit) {
    w.put(0x180 | static_cast<uint32_t>(offset), 9);
  } else {
    w.put(0x1000 | static_cast<uint32_t>(offset), 13);
  }
  if (length <= 4) {
    w.put(static_cast<uint32_t>(length - 2), 2);
  } else if (length <= 7) {
    w.put(0xC | static_cast<uint32_t>(length - 5), 4);
  } else {
    size_t rest = length - 8;
    w.put(0xF, 4);
    while (rest >= 15 && !w.overflow()) {
      w.put(0xF, 4);
      rest -= 15;
    }
    w.put(static_cast<uint32_t>(rest), 4);
  }
}

}  // namespace

size_t lzs_compress(std::span<const uint8_t> in, std::span<uint8_t> out, CompressScratch& scratch) noexcept {
  const size_t n = in.size();
  if (n < 2 || n > kMaxInput) {
    return 0;
  }
  // Strictly smaller than the input, or not worth sending compressed.
  BitWriter w(out.first(std::min(out.size(), n - 1)));
  uint16_t* head = scratch.lzs_head;
  uint16_t* chain = scratch.lzs_chain;
  std::memset(head, 0, sizeof(scratch.lzs_head));
  const uint8_t* src = in.data();

  // Records position p (which has a successor byte) as the newest with its 2-byte prefix.
  auto insert = [&](size_t p) noexcept {
    uint32_t h = hash2(src + p);
    chain[p & (kChainSize - 1)] = head[h];
    head[h] = static_cast<uint16_t>(p + 1);
  };

  size_t pos = 0;
  while (pos < n && !w.overflow()) {
    size_t best_len = 0;
    size_t best_offset = 0;
    if (pos + 1 < n) {
      const size_t max_len = n - pos;
      uint16_t cand = head[hash2(src + pos)];
      for (unsigned steps = 0; cand != 0 && steps < kMaxChainSteps; ++steps) {
        size_t p = cand - 1u;
        size_t offset = pos - p;
        if (offset > kWindow) {
          break;  // the chain only gets older from here
        }
        // The hash has collisions: compare the bytes themselves. Only a longer match than
        // the best so far (which has the smaller offset) is worth taking.
        if (src[p + best_len] == src[pos + best_len] && src[p] == src[pos] && src[p + 1] == src[pos + 1]) {
          size_t len = 2;
          while (len < max_len && src[p + len] == src[pos + len]) {
            ++len;
          }
          if (len > best_len) {
            best_len = len;
            best_offset = offset;
            if (len == max_len) {
              break;
            }
          }
        }
        cand = chain[p & (kChainSize - 1)];
      }
    }
    if (best_len >= 2) {
      put_match(w, best_offset, best_len);
      const size_t end = pos + best_len;
      for (; pos < end; ++pos) {
        if (pos + 1 < n) {
          insert(pos);
        }
      }
    } else {
      w.put(src[pos], 9);  // 0 + the byte
      if (pos + 1 < n) {
        insert(pos);
      }
      ++pos;
    }
  }
  w.put(kEndMarker, 9);
  w.flush();
  return w.overflow() ? 0 : w.size();
}

size_t lzs_decompress(std::span<const uint8_t> in, std::span<uint8_t> out) noexcept {
  BitReader r(in);
  size_t n = 0;
  uint32_t v = 0;
  for (;;) {
    if (!r.take(9, v)) {
      return 0;  // truncated: no end marker
    }
    if (v < 0x100) {
      if (n == out.size()) {
        return 0;
      }
      out[n++] = static_cast<uint8_t>(v);
      continue;
    }
    size_t offset = v & 0x7F;
    if (v >= 0x180) {
      if (offset == 0) {
        return n;  // end marker; an empty packet is 0 as well
      }
    } else {
      uint32_t low = 0;
      if (!r.take(4, low)) {
        return 0;
      }
      offset = (offset << 4) | low;
      if (offset == 0) {
        return 0;
      }
    }
    size_t length = 0;
    if (!r.take(2, v)) {
      return 0;
    }
    if (v != 3) {
      length = v + 2;
    } else {
      if (!r.take(2, v)) {
        return 0;
      }
      if (v != 3) {
        length = v + 5;
      } else {
        length = 8;
        for (;;) {
          if (!r.take(4, v)) {
            return 0;
          }
          length += v;
          if (v != 15) {
            break;
          }
          // Stop a run of 1111 nibbles as soon as it claims more than fits.
          if (length > out.size()) {
            return 0;
          }
        }
      }
    }
    if (offset > n || length > out.size() - n) {
      return 0;
    }
    uint8_t* dst = out.data() + n;
    const uint8_t* from = dst - offset;
    if (offset >= length) {
      std::memcpy(dst, from, length);
    } else {
      // Overlapping copy repeats the last `offset` bytes: byte by byte on purpose.
      for (size_t i = 0; i < length; ++i) {
        dst[i] = from[i];
      }
    }
    n += length;
  }
}

}  // namespace ocm::proto
