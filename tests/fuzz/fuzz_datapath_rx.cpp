// The UDP receive path as a driver runs it: process_udp_rx (classify, dtls_open with the replay
// window, dispatch, validate_inner) over bursts of datagrams from anyone, against a SessionTable
// with two keyed sessions (AES-128-GCM and ChaCha20-Poly1305). Each datagram is either raw
// fuzzer bytes (a forgery) or a plaintext the target seals with a session's real client key,
// so the stages after the AEAD are reached too. Also check_inner_ipv4 against a reference.
// Slot 1 negotiated DTLS compression (LZ4 or LZS by the input's length), slot 0 did not, so
// sealed COMPRESSED (0x08) records reach the decompressor with fuzzed payloads.
// Invariants:
//  - every input packet comes back in exactly one output array;
//  - a record that reaches TUN or is answered on UDP is one we sealed, with the slot's own key
//    and epoch, and no (slot, sequence number) is accepted twice;
//  - a packet for TUN is exactly the sealed payload after the type byte (for a COMPRESSED
//    record of the compressing slot: what decompress_packet makes of it) and passes
//    check_inner_ipv4 for its slot's lease; slot 0 never delivers a COMPRESSED record;
//  - a UDP reply is a DPD response of the same payload, sealed with the slot's tx key, sent to
//    the session's first peer or one that sent a genuine record in this burst;
//  - check_inner_ipv4 agrees with a straightforward reading of RFC 791.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "fuzz_check.hpp"
#include "ocm/crypto/aead.hpp"
#include "ocm/crypto/dtls_record.hpp"
#include "ocm/datapath/ctx.hpp"
#include "ocm/datapath/inner_packet.hpp"
#include "ocm/datapath/pipeline.hpp"
#include "ocm/datapath/pkt.hpp"
#include "ocm/datapath/rings.hpp"
#include "ocm/datapath/session_table.hpp"
#include "ocm/proto/compression.hpp"

namespace {

using namespace ocm::datapath;
using ocm::crypto::AeadAlgo;
using ocm::crypto::AeadKey;

constexpr uint32_t kPoolNet = 0x0A0A0000;  // 10.10.0.0/24
constexpr uint32_t kSlots = 2;
constexpr uint16_t kEpoch = 1;
// More than one burst, so chunking is exercised, while staying fast.
constexpr size_t kMaxDatagrams = kBurst + 8;
constexpr size_t kMaxPlain = 1800;  // sealed record stays inside one 2048-byte buffer

uint32_t lease_of(uint32_t slot) {
  return kPoolNet + 2 + slot;
}
Peer peer_of(uint32_t slot) {
  return Peer::v4(0xC0000201u + slot, static_cast<uint16_t>(40000 + slot));
}

AeadKey make_key(ocm::crypto::CryptoEngine& engine, AeadAlgo algo, uint8_t seed) {
  std::vector<uint8_t> key(algo == AeadAlgo::kAes128Gcm ? 16 : 32);
  std::vector<uint8_t> iv(algo == AeadAlgo::kChaCha20Poly1305 ? 12 : 4);
  for (size_t i = 0; i < key.size(); ++i) {
    key[i] = static_cast<uint8_t>(seed * 31 + i);
  }
  for (size_t i = 0; i < iv.size(); ++i) {
    iv[i] = static_cast<uint8_t>(seed * 17 + i * 3);
  }
  auto k = AeadKey::create(engine, algo, key, iv);
  FUZZ_CHECK(k.has_value());
  return *k;
}

std::unique_ptr<ocm::crypto::CryptoEngine> make_engine() {
  auto engine = ocm::crypto::CryptoEngine::create();
  FUZZ_CHECK(engine.has_value());
  return std::move(*engine);
}

struct World {
  World()
      : engine(make_engine()),
        pool(kMaxDatagrams + 4),
        table(kSlots, ocm::Ipv4Prefix{kPoolNet, 24}, 0x1234567890abcdefULL),
        control(64),
        cstp(64) {
    for (uint32_t s = 0; s < kSlots; ++s) {
      AeadAlgo algo = s == 0 ? AeadAlgo::kAes128Gcm : AeadAlgo::kChaCha20Poly1305;
      c2s.push_back(make_key(*engine, algo, static_cast<uint8_t>(2 * s + 1)));
      s2c.push_back(make_key(*engine, algo, static_cast<uint8_t>(2 * s + 2)));
    }
  }

  // Fresh sessions for each input: the outcome must depend on this input only.
  void reset(ocm::proto::Compression slot1_compression) {
    for (uint32_t s = 0; s < kSlots; ++s) {
      table.release(s);
      FUZZ_CHECK(table.attach_cstp(s, lease_of(s)).has_value());
      FUZZ_CHECK(table.activate(s, lease_of(s), peer_of(s), c2s[s], s2c[s], kEpoch, 1).has_value());
    }
    FUZZ_CHECK(table.set_compression(1, slot1_compression, 256).has_value());
  }
  void drain() {
    while (control.peek() != nullptr) {
      control.pop();
    }
    while (cstp.peek() != nullptr) {
      cstp.pop();
    }
  }

