#pragma once
// Straightforward reference implementations the offload code is checked against (RFC 1071 done
// the textbook way: 16-bit big-endian words, one at a time, carries folded at the end) and
// builders for TCP/UDP packets with correct checksums.

#include <cstdint>
#include <random>
#include <vector>

namespace ocm::datapath::ref {

inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// Sum of 16-bit big-endian words (odd last byte padded with zero), not folded.
inline uint64_t sum_words(const uint8_t* p, size_t n, uint64_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) {
    acc += be16(p + i);
  }
  if (n % 2 == 1) {
    acc += uint64_t{p[n - 1]} << 8;
  }
  return acc;
}

inline uint16_t fold(uint64_t acc) {
  while (acc > 0xffff) {
    acc = (acc & 0xffff) + (acc >> 16);
  }
  return static_cast<uint16_t>(acc);
}

inline uint16_t checksum(const uint8_t* p, size_t n, uint64_t acc = 0) {
  return static_cast<uint16_t>(~fold(sum_words(p, n, acc)));
}

inline uint64_t pseudo_v4(const uint8_t* ip, uint8_t proto, size_t l4_len) {
  return sum_words(ip + 12, 8) + proto + l4_len;
}

inline uint64_t pseudo_v6(const uint8_t* ip, uint8_t proto, size_t l4_len) {
  return sum_words(ip + 8, 32) + proto + (l4_len >> 16) + (l4_len & 0xffff);
}

// True when the IPv4 header checksum verifies.
inline bool ipv4_header_ok(const uint8_t* ip) {
  size_t ihl = (ip[0] & 0x0f) * 4u;
  return fold(sum_words(ip, ihl)) == 0xffff;
}

// True when the TCP/UDP checksum of a whole IPv4 or IPv6 packet verifies.
inline bool l4_checksum_ok(const std::vector<uint8_t>& pkt, uint8_t proto) {
  bool v6 = (pkt[0] >> 4) == 6;
  size_t ihl = v6 ? 40 : (pkt[0] & 0x0f) * 4u;
  size_t l4 = pkt.size() - ihl;
  uint64_t acc = v6 ? pseudo_v6(pkt.data(), proto, l4) : pseudo_v4(pkt.data(), proto, l4);
  return fold(sum_words(pkt.data() + ihl, l4, acc)) == 0xffff;
}

inline std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) {
    b = static_cast<uint8_t>(rng());
  }
  return v;
}

struct TcpSpec {
  bool v6 = false;
  size_t ip_options = 0;   // bytes, multiple of 4 (IPv4 only)
  size_t tcp_options = 0;  // bytes, multiple of 4
  size_t payload = 100;
  uint8_t flags = 0x10;    // ACK
  uint32_t seq = 1000;
  uint32_t ack = 5000;
  uint16_t id = 7;
  uint16_t window = 512;
  uint16_t urg_ptr = 0;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  bool df = true;
  uint32_t src = 0x0A370002;  // 10.55.0.2
  uint32_t dst = 0xC0A8640B;  // 192.168.100.11
  uint32_t payload_seed = 1;
  uint8_t option_fill = 0x01;  // NOPs by default; tests vary it (e.g. timestamps)
};

// A TCP packet with valid IP and TCP checksums (or, with partial, the TCP checksum field holding
// the uncomplemented pseudo-header sum over the whole packet, as a CHECKSUM_PARTIAL skb has).
inline std::vector<uint8_t> tcp_packet(const TcpSpec& s, bool partial = false) {
  size_t ihl = s.v6 ? 40 : 20 + s.ip_options;
  size_t thl = 20 + s.tcp_options;
  std::vector<uint8_t> p(ihl + thl + s.payload, 0);
  if (!s.v6) {
    p[0] = static_cast<uint8_t>(0x40 | (ihl / 4));
    p[1] = s.tos;
    put16(&p[2], static_cast<uint16_t>(p.size()));
    put16(&p[4], s.id);
    p[6] = s.df ? 0x40 : 0;
    p[8] = s.ttl;
    p[9] = 6;
    put32(&p[12], s.src);
    put32(&p[16], s.dst);
    for (size_t i = 20; i < ihl; ++i) {
      p[i] = 0x01;  // NOP options
    }
    put16(&p[10], checksum(p.data(), ihl));
  } else {
    p[0] = 0x60;
    put16(&p[4], static_cast<uint16_t>(p.size() - 40));
    p[6] = 6;
    p[7] = s.ttl;
    for (int i = 0; i < 16; ++i) {
      p[8 + i] = static_cast<uint8_t>(0x20 + i);
      p[24 + i] = static_cast<uint8_t>(0x40 + i);
    }
  }
  uint8_t* t = &p[ihl];
  put16(t, 443);
  put16(t + 2, 51000);
  put32(t + 4, s.seq);
  put32(t + 8, s.ack);
  t[12] = static_cast<uint8_t>((thl / 4) << 4);
  t[13] = s.flags;
  put16(t + 14, s.window);
  put16(t + 18, s.urg_ptr);
  for (size_t i = 20; i < thl; ++i) {
    t[i] = s.option_fill;
  }
  auto data = random_bytes(s.payload, s.payload_seed);
  std::copy(data.begin(), data.end(), p.begin() + static_cast<long>(ihl + thl));
  size_t l4 = thl + s.payload;
  uint64_t pseudo = s.v6 ? pseudo_v6(p.data(), 6, l4) : pseudo_v4(p.data(), 6, l4);
  if (partial) {
    put16(t + 16, fold(pseudo));
  } else {
    put16(t + 16, checksum(t, l4, pseudo));
  }
  return p;
}

// A UDP/IPv4 packet (valid checksums, or partial as above).
inline std::vector<uint8_t> udp_packet(size_t payload, bool partial, uint32_t seed = 3) {
  std::vector<uint8_t> p(28 + payload, 0);
  p[0] = 0x45;
  put16(&p[2], static_cast<uint16_t>(p.size()));
  p[8] = 64;
  p[9] = 17;
  put32(&p[12], 0x0A370002);
  put32(&p[16], 0xC0A8640B);
  put16(&p[10], checksum(p.data(), 20));
  put16(&p[20], 5353);
  put16(&p[22], 53);
  put16(&p[24], static_cast<uint16_t>(8 + payload));
  auto data = random_bytes(payload, seed);
  std::copy(data.begin(), data.end(), p.begin() + 28);
  uint64_t pseudo = pseudo_v4(p.data(), 17, 8 + payload);
  put16(&p[26], partial ? fold(pseudo) : checksum(&p[20], 8 + payload, pseudo));
  return p;
}

}  // namespace ocm::datapath::ref
