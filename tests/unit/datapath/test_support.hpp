#pragma once
// Shared by the datapath unit tests and the pipeline component test: IPv4 packet builders,
// key material, a client that seals/opens records with the client-side keys, and a harness
// owning everything a Ctx refers to.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "ocm/crypto/aead.hpp"
#include "ocm/crypto/dtls_record.hpp"
#include "ocm/datapath/ctx.hpp"
#include "ocm/datapath/pkt.hpp"
#include "ocm/datapath/rings.hpp"
#include "ocm/datapath/session_table.hpp"

namespace ocm::datapath::test {

inline constexpr uint32_t kPoolNet = 0x0A0A0000;  // 10.10.0.0/16
inline constexpr uint8_t kPoolLen = 16;
inline constexpr uint32_t kRemote = 0x08080808;  // some host on the internet

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "test_support: %s\n", what);
  std::abort();
}

inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// A well-formed IPv4 packet of `total` bytes (>= 20), payload filled from `fill`.
inline std::vector<uint8_t> ipv4_packet(uint32_t src, uint32_t dst, size_t total, uint8_t fill = 0xab) {
  std::vector<uint8_t> p(total, 0);
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  p[8] = 64;
  p[9] = 17;
  store_be32(&p[12], src);
  store_be32(&p[16], dst);
  for (size_t i = 20; i < total; ++i) {
    p[i] = static_cast<uint8_t>(fill + i);
  }
  return p;
}

// A well-formed IPv6 packet of `total` bytes (>= 40): UDP next header, payload filled from
// `fill`. Addresses are 16 bytes in network order.
inline std::vector<uint8_t> ipv6_packet(const std::array<uint8_t, 16>& src, const std::array<uint8_t, 16>& dst,
                                        size_t total, uint8_t fill = 0xab) {
  std::vector<uint8_t> p(total, 0);
  p[0] = 0x60;
  p[4] = static_cast<uint8_t>((total - 40) >> 8);
  p[5] = static_cast<uint8_t>(total - 40);
  p[6] = 17;
  p[7] = 64;
  std::copy(src.begin(), src.end(), p.begin() + 8);
  std::copy(dst.begin(), dst.end(), p.begin() + 24);
  for (size_t i = 40; i < total; ++i) {
    p[i] = static_cast<uint8_t>(fill + i);
  }
  return p;
}

// fd00:1::<low> (a /64 test pool).
inline std::array<uint8_t, 16> v6addr(uint16_t low, uint8_t subnet_byte = 0) {
  std::array<uint8_t, 16> a{0xfd, 0x00, 0x00, 0x01};
  a[7] = subnet_byte;
  a[14] = static_cast<uint8_t>(low >> 8);
  a[15] = static_cast<uint8_t>(low);
  return a;
}

// type byte + payload
inline std::vector<uint8_t> with_type(uint8_t type, std::span<const uint8_t> payload) {
  std::vector<uint8_t> v;
  v.reserve(payload.size() + 1);
  v.push_back(type);
  v.insert(v.end(), payload.begin(), payload.end());
  return v;
}

inline size_t key_size(crypto::AeadAlgo algo) {
  return algo == crypto::AeadAlgo::kAes128Gcm ? 16 : 32;
}
inline size_t iv_size(crypto::AeadAlgo algo) {
  return algo == crypto::AeadAlgo::kChaCha20Poly1305 ? 12 : 4;
}

inline std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 12345u;
  for (auto& b : v) {
    x = x * 1103515245u + 12345u;
    b = static_cast<uint8_t>(x >> 16);
  }
  return v;
}

inline crypto::AeadKey make_key(crypto::CryptoEngine& engine, crypto::AeadAlgo algo, uint32_t seed) {
  auto key = pattern(key_size(algo), seed);
  auto iv = pattern(iv_size(algo), seed ^ 0x5a5a5a5au);
  auto r = crypto::AeadKey::create(engine, algo, key, iv);
  if (!r) {
    fail(r.error().message.c_str());
  }
  return *r;
}

// Both directions of one DTLS session, as the client sees them.
struct ClientKeys {
  crypto::AeadKey c2s;  // client write = server rx
  crypto::AeadKey s2c;  // server write = client rx
};

inline ClientKeys make_client_keys(crypto::CryptoEngine& engine, crypto::AeadAlgo algo, uint32_t seed) {
  return ClientKeys{make_key(engine, algo, seed * 2 + 1), make_key(engine, algo, seed * 2 + 2)};
}

// A client-side record: the whole datagram.
inline std::vector<uint8_t> client_seal(crypto::CryptoEngine& engine, const crypto::AeadKey& key, uint16_t epoch,
                                        uint64_t seq, std::span<const uint8_t> plaintext) {
  size_t off = crypto::dtls_plaintext_offset(key.algo());
  std::vector<uint8_t> rec(plaintext.size() + crypto::dtls_overhead(key.algo()));
  std::copy(plaintext.begin(), plaintext.end(), rec.begin() + static_cast<std::ptrdiff_t>(off));
  size_t n = crypto::dtls_seal_in_place(engine, key, epoch, seq, rec.data(), plaintext.size());
  if (n != rec.size()) {
    fail("client_seal");
  }
  return rec;
}