  std::unique_ptr<ocm::crypto::CryptoEngine> engine;
  PktPool pool;
  SessionTable table;
  ControlRing control;
  CstpRing cstp;
  std::vector<AeadKey> c2s;
  std::vector<AeadKey> s2c;
};

World& world() {
  static World w;
  return w;
}

InnerVerdict reference_inner(std::span<const uint8_t> p, uint32_t lease) {
  if (p.size() < 20) {
    return InnerVerdict::kTooShort;
  }
  if ((p[0] & 0xf0) != 0x40) {
    return InnerVerdict::kNotIpv4;
  }
  size_t ihl = (p[0] & 0x0f) * size_t{4};
  if (ihl < 20 || ihl > p.size()) {
    return InnerVerdict::kBadHeaderLength;
  }
  if (size_t{p[2]} * 256 + p[3] != p.size()) {
    return InnerVerdict::kBadTotalLength;
  }
  uint32_t src = (uint32_t{p[12]} << 24) | (uint32_t{p[13]} << 16) | (uint32_t{p[14]} << 8) | p[15];
  return src == lease ? InnerVerdict::kOk : InnerVerdict::kSourceSpoofed;
}

struct Sent {
  bool sealed = false;
  uint32_t key_slot = 0;
  bool right_epoch = false;
  uint64_t seq = 0;
  Peer from;
  std::vector<uint8_t> plain;  // type byte + payload
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = world();
  const auto slot1_compression = (size & 1) != 0 ? ocm::proto::Compression::kLzs : ocm::proto::Compression::kLz4;
  w.reset(slot1_compression);
  w.drain();
  Counters counters;
  Ctx ctx(*w.engine, w.table, w.control, w.cstp, counters);
  ctx.now_ns = 1'000'000'000;

  ocm::fuzz::Reader in(data, size);
  const size_t n = 1 + in.u8() % kMaxDatagrams;
  std::vector<PktBuf*> pkts;
  std::vector<Sent> sent;
  uint64_t rx_before[kSlots];
  for (uint32_t s = 0; s < kSlots; ++s) {
    rx_before[s] = w.table.session(s).counters.rx_packets;
  }

  for (size_t i = 0; i < n && !in.empty(); ++i) {
    const uint8_t c = in.u8();
    Sent rec;
    rec.sealed = (c & 0x04) != 0;
    rec.key_slot = (c >> 3) & 1;
    const bool fix_ip = (c & 0x10) != 0;
    const uint8_t epoch_pick = (c >> 5) & 3;
    const uint16_t epoch = epoch_pick == 2 ? 0 : epoch_pick == 3 ? 2 : kEpoch;
    rec.right_epoch = epoch == kEpoch;
    rec.seq = in.u8() % 16;  // small, so replays and window edges are common
    size_t len = in.u16() % (kMaxPlain + 1);
    auto body = in.bytes(len);

    PktBuf* p = w.pool.alloc();
    FUZZ_CHECK(p != nullptr);
    switch (c & 3) {
      case 0:
      case 1:
        p->meta.peer = peer_of(c & 1);
        break;
      case 2:  // a session's address from another port: roaming
        p->meta.peer = Peer::v4(peer_of(0).addr.v4_host(), 50000);
        break;
      default:
        p->meta.peer = Peer::v4(0x08080808, 53);
        break;
    }

    // Differential check of the inner-packet validator on the raw bytes.
    for (uint32_t lease : {lease_of(0), lease_of(1)}) {
      FUZZ_CHECK(check_inner_ipv4(body, lease) == reference_inner(body, lease));
    }

    if (!rec.sealed) {
      FUZZ_CHECK(p->assign(body));
    } else {
      rec.plain.assign(body.begin(), body.end());
      if (rec.plain.empty()) {
        rec.plain.push_back(0x00);
      }
      if (fix_ip) {
        // A DATA packet with a well-formed IPv4 header from the slot's lease; other bytes stay fuzzed.
        rec.plain[0] = 0x00;
        if (rec.plain.size() < 21) {
          rec.plain.resize(21);
        }
        size_t total = rec.plain.size() - 1;
        uint8_t* ip = rec.plain.data() + 1;
        ip[0] = 0x45;
        ip[2] = static_cast<uint8_t>(total >> 8);
        ip[3] = static_cast<uint8_t>(total);
        uint32_t src = lease_of(rec.key_slot);
        ip[12] = static_cast<uint8_t>(src >> 24);
        ip[13] = static_cast<uint8_t>(src >> 16);
        ip[14] = static_cast<uint8_t>(src >> 8);
        ip[15] = static_cast<uint8_t>(src);
      }
      const AeadKey& key = w.c2s[rec.key_slot];
      size_t off = ocm::crypto::dtls_plaintext_offset(key.algo());
      std::vector<uint8_t> record(rec.plain.size() + ocm::crypto::dtls_overhead(key.algo()));
      std::copy(rec.plain.begin(), rec.plain.end(), record.begin() + static_cast<std::ptrdiff_t>(off));
      size_t sealed = ocm::crypto::dtls_seal_in_place(*w.engine, key, epoch, rec.seq, record.data(), rec.plain.size());
      FUZZ_CHECK(sealed == record.size());
      FUZZ_CHECK(p->assign(record));
    }
    rec.from = p->meta.peer;
    pkts.push_back(p);
    sent.push_back(std::move(rec));
  }
  if (pkts.empty()) {
    return 0;
  }

