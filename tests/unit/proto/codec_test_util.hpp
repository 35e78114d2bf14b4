#pragma once
// Helpers shared by compression_test.cpp and lzs_test.cpp: output spans fenced by guard bytes,
// bit strings written as text, and deterministic test data (random, text, IP-packet-like).

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ocm::proto::testutil {

// An output span of `size` bytes inside a larger buffer whose bytes before and after it are a
// known pattern, so a codec that writes past its span is caught even without ASan.
class Guarded {
 public:
  static constexpr size_t kGuard = 64;
  static constexpr uint8_t kPattern = 0xA5;

  explicit Guarded(size_t size) : storage_(size + 2 * kGuard, kPattern), size_(size) {}

  std::span<uint8_t> out() { return {storage_.data() + kGuard, size_}; }
  std::span<const uint8_t> first(size_t n) const { return {storage_.data() + kGuard, n}; }

  [[nodiscard]] bool guards_intact() const {
    for (size_t i = 0; i < kGuard; ++i) {
      if (storage_[i] != kPattern || storage_[kGuard + size_ + i] != kPattern) {
        return false;
      }
    }
    return true;
  }

 private:
  std::vector<uint8_t> storage_;
  size_t size_;
};

// "0 01000001 110000000" -> bytes, most significant bit first, zero-padded to a byte. Spaces
// are only for the reader.
inline std::vector<uint8_t> bits(std::string_view text) {
  std::vector<uint8_t> out;
  unsigned n = 0;
  for (char c : text) {
    if (c != '0' && c != '1') {
      continue;
    }
    if (n % 8 == 0) {
      out.push_back(0);
    }
    if (c == '1') {
      out.back() |= static_cast<uint8_t>(0x80u >> (n % 8));
    }
    ++n;
  }
  return out;
}

// The 9-bit LZS literal for `byte` as a bit string ("0" + 8 bits).
inline std::string literal(uint8_t byte) {
  std::string s = "0";
  for (int i = 7; i >= 0; --i) {
    s += ((byte >> i) & 1) ? '1' : '0';
  }
  s += ' ';
  return s;
}

inline std::vector<uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

inline std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) {
    b = static_cast<uint8_t>(rng());
  }
  return out;
}

// English-like text with repeated words: compresses well, with offsets of every length.
inline std::vector<uint8_t> text_bytes(size_t n, uint32_t seed) {
  static constexpr std::string_view kWords[] = {
      "the ",         "tunnel ", "packet ", "server ", "client ", "compression ", "of ",   "and ", "a ",
      "openconnect ", "header ", "DTLS ",   "CSTP ",   "is ",     "sent ",        "over ", "to ",  "with ",
  };
  std::mt19937 rng(seed);
  std::vector<uint8_t> out;
  out.reserve(n);
  while (out.size() < n) {
    auto w = kWords[rng() % std::size(kWords)];
    for (char c : w) {
      if (out.size() == n) {
        break;
      }
      out.push_back(static_cast<uint8_t>(c));
    }
  }
  return out;
}

// An IPv4/TCP packet carrying an HTTP-ish payload with some random bytes mixed in: headers
// with many zero and repeated bytes, the kind of traffic a VPN tunnel carries.
inline std::vector<uint8_t> ip_packet_bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> out = {
      0x45,
      0x00,
      static_cast<uint8_t>(n >> 8),
      static_cast<uint8_t>(n),
      0x1c,
      0x46,
      0x40,
      0x00,
      0x40,
      0x06,
      0x00,
      0x00,
      10,
      10,
      0,
      2,
      192,
      168,
      100,
      1,
      // TCP: ports 51000 -> 80, seq, ack, flags, window, checksum, urgent
      0xc7,
      0x38,
      0x00,
      0x50,
      0x12,
      0x34,
      0x56,
      0x78,
      0x00,
      0x00,
      0x00,
      0x01,
      0x50,
      0x18,
      0xff,
      0xff,
      0x00,
      0x00,
      0x00,
      0x00,
  };
  static constexpr std::string_view kPayload =
      "GET /files/report.html HTTP/1.1\r\nHost: intranet.example.com\r\nUser-Agent: curl/7.88.1\r\n"
      "Accept: */*\r\nCookie: session=";
  std::mt19937 rng(seed);
  while (out.size() < n) {
    for (char c : kPayload) {
      out.push_back(static_cast<uint8_t>(c));
    }
    for (int i = 0; i < 16; ++i) {
      out.push_back(static_cast<uint8_t>("0123456789abcdef"[rng() % 16]));
    }
    out.push_back('\r');
    out.push_back('\n');
  }
  out.resize(n);
  return out;
}

}  // namespace ocm::proto::testutil