inline std::optional<std::vector<uint8_t>> client_open(crypto::CryptoEngine& engine, const crypto::AeadKey& key,
                                                       uint16_t epoch, std::span<const uint8_t> record,
                                                       uint64_t* seq_out = nullptr) {
  std::vector<uint8_t> copy(record.begin(), record.end());
  uint64_t seq = 0;
  uint8_t* plain = nullptr;
  size_t len = 0;
  if (!crypto::dtls_open_in_place(engine, key, epoch, copy, seq, plain, len)) {
    return std::nullopt;
  }
  if (seq_out != nullptr) {
    *seq_out = seq;
  }
  return std::vector<uint8_t>(plain, plain + len);
}

inline std::unique_ptr<crypto::CryptoEngine> make_engine() {
  auto r = crypto::CryptoEngine::create();
  if (!r) {
    fail(r.error().message.c_str());
  }
  return std::move(*r);
}

// Everything a Ctx refers to, sized for tests.
struct Harness {
  explicit Harness(uint32_t sessions = 64, uint32_t pool_size = 1024, uint32_t control_depth = 64,
                   uint32_t cstp_depth = 64)
      : engine(make_engine()),
        pool(pool_size),
        table(sessions, Ipv4Prefix{kPoolNet, kPoolLen}, 0x1234567890abcdefULL),
        control(control_depth),
        cstp(cstp_depth),
        ctx(*engine, table, control, cstp, counters) {}

  // Slot `slot` gets lease kPoolNet + 2 + slot and peer 192.0.2.x:port, DTLS active.
  static uint32_t lease_of(uint32_t slot) { return kPoolNet + 2 + slot; }
  static Peer peer_of(uint32_t slot) {
    return Peer::v4(0xC0000200u + (slot >> 8) * 0x10000u + (slot & 0xffu), static_cast<uint16_t>(40000 + slot));
  }

  ClientKeys activate(uint32_t slot, crypto::AeadAlgo algo = crypto::AeadAlgo::kAes128Gcm, uint16_t epoch = 1,
                      uint64_t first_tx_seq = 1) {
    return activate_with(slot, lease_of(slot), peer_of(slot), algo, epoch, first_tx_seq);
  }
  ClientKeys activate_with(uint32_t slot, uint32_t lease, const Peer& peer, crypto::AeadAlgo algo, uint16_t epoch,
                           uint64_t first_tx_seq) {
    ClientKeys keys = make_client_keys(*engine, algo, slot + 1);
    auto st = table.activate(slot, lease, peer, keys.c2s, keys.s2c, epoch, first_tx_seq);
    if (!st) {
      fail(st.error().message.c_str());
    }
    return keys;
  }

  PktBuf* packet(std::span<const uint8_t> bytes, const Peer& peer = Peer{}) {
    PktBuf* p = pool.alloc();
    if (p == nullptr || !p->assign(bytes)) {
      fail("packet");
    }
    p->meta.peer = peer;
    return p;
  }

  std::unique_ptr<crypto::CryptoEngine> engine;
  PktPool pool;
  SessionTable table;
  ControlRing control;
  CstpRing cstp;
  Counters counters;
  Ctx ctx;
};

inline std::vector<uint8_t> bytes_of(const PktBuf* p) {
  return {p->data(), p->data() + p->len()};
}

}  // namespace ocm::datapath::test

namespace ocm::datapath::test {

// A raw DTLS header followed by `body_len` filler bytes (no crypto: for classify tests).
inline std::vector<uint8_t> dtls_datagram(uint8_t type, uint16_t version, uint16_t epoch, uint64_t seq,
                                          uint16_t length_field, size_t body_len) {
  std::vector<uint8_t> d(13 + body_len, 0x5c);
  d[0] = type;
  d[1] = static_cast<uint8_t>(version >> 8);
  d[2] = static_cast<uint8_t>(version);
  d[3] = static_cast<uint8_t>(epoch >> 8);
  d[4] = static_cast<uint8_t>(epoch);
  for (int i = 0; i < 6; ++i) {
    d[5 + i] = static_cast<uint8_t>(seq >> (40 - 8 * i));
  }
  d[11] = static_cast<uint8_t>(length_field >> 8);
  d[12] = static_cast<uint8_t>(length_field);
  return d;
}

// Runs one stage over `pkts` and returns the kept count; the vector is reordered like the array.
template <typename Stage>
uint16_t run_stage(Stage stage, Ctx& ctx, std::vector<PktBuf*>& pkts) {
  return stage(ctx, pkts.data(), static_cast<uint16_t>(pkts.size()));
}

}  // namespace ocm::datapath::test