  std::vector<PktBuf*> to_tun(pkts.size()), to_udp(pkts.size()), to_free(pkts.size());
  auto count = static_cast<uint16_t>(pkts.size());
  UdpRxResult r = process_udp_rx(ctx, pkts.data(), count, to_tun.data(), to_udp.data(), to_free.data());

  FUZZ_CHECK(size_t{r.n_tun} + r.n_udp + r.n_free == pkts.size());
  std::multiset<PktBuf*> returned;
  returned.insert(to_tun.begin(), to_tun.begin() + r.n_tun);
  returned.insert(to_udp.begin(), to_udp.begin() + r.n_udp);
  returned.insert(to_free.begin(), to_free.begin() + r.n_free);
  FUZZ_CHECK(returned == std::multiset<PktBuf*>(pkts.begin(), pkts.end()));

  auto index_of = [&](const PktBuf* p) {
    return static_cast<size_t>(std::find(pkts.begin(), pkts.end(), p) - pkts.begin());
  };
  std::set<std::pair<uint32_t, uint64_t>> accepted;
  for (uint16_t i = 0; i < r.n_tun; ++i) {
    PktBuf* p = to_tun[i];
    const Sent& s = sent[index_of(p)];
    FUZZ_CHECK(s.sealed && s.right_epoch);
    FUZZ_CHECK(p->meta.slot == s.key_slot);
    FUZZ_CHECK(accepted.emplace(s.key_slot, s.seq).second);
    auto bytes = p->bytes();
    if (s.plain[0] == 0x08) {
      FUZZ_CHECK(s.key_slot == 1);
      static uint8_t expect[16384];
      size_t unpacked =
          ocm::proto::decompress_packet(slot1_compression, std::span<const uint8_t>(s.plain).subspan(1), expect);
      FUZZ_CHECK(unpacked == bytes.size() && std::equal(bytes.begin(), bytes.end(), expect));
    } else {
      FUZZ_CHECK(s.plain[0] == 0x00);
      FUZZ_CHECK(std::equal(bytes.begin(), bytes.end(), s.plain.begin() + 1, s.plain.end()));
    }
    FUZZ_CHECK(check_inner_ipv4(bytes, lease_of(s.key_slot)) == InnerVerdict::kOk);
  }
  for (uint16_t i = 0; i < r.n_udp; ++i) {
    PktBuf* p = to_udp[i];
    const Sent& s = sent[index_of(p)];
    FUZZ_CHECK(s.sealed && s.right_epoch);
    FUZZ_CHECK(accepted.emplace(s.key_slot, s.seq).second);
    FUZZ_CHECK(s.plain[0] == 0x03);
    // The reply goes to the session's peer when it is sealed, which an authenticated record
    // earlier in the burst may have moved (roaming): never to an address that did not prove the key.
    bool proven = p->meta.peer == peer_of(s.key_slot);
    for (const Sent& other : sent) {
      proven = proven || (other.sealed && other.right_epoch && other.key_slot == s.key_slot && other.from == p->meta.peer);
    }
    FUZZ_CHECK(proven);
    std::vector<uint8_t> reply(p->bytes().begin(), p->bytes().end());
    uint64_t seq = 0;
    uint8_t* plain = nullptr;
    size_t plain_len = 0;
    FUZZ_CHECK(ocm::crypto::dtls_open_in_place(*w.engine, w.s2c[s.key_slot], kEpoch, reply, seq, plain, plain_len));
    FUZZ_CHECK(plain_len == s.plain.size() && plain[0] == 0x04);
    FUZZ_CHECK(std::equal(plain + 1, plain + plain_len, s.plain.begin() + 1));
  }

  // Nothing authenticates that we did not seal with that slot's key and epoch.
  for (uint32_t slot = 0; slot < kSlots; ++slot) {
    size_t genuine = 0;
    for (const Sent& s : sent) {
      genuine += (s.sealed && s.right_epoch && s.key_slot == slot) ? 1 : 0;
    }
    uint64_t authenticated = w.table.session(slot).counters.rx_packets - rx_before[slot];
    FUZZ_CHECK(authenticated <= genuine);
  }

  w.pool.free_bulk(pkts.data(), static_cast<uint32_t>(pkts.size()));
  return 0;
}
