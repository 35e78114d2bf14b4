// ocm-perf-dpdk: the DTLS data path through the dpdk driver's own lcore loop (drivers/dpdk
// Worker::run_once), in the style of dpdk-testpmd: EAL arguments first, `--`, then ours.
//
//   ocm-perf-dpdk -l 1 --in-memory --vdev=net_ring0 --vdev=net_null0,no-rx=1 --
//       --sessions 1024 --sizes 64,512,1400 --seconds 2 --json out.json   (one command line)
//
// Ports (found by driver name, or created here when the EAL arguments name none):
//   source  net_ring, loopback (what is sent on it is received from it). The untimed
//           generator sends on it with rte_eth_tx_burst; the Worker receives from it.
//   sink    net_null with no-rx=1: TX frees the mbufs, as a NIC's TX completion does.
//   idle    net_null_ocmtap (no-rx=1, created here): stands in for the TAP exception port, so
//           the Worker polls it every iteration as it polls the real TAP.
// Directions, each with a Worker of its own (the ports are shared):
//   decrypt  Worker{nic = source, tun_port = sink}. Frames: Ethernet/IPv4/UDP (build_udp_frame)
//            carrying one DTLS record sealed with the session's client key and the next
//            sequence number. The Worker parses, learns the next hop, classifies, opens,
//            checks replay, dispatches, validates the inner packet and sends it to the sink.
//   encrypt  Worker{nic = sink, tun_port = source}. Inner IPv4 packets to the sessions'
//            leases; the Worker routes, seals, frames (build_udp_frame) and sends to the sink.
// Packet i goes to session i mod N, so consecutive packets never share a session.
//
// What is timed: a round puts K = --round packets into the source ring (untimed: mbuf alloc,
// frame/record building, client-side sealing, the enqueue), then TSC ticks are read before the
// first and after the last Worker::run_once of the round (the driver's loop body: the same
// clock_gettime per iteration, command-ring check, NIC/TAP/TUN polls, pipeline, TX, mbuf
// frees). Two raw figures over K packets built the same way in mbufs, on the same core, in
// rounds interleaved with the pipeline's so that all see the same machine load:
//   raw-imb  ipsec-mb's direct GCM API (IMB_AES{128,256}_GCM_DEC/ENC) on the record: nonce and
//            AAD from the header, tag compared with two 64-bit XORs. The issue's "raw ipsec-mb
//            open/seal" rate and the reference of the ratio. AES-GCM only.
//   raw-rec  lib/crypto's dtls_open_in_place / dtls_seal_in_place: what the pipeline calls per
//            record (header checks, nonce/AAD, AeadKey::open/seal). Shows crypto-layer overhead
//            apart from pipeline overhead.
// A figure is the median round (robust to preemption on a shared machine); the mean over all
// rounds is printed too. Cycles are TSC ticks (rte_get_tsc_hz), not core clock cycles.
//
// Results are refused (exit 1) unless every generated packet came out of the pipeline: no
// drop of any reason, no decrypt failure, no frame to the kernel, sink TX == generated.

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_bus_vdev.h>
#include <intel-ipsec-mb.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "eal.hpp"
#include "eth_port.hpp"
#include "mbuf_pkt.hpp"
#include "mempool.hpp"
#include "worker.hpp"
#include "ocm/base/json.hpp"
#include "ocm/crypto/aead.hpp"
#include "ocm/crypto/dtls_record.hpp"
#include "ocm/datapath/frame.hpp"

namespace {

using ocm::crypto::AeadAlgo;
using ocm::crypto::AeadKey;
using ocm::crypto::CryptoEngine;
using ocm::dpdk::EthPort;
using ocm::dpdk::Stat;
using ocm::dpdk::Worker;
namespace dp = ocm::datapath;

constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;
constexpr int kExitSkip = 77;  // meson: test skipped (EAL cannot start here, e.g. not root)

// ---------------------------------------------------------------------------------------------
// Options

struct Suite {
  const char* name;
  AeadAlgo algo;
};
constexpr Suite kSuites[] = {
    {"aes128gcm", AeadAlgo::kAes128Gcm},
    {"aes256gcm", AeadAlgo::kAes256Gcm},
    {"chacha20poly1305", AeadAlgo::kChaCha20Poly1305},
};

constexpr size_t kMinSize = 20;    // a bare IPv4 header
constexpr size_t kMaxSize = 1500;  // an Ethernet MTU of inner packet; the frame still fits an mbuf

struct Options {
  std::vector<size_t> sizes{64, 512, 1400};
  std::vector<Suite> suites{kSuites[0], kSuites[1]};
  uint32_t sessions = 1024;
  double seconds = 1.0;  // timed pipeline seconds per figure
  uint32_t round = 512;  // packets per round
  std::string json_path;
  int source_port = -1;
  int sink_port = -1;
  bool quick = false;
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: ocm-perf-dpdk [EAL args] -- [--sessions N] [--sizes 64,512,1400]\n"
               "           [--suites aes128gcm,aes256gcm,chacha20poly1305] [--seconds S] [--round K]\n"
               "           [--source-port ID] [--sink-port ID] [--json FILE|-] [--quick]\n"
               "  --sessions     DTLS sessions the packets rotate over (1..65000, default 1024)\n"
               "  --sizes        inner IPv4 packet sizes (%zu..%zu, default 64,512,1400)\n"
               "  --suites       AEAD suites (default aes128gcm,aes256gcm)\n"
               "  --seconds      timed pipeline seconds per size/suite/direction (default 1)\n"
               "  --round        packets per generated round, a multiple of 32 (default 512)\n"
               "  --source-port  net_ring port the generator fills (default: first net_ring, else created)\n"
               "  --sink-port    net_null port with no-rx=1 (default: first net_null, else created)\n"
               "  --json         also write the results as JSON to FILE (- for stdout)\n"
               "  --quick        smoke run: 64 and 1400 bytes, aes128gcm, 64 sessions, 20 ms\n"
               "Exit: 0 measured, 1 results invalid (packets lost or not decrypted), 2 usage, 77 EAL\n"
               "cannot start.\n",
               kMinSize, kMaxSize);
}

template <typename Fn>
bool split_list(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    if (item.empty() || !fn(item)) {
      return false;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    text.remove_prefix(comma + 1);
  }
  return true;
}

bool parse_uint(std::string_view text, uint64_t max, uint64_t& out) {
  if (text.empty() || text.size() > 10) {
    return false;
  }
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) {
    return false;
  }
  out = v;
  return true;
}

bool parse_options(int argc, char** argv, Options& o) {
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view v;
    auto value = [&]() {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ocm-perf-dpdk: %s needs a value\n", argv[i]);
        return false;
      }
      v = argv[++i];
      return true;
    };
    uint64_t n = 0;
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      std::exit(0);
    } else if (arg == "--quick") {
      o.quick = true;
    } else if (arg == "--sizes") {
      o.sizes.clear();
      if (!value() || !split_list(v, [&](std::string_view item) {
            uint64_t s = 0;
            if (!parse_uint(item, kMaxSize, s) || s < kMinSize) {
              return false;
            }
            o.sizes.push_back(s);
            return true;
          })) {
        std::fprintf(stderr, "ocm-perf-dpdk: bad --sizes (each %zu..%zu)\n", kMinSize, kMaxSize);
        return false;
      }
    } else if (arg == "--suites") {
      o.suites.clear();
      if (!value() || !split_list(v, [&](std::string_view item) {
            for (const Suite& s : kSuites) {
              if (item == s.name) {
                o.suites.push_back(s);
                return true;
              }
            }
            return false;
          })) {
        std::fprintf(stderr, "ocm-perf-dpdk: bad --suites (aes128gcm, aes256gcm, chacha20poly1305)\n");
        return false;
      }
    } else if (arg == "--sessions") {
      // The pool is a /16 (route table 256 KiB) and peers come from 198.18.0.0/15.
      if (!value() || !parse_uint(v, 65000, n) || n == 0) {
        std::fprintf(stderr, "ocm-perf-dpdk: bad --sessions (1..65000)\n");
        return false;
      }
      o.sessions = static_cast<uint32_t>(n);
    } else if (arg == "--seconds") {
      if (!value()) {
        return false;
      }
      std::string text(v);
      char* end = nullptr;
      double s = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0' || !(s > 0) || s > 3600) {
        std::fprintf(stderr, "ocm-perf-dpdk: bad --seconds (0 < S <= 3600)\n");
        return false;
      }
      o.seconds = s;
    } else if (arg == "--round") {
      // At most 1024 - 32: a default net_ring ring holds 1023 mbufs.
      if (!value() || !parse_uint(v, 992, n) || n == 0 || n % dp::kBurst != 0) {
        std::fprintf(stderr, "ocm-perf-dpdk: bad --round (32..992, a multiple of 32)\n");
        return false;
      }
      o.round = static_cast<uint32_t>(n);
    } else if (arg == "--source-port" || arg == "--sink-port") {
      if (!value() || !parse_uint(v, RTE_MAX_ETHPORTS - 1, n)) {
        std::fprintf(stderr, "ocm-perf-dpdk: bad %s\n", argv[i - 1]);
        return false;
      }
      (arg == "--source-port" ? o.source_port : o.sink_port) = static_cast<int>(n);
    } else if (arg == "--json") {
      if (!value()) {
        return false;
      }
      o.json_path = std::string(v);
    } else {
      std::fprintf(stderr, "ocm-perf-dpdk: unknown option %s\n", argv[i]);
      usage(stderr);
      return false;
    }
  }
  if (o.quick) {
    o.sizes = {64, 1400};
    o.suites = {kSuites[0]};
    o.sessions = 64;
    o.seconds = 0.02;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Clock

uint64_t ticks() noexcept {
  // rte_rdtsc_precise has a barrier first, so earlier work cannot drift past the read.
  return rte_rdtsc_precise();
}

// The driver loop's clock (dpdk_data_plane.cpp): read once per iteration inside the timed region.
uint64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// ---------------------------------------------------------------------------------------------
// Addresses of the synthetic world

constexpr uint32_t kOurAddress = 0xCB007101;  // 203.0.113.1/24, the appliance
constexpr uint32_t kGateway = 0xCB0071FE;     // 203.0.113.254: clients are off-link behind it
constexpr uint16_t kDtlsPort = 443;
constexpr uint32_t kPoolNetwork = 0x0A000000;  // 10.0.0.0/16 leases
constexpr uint32_t kRemote = 0x08080808;       // the inner packets' far end
constexpr uint32_t kPeerBase = 0xC6120000;     // 198.18.0.0/15: the clients' public addresses
constexpr uint16_t kEpoch = 1;
constexpr dp::MacAddr kGatewayMac = {0x02, 0x00, 0x5e, 0x00, 0x00, 0xfe};

uint32_t lease(uint32_t s) { return kPoolNetwork + 2 + s; }
uint32_t peer_ip(uint32_t s) { return kPeerBase + s; }
uint16_t peer_port(uint32_t s) { return static_cast<uint16_t>(1024 + s % 60000); }

void store_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

std::vector<uint8_t> key_bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761U + 1;
  for (auto& b : v) {
    x = x * 1103515245U + 12345U;
    b = static_cast<uint8_t>(x >> 16);
  }
  return v;
}

AeadKey make_key(CryptoEngine& engine, AeadAlgo algo, uint32_t seed) {
  size_t key_len = algo == AeadAlgo::kAes128Gcm ? 16 : 32;
  size_t iv_len = algo == AeadAlgo::kChaCha20Poly1305 ? 12 : 4;
  auto r = AeadKey::create(engine, algo, key_bytes(key_len, seed), key_bytes(iv_len, seed ^ 0xabcdefU));
  if (!r) {
    std::fprintf(stderr, "ocm-perf-dpdk: key setup failed: %s\n", r.error().message.c_str());
    std::exit(kExitInvalid);
  }
  return *r;
}

// The raw-imb key of a session: ipsec-mb's expanded GCM key and the 4-byte salt.
struct alignas(64) ImbKey {
  gcm_key_data key;
  uint8_t salt[4];
};

void make_imb_key(IMB_MGR* mgr, AeadAlgo algo, uint32_t seed, ImbKey& out) {
  if (algo == AeadAlgo::kChaCha20Poly1305) {
    return;  // raw-imb covers AES-GCM only
  }
  std::vector<uint8_t> key = key_bytes(algo == AeadAlgo::kAes128Gcm ? 16 : 32, seed);
  std::vector<uint8_t> iv = key_bytes(4, seed ^ 0xabcdefU);
  if (algo == AeadAlgo::kAes128Gcm) {
    IMB_AES128_GCM_PRE(mgr, key.data(), &out.key);
  } else {
    IMB_AES256_GCM_PRE(mgr, key.data(), &out.key);
  }
  std::memcpy(out.salt, iv.data(), 4);
}

// Tag check in registers, without early exit (what a careful record layer does).
inline bool tags_equal(const uint8_t* a, const uint8_t* b) noexcept {
  uint64_t a0 = 0;
  uint64_t a1 = 0;
  uint64_t b0 = 0;
  uint64_t b1 = 0;
  std::memcpy(&a0, a, 8);
  std::memcpy(&a1, a + 8, 8);
  std::memcpy(&b0, b, 8);
  std::memcpy(&b1, b + 8, 8);
  return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

[[noreturn]] void invalid(const char* what) {
  std::fprintf(stderr, "ocm-perf-dpdk: %s; results invalid\n", what);
  std::exit(kExitInvalid);
}

// ---------------------------------------------------------------------------------------------
// Statistics

struct Figure {
  double median = 0;  // ticks per packet
  double best = 0;
  double mean = 0;
  uint64_t packets = 0;
};

Figure summarize(std::vector<double> per_round, uint64_t total_ticks, uint64_t packets) {
  Figure f;
  std::sort(per_round.begin(), per_round.end());
  size_t n = per_round.size();
  f.median = n % 2 == 1 ? per_round[n / 2] : (per_round[n / 2 - 1] + per_round[n / 2]) / 2;
  f.best = per_round.front();
  f.mean = static_cast<double>(total_ticks) / static_cast<double>(packets);
  f.packets = packets;
  return f;
}

// ---------------------------------------------------------------------------------------------
// One size x suite x direction: a Worker on the shared ports, the client side of every session,
// the generator, and the raw comparison.

struct Ports {
  EthPort* source = nullptr;
  EthPort* sink = nullptr;
  EthPort* idle = nullptr;
  rte_mempool* pool = nullptr;
};

enum class Direction { kDecrypt, kEncrypt };
enum class Raw { kImb, kRecord };

class Bench {
 public:
  Bench(const Ports& ports, CryptoEngine& engine, AeadAlgo algo, uint32_t sessions, size_t size, Direction dir,
        uint32_t round)
      : ports_(ports),
        engine_(engine),
        algo_(algo),
        sessions_(sessions),
        size_(size),
        dir_(dir),
        round_(round),
        commands_(ocm::dpdk::kCommandRingSize),
        c2s_(sessions),
        s2c_(sessions),
        imb_c2s_(algo == AeadAlgo::kChaCha20Poly1305 ? 0 : sessions),
        imb_s2c_(algo == AeadAlgo::kChaCha20Poly1305 ? 0 : sessions),
        client_seq_(sessions, 1),
        raw_seq_(sessions, 1),
        mbufs_(round) {
    ocm::dpdk::WorkerSettings ws;
    ws.address = kOurAddress;
    ws.prefix_length = 24;
    ws.gateway = kGateway;
    ws.udp_port = kDtlsPort;
    ws.pool = ocm::Ipv4Prefix{kPoolNetwork, 16};
    ws.slots = sessions;
    ws.hash_seed = 0x9e3779b97f4a7c15ULL ^ rte_rdtsc();
    bool decrypt = dir == Direction::kDecrypt;
    ws.tun_port = decrypt ? ports.sink : ports.source;
    auto worker_engine = CryptoEngine::create();
    if (!worker_engine) {
      std::fprintf(stderr, "ocm-perf-dpdk: %s\n", worker_engine.error().message.c_str());
      std::exit(kExitInvalid);
    }
    EthPort& nic = decrypt ? *ports.source : *ports.sink;
    worker_ = std::make_unique<Worker>(ws, std::move(worker_engine).value(), nic, *ports.idle, ports.pool, commands_);
    nic_mac_ = nic.mac();

    // Sessions arrive as the slow path sends them: activate commands through the ring.
    for (uint32_t s = 0; s < sessions; ++s) {
      c2s_[s] = make_key(engine, algo, 2 * s + 1);
      s2c_[s] = make_key(engine, algo, 2 * s + 2);
      if (algo != AeadAlgo::kChaCha20Poly1305) {
        auto* mgr = static_cast<IMB_MGR*>(engine.native());
        make_imb_key(mgr, algo, 2 * s + 1, imb_c2s_[s]);
        make_imb_key(mgr, algo, 2 * s + 2, imb_s2c_[s]);
      }
      ocm::dpdk::Command* c = nullptr;
      while ((c = commands_.reserve()) == nullptr) {
        worker_->run_once(monotonic_ns());
      }
      c->kind = ocm::dpdk::CommandKind::kActivate;
      c->slot = s;
      c->lease = lease(s);
      c->peer = dp::Peer::v4(peer_ip(s), peer_port(s));
      c->rx_key = c2s_[s];
      c->tx_key = s2c_[s];
      c->epoch = kEpoch;
      c->first_tx_seq = 1;
      commands_.commit();
    }
    while (commands_.peek() != nullptr) {
      worker_->run_once(monotonic_ns());
    }
    if (worker_->sessions().in_use() != sessions || worker_->stats().get(Stat::kCommandFailed) != 0) {
      invalid("session activation failed");
    }
    if (!decrypt) {
      // The clients' frames would have taught the lcore their next hop (the gateway's MAC);
      // this Worker has seen none, so seed what it would have learned.
      for (uint32_t s = 0; s < sessions; ++s) {
        worker_->neighbours().learn(peer_ip(s), kGatewayMac);
      }
      worker_->neighbours().learn(kGateway, kGatewayMac);
    }

    ip_.assign(size, 0);
    ip_[0] = 0x45;
    ip_[2] = static_cast<uint8_t>(size >> 8);
    ip_[3] = static_cast<uint8_t>(size);
    ip_[8] = 64;
    ip_[9] = 17;
    for (size_t i = 20; i < size; ++i) {
      ip_[i] = static_cast<uint8_t>(i);
    }
  }
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;

  // One pipeline round: generate K packets into the source ring (untimed), then run the lcore
  // loop until it has taken all K; returns the timed ticks.
  uint64_t pipeline_round() {
    generate();
    uint16_t accepted = rte_eth_tx_burst(ports_.source->id(), 0, mbufs_.data(), static_cast<uint16_t>(round_));
    if (accepted != round_) {
      rte_pktmbuf_free_bulk(mbufs_.data() + accepted, round_ - accepted);
      invalid("the source ring did not take a whole round (use a smaller --round)");
    }
    generated_ += round_;
    Stat taken = dir_ == Direction::kDecrypt ? Stat::kNicRx : Stat::kTunRx;
    uint64_t target = generated_;
    // Bounded: a lost packet must end the run, not hang it.
    uint32_t budget = round_ / dp::kBurst * 4 + 16;
    uint64_t t0 = ticks();
    while (worker_->stats().get(taken) < target && budget-- > 0) {
      worker_->run_once(monotonic_ns());
    }
    uint64_t t1 = ticks();
    if (worker_->stats().get(taken) != target) {
      invalid("the lcore did not receive every generated packet");
    }
    return t1 - t0;
  }

  [[nodiscard]] bool has_imb() const { return algo_ != AeadAlgo::kChaCha20Poly1305; }

  // One raw round over the same kind of packets in mbufs; returns the timed ticks.
  uint64_t raw_round(Raw raw) {
    generate();
    uint32_t ok = 0;
    uint64_t t0 = ticks();
    if (raw == Raw::kImb) {
      ok = dir_ == Direction::kDecrypt ? imb_open() : imb_seal();
    } else if (dir_ == Direction::kDecrypt) {
      constexpr size_t kHeaders = dp::kEthHeader + dp::kIpv4Header + dp::kUdpHeader;
      for (uint32_t i = 0; i < round_; ++i) {
        dp::PktBuf* p = ocm::dpdk::pkt_of(mbufs_[i]);
        uint64_t seq = 0;
        uint8_t* plain = nullptr;
        size_t len = 0;
        std::span<uint8_t> record{p->data() + kHeaders, p->len() - kHeaders};
        ok += ocm::crypto::dtls_open_in_place(engine_, c2s_[p->meta.slot], kEpoch, record, seq, plain, len) ? 1 : 0;
      }
    } else {
      size_t off = ocm::crypto::dtls_plaintext_offset(algo_);
      for (uint32_t i = 0; i < round_; ++i) {
        dp::PktBuf* p = ocm::dpdk::pkt_of(mbufs_[i]);
        uint32_t s = p->meta.slot;
        uint8_t* type = p->prepend(1);
        *type = 0x00;
        uint8_t* rec = p->data() - off;
        size_t len = ocm::crypto::dtls_seal_in_place(engine_, s2c_[s], kEpoch, raw_seq_[s]++, rec, p->len());
        p->set_window_at(rec, static_cast<uint32_t>(len));
        ok += len != 0 ? 1 : 0;
      }
    }
    uint64_t t1 = ticks();
    rte_pktmbuf_free_bulk(mbufs_.data(), round_);
    if (ok != round_) {
      invalid("raw ipsec-mb open/seal failed");
    }
    return t1 - t0;
  }

  // ipsec-mb alone on each record in the mbufs; the number that authenticated.
  uint32_t imb_open() noexcept {
    auto* mgr = static_cast<IMB_MGR*>(engine_.native());
    constexpr size_t kHeaders = dp::kEthHeader + dp::kIpv4Header + dp::kUdpHeader;
    constexpr size_t kExplicit = 8;
    uint32_t ok = 0;
    for (uint32_t i = 0; i < round_; ++i) {
      dp::PktBuf* p = ocm::dpdk::pkt_of(mbufs_[i]);
      const ImbKey& k = imb_c2s_[p->meta.slot];
      uint8_t* rec = p->data() + kHeaders;
      size_t plain_len = p->len() - kHeaders - ocm::crypto::kDtlsHeaderSize - kExplicit - ocm::crypto::kTagSize;
      uint8_t nonce[12];
      std::memcpy(nonce, k.salt, 4);
      std::memcpy(nonce + 4, rec + ocm::crypto::kDtlsHeaderSize, kExplicit);
      uint8_t aad[13];
      std::memcpy(aad, rec + 3, 8);  // epoch|seq
      std::memcpy(aad + 8, rec, 3);  // type, version
      aad[11] = static_cast<uint8_t>(plain_len >> 8);
      aad[12] = static_cast<uint8_t>(plain_len);
      uint8_t* ct = rec + ocm::crypto::kDtlsHeaderSize + kExplicit;
      uint8_t tag[16];
      gcm_context_data ctx;
      if (algo_ == AeadAlgo::kAes128Gcm) {
        IMB_AES128_GCM_DEC(mgr, &k.key, &ctx, ct, ct, plain_len, nonce, aad, sizeof aad, tag, sizeof tag);
      } else {
        IMB_AES256_GCM_DEC(mgr, &k.key, &ctx, ct, ct, plain_len, nonce, aad, sizeof aad, tag, sizeof tag);
      }
      ok += tags_equal(tag, ct + plain_len) ? 1 : 0;
    }
    return ok;
  }

  // ipsec-mb alone: type byte, record header and explicit nonce in front, sealed in place.
  uint32_t imb_seal() noexcept {
    auto* mgr = static_cast<IMB_MGR*>(engine_.native());
    constexpr size_t kExplicit = 8;
    uint32_t ok = 0;
    for (uint32_t i = 0; i < round_; ++i) {
      dp::PktBuf* p = ocm::dpdk::pkt_of(mbufs_[i]);
      uint32_t s = p->meta.slot;
      const ImbKey& k = imb_s2c_[s];
      uint8_t* plain = p->prepend(1);
      *plain = 0x00;
      size_t plain_len = p->len();
      uint8_t* rec = p->prepend(ocm::crypto::kDtlsHeaderSize + kExplicit);
      uint64_t es = uint64_t{kEpoch} << 48 | raw_seq_[s]++;
      for (int b = 0; b < 8; ++b) {
        rec[3 + b] = static_cast<uint8_t>(es >> (56 - 8 * b));
      }
      rec[0] = ocm::crypto::kContentApplicationData;
      rec[1] = 0xfe;
      rec[2] = 0xfd;
      size_t frag = kExplicit + plain_len + ocm::crypto::kTagSize;
      rec[11] = static_cast<uint8_t>(frag >> 8);
      rec[12] = static_cast<uint8_t>(frag);
      std::memcpy(rec + ocm::crypto::kDtlsHeaderSize, rec + 3, kExplicit);
      uint8_t nonce[12];
      std::memcpy(nonce, k.salt, 4);
      std::memcpy(nonce + 4, rec + 3, kExplicit);
      uint8_t aad[13];
      std::memcpy(aad, rec + 3, 8);
      std::memcpy(aad + 8, rec, 3);
      aad[11] = static_cast<uint8_t>(plain_len >> 8);
      aad[12] = static_cast<uint8_t>(plain_len);
      uint8_t* tag = p->append(ocm::crypto::kTagSize);
      gcm_context_data ctx;
      if (algo_ == AeadAlgo::kAes128Gcm) {
        IMB_AES128_GCM_ENC(mgr, &k.key, &ctx, plain, plain, plain_len, nonce, aad, sizeof aad, tag,
                           ocm::crypto::kTagSize);
      } else {
        IMB_AES256_GCM_ENC(mgr, &k.key, &ctx, plain, plain, plain_len, nonce, aad, sizeof aad, tag,
                           ocm::crypto::kTagSize);
      }
      ok += tag != nullptr ? 1 : 0;
    }
    return ok;
  }

  // Every generated packet must have come out of the pipeline, or the figures would flatter a
  // pipeline that drops.
  void check(uint64_t sink_tx_before) const {
    const auto& st = worker_->stats();
    const dp::Counters& c = worker_->counters();
    bool decrypt = dir_ == Direction::kDecrypt;
    uint64_t in = st.get(decrypt ? Stat::kDtlsRx : Stat::kTunRx);
    uint64_t out = st.get(decrypt ? Stat::kTunTx : Stat::kDtlsTx);
    uint64_t sink_tx = ports_.sink->stats().tx - sink_tx_before;
    bool ok = in == generated_ && out == generated_ && sink_tx == generated_ && c.total_drops() == 0 &&
              st.get(Stat::kToKernel) == 0 && st.get(Stat::kNoNeighbour) == 0 && st.get(Stat::kFrameFailed) == 0 &&
              st.get(Stat::kNicTxFull) == 0 && st.get(Stat::kTunWriteFailed) == 0 && st.get(Stat::kParked) == 0;
    if (ok) {
      return;
    }
    std::fprintf(stderr,
                 "ocm-perf-dpdk: packets lost: generated %" PRIu64 ", pipeline in %" PRIu64 ", out %" PRIu64
                 ", sink tx %" PRIu64 "\n",
                 generated_, in, out, sink_tx);
    for (size_t i = 0; i < static_cast<size_t>(Stat::kCount); ++i) {
      if (st.v[i] != 0) {
        std::fprintf(stderr, "  driver %s: %" PRIu64 "\n", ocm::dpdk::to_string(static_cast<Stat>(i)), st.v[i]);
      }
    }
    for (size_t i = 0; i < dp::kDropReasonCount; ++i) {
      if (c.drops[i] != 0) {
        std::fprintf(stderr, "  drop %s: %" PRIu64 "\n", dp::to_string(static_cast<dp::DropReason>(i)), c.drops[i]);
      }
    }
    invalid(decrypt && c.dropped(dp::DropReason::kAuthFailed) != 0 ? "decrypt failures" : "packets lost");
  }

  [[nodiscard]] const Worker& worker() const { return *worker_; }
  [[nodiscard]] uint64_t generated() const { return generated_; }
  [[nodiscard]] size_t wire_size() const {
    size_t frame = dp::kEthHeader + dp::kIpv4Header + dp::kUdpHeader;
    return frame + size_ + 1 + ocm::crypto::dtls_overhead(algo_);
  }

 private:
  uint32_t next_session() {
    uint32_t s = cursor_;
    cursor_ = cursor_ + 1 == sessions_ ? 0 : cursor_ + 1;
    return s;
  }

  // Untimed: K fresh mbufs holding what the wire (decrypt) or the TUN device (encrypt) would
  // deliver; meta.slot = the session, for the raw rounds.
  void generate() {
    if (rte_pktmbuf_alloc_bulk(ports_.pool, mbufs_.data(), round_) != 0) {
      invalid("mempool exhausted");
    }
    dp::UdpFlow flow;
    flow.src_mac = kGatewayMac;
    flow.dst_mac = nic_mac_;
    flow.src_port = 0;
    size_t off = ocm::crypto::dtls_plaintext_offset(algo_);
    for (uint32_t i = 0; i < round_; ++i) {
      uint32_t s = next_session();
      dp::PktBuf* p = ocm::dpdk::fresh_pkt(mbufs_[i], dp::kFrameHeadroom);
      if (dir_ == Direction::kDecrypt) {
        uint8_t* rec = p->data();
        uint8_t* plain = rec + off;
        plain[0] = 0x00;  // DATA
        std::memcpy(plain + 1, ip_.data(), size_);
        store_be32(plain + 1 + 12, lease(s));
        store_be32(plain + 1 + 16, kRemote);
        size_t len = ocm::crypto::dtls_seal_in_place(engine_, c2s_[s], kEpoch, client_seq_[s]++, rec, size_ + 1);
        p->set_window(dp::kFrameHeadroom, static_cast<uint32_t>(len));
        flow.src = dp::IpAddr::v4(peer_ip(s));
        flow.src_port = peer_port(s);
        flow.dst = dp::Peer::v4(kOurAddress, kDtlsPort);
        if (len == 0 || !dp::build_udp_frame(*p, flow)) {
          invalid("generator could not build a frame");
        }
      } else {
        uint8_t* d = p->append(static_cast<uint16_t>(size_));
        std::memcpy(d, ip_.data(), size_);
        store_be32(d + 12, kRemote);
        store_be32(d + 16, lease(s));
      }
      p->meta.slot = s;
      ocm::dpdk::tx_mbuf(p);
    }
  }

  Ports ports_;
  CryptoEngine& engine_;
  AeadAlgo algo_;
  uint32_t sessions_;
  size_t size_;
  Direction dir_;
  uint32_t round_;
  ocm::dpdk::CommandRing commands_;
  std::unique_ptr<Worker> worker_;
  dp::MacAddr nic_mac_{};
  std::vector<AeadKey> c2s_;
  std::vector<AeadKey> s2c_;
  std::vector<ImbKey> imb_c2s_;
  std::vector<ImbKey> imb_s2c_;
  std::vector<uint64_t> client_seq_;
  std::vector<uint64_t> raw_seq_;
  std::vector<rte_mbuf*> mbufs_;
  std::vector<uint8_t> ip_;
  uint32_t cursor_ = 0;
  uint64_t generated_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Ports

std::string driver_of(uint16_t id) {
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(id, &info) != 0 || info.driver_name == nullptr) {
    return "?";
  }
  return info.driver_name;
}

int find_port(const char* driver) {
  uint16_t id = 0;
  RTE_ETH_FOREACH_DEV(id) {
    if (driver_of(id) == driver) {
      return id;
    }
  }
  return -1;
}

// A vdev created here (when the EAL arguments did not give one); its port id or -1.
int create_vdev(const char* name, const char* args) {
  if (rte_vdev_init(name, args) != 0) {
    std::fprintf(stderr, "ocm-perf-dpdk: cannot create vdev %s\n", name);
    return -1;
  }
  uint16_t id = 0;
  return rte_eth_dev_get_port_by_name(name, &id) == 0 ? id : -1;
}

struct PortRole {
  EthPort* port;
  const char* role;
};

void print_port_blocks(const std::vector<PortRole>& ports, ocm::json::Writer* json) {
  uint64_t rx_all = 0;
  uint64_t rx_drop_all = 0;
  uint64_t tx_all = 0;
  uint64_t tx_drop_all = 0;
  if (json != nullptr) {
    json->key("ports").begin_array();
  }
  for (const PortRole& pr : ports) {
    rte_eth_stats es{};
    rte_eth_stats_get(pr.port->id(), &es);
    const ocm::dpdk::EthPortStats& s = pr.port->stats();
    // RX-dropped: what the port lost before the lcore saw it (ring overflow, no mbuf, errors)
    // plus chained mbufs the driver refuses; TX-dropped: what the PMD did not accept.
    uint64_t rx_drop = es.imissed + es.ierrors + es.rx_nombuf + s.rx_multiseg;
    std::printf("\n  ---------------------- Forward statistics for port %-2u ----------------------\n",
                unsigned{pr.port->id()});
    std::printf("  (%s, %s)\n", pr.port->name().c_str(), pr.role);
    std::printf("  RX-packets: %-14" PRIu64 " RX-dropped: %-14" PRIu64 " RX-total: %" PRIu64 "\n", s.rx, rx_drop,
                s.rx + rx_drop);
    std::printf("  TX-packets: %-14" PRIu64 " TX-dropped: %-14" PRIu64 " TX-total: %" PRIu64 "\n", s.tx, s.tx_full,
                s.tx + s.tx_full);
    std::printf("  ----------------------------------------------------------------------------\n");
    rx_all += s.rx;
    rx_drop_all += rx_drop;
    tx_all += s.tx;
    tx_drop_all += s.tx_full;
    if (json != nullptr) {
      json->begin_object()
          .field("port", uint32_t{pr.port->id()})
          .field("name", pr.port->name())
          .field("role", pr.role)
          .field("rx_packets", s.rx)
          .field("rx_dropped", rx_drop)
          .field("tx_packets", s.tx)
          .field("tx_dropped", s.tx_full)
          .end_object();
    }
  }
  std::printf("\n  +++++++++++++++ Accumulated forward statistics for all ports+++++++++++++++\n");
  std::printf("  RX-packets: %-14" PRIu64 " RX-dropped: %-14" PRIu64 " RX-total: %" PRIu64 "\n", rx_all, rx_drop_all,
              rx_all + rx_drop_all);
  std::printf("  TX-packets: %-14" PRIu64 " TX-dropped: %-14" PRIu64 " TX-total: %" PRIu64 "\n", tx_all, tx_drop_all,
              tx_all + tx_drop_all);
  std::printf("  ++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++\n");
  if (json != nullptr) {
    json->end_array();
  }
}

std::string load_average() {
  FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) {
    return "?";
  }
  char buf[128] = {};
  if (std::fgets(buf, sizeof buf, f) == nullptr) {
    buf[0] = '\0';
  }
  std::fclose(f);
  std::string text = buf;
  // "0.52 0.58 0.59 1/123 4567": the three averages only.
  size_t cut = 0;
  for (int fields = 0; fields < 3 && cut != std::string::npos; ++fields) {
    cut = text.find(' ', cut + (fields == 0 ? 0 : 1));
  }
  return cut == std::string::npos ? text : text.substr(0, cut);
}

struct Row {
  size_t size;
  size_t wire;
  const char* suite;
  const char* direction;
  const char* mode;
  Figure fig;
  double ratio;  // pipeline Mpps / raw Mpps (median rounds); 0 for raw rows
};

double mpps(double ticks_per_pkt, double hz) { return hz / ticks_per_pkt / 1e6; }

int run(const Options& o, const std::vector<std::string>& eal_args) {
  Ports ports;
  int source_id = o.source_port >= 0 ? o.source_port : find_port("net_ring");
  if (source_id < 0) {
    source_id = create_vdev("net_ring_ocmsrc", "");
  }
  int sink_id = o.sink_port >= 0 ? o.sink_port : find_port("net_null");
  if (sink_id < 0) {
    sink_id = create_vdev("net_null_ocmsink", "no-rx=1");
  }
  int idle_id = create_vdev("net_null_ocmtap", "no-rx=1");
  if (source_id < 0 || sink_id < 0 || idle_id < 0 || source_id == sink_id) {
    std::fprintf(stderr, "ocm-perf-dpdk: need distinct source (net_ring) and sink (net_null) ports (%s)\n",
                 ocm::dpdk::describe_ports().c_str());
    return kExitUsage;
  }
  if (driver_of(static_cast<uint16_t>(source_id)) != "net_ring") {
    std::fprintf(stderr, "ocm-perf-dpdk: the source port %d is %s, not net_ring (loopback needed)\n", source_id,
                 driver_of(static_cast<uint16_t>(source_id)).c_str());
    return kExitUsage;
  }

  ocm::dpdk::MempoolSizing sizing;
  sizing.ring_packets = 2 * o.round;  // a round in the source ring + a raw round
  uint32_t mbufs = ocm::dpdk::mempool_size(sizing);
  auto pool = ocm::dpdk::create_pkt_mempool("ocm_perf_pool", mbufs, static_cast<int>(rte_socket_id()));
  if (!pool) {
    std::fprintf(stderr, "%s\n", pool.error().message.c_str());
    return kExitInvalid;
  }
  ports.pool = pool->get();
  std::vector<std::unique_ptr<EthPort>> opened;
  for (int id : {source_id, sink_id, idle_id}) {
    auto p = EthPort::open(static_cast<uint16_t>(id), ports.pool, 1024, 1024);
    if (!p) {
      std::fprintf(stderr, "%s\n", p.error().message.c_str());
      return kExitInvalid;
    }
    opened.push_back(std::move(p).value());
  }
  ports.source = opened[0].get();
  ports.sink = opened[1].get();
  ports.idle = opened[2].get();
  {
    // The Worker polls the sink and idle ports every iteration; a net_null without no-rx=1
    // would feed it synthetic junk frames and the figures would measure their drops.
    std::array<rte_mbuf*, dp::kBurst> junk{};
    for (EthPort* p : {ports.sink, ports.idle}) {
      uint16_t n = rte_eth_rx_burst(p->id(), 0, junk.data(), dp::kBurst);
      if (n > 0) {
        rte_pktmbuf_free_bulk(junk.data(), n);
        std::fprintf(stderr,
                     "ocm-perf-dpdk: port %u (%s) receives packets; the sink must not (net_null: add no-rx=1, "
                     "e.g. --vdev=net_null0,no-rx=1)\n",
                     unsigned{p->id()}, p->name().c_str());
        return kExitUsage;
      }
    }
  }

  auto engine_r = CryptoEngine::create();
  if (!engine_r) {
    std::fprintf(stderr, "ocm-perf-dpdk: %s\n", engine_r.error().message.c_str());
    return kExitInvalid;
  }
  CryptoEngine& engine = **engine_r;
  double hz = static_cast<double>(rte_get_tsc_hz());
  bool huge = rte_eal_has_hugepages() != 0;
  std::string load_start = load_average();

  std::printf("ocm-perf-dpdk: lcore %u (socket %u), %s, %u mbufs, TSC %.3f GHz (cycles below are TSC ticks), "
              "ipsec-mb %s\n",
              rte_lcore_id(), rte_socket_id(), huge ? "hugepages" : "no hugepages (--no-huge)", mbufs, hz / 1e9,
              engine.arch_name());
  std::printf("  ports: source %u %s (net_ring, generator -> lcore), sink %u %s (TX frees), idle TAP %u %s\n",
              unsigned{ports.source->id()}, ports.source->name().c_str(), unsigned{ports.sink->id()},
              ports.sink->name().c_str(), unsigned{ports.idle->id()}, ports.idle->name().c_str());
  std::printf("  %u sessions, burst %u, %u packets per round, %.3g timed s per figure, load average %s\n",
              o.sessions, unsigned{dp::kBurst}, o.round, o.seconds, load_start.c_str());
  std::printf("\n%6s %6s %-10s %-8s %-8s %8s %8s %8s %8s %8s %7s\n", "size", "wire", "suite", "dir", "mode", "Mpps",
              "mean", "best", "Gbit/s", "cyc/pkt", "ratio");
  std::fflush(stdout);

  std::vector<Row> rows;
  uint64_t total_pipeline_packets = 0;
  for (size_t size : o.sizes) {
    for (const Suite& suite : o.suites) {
      for (Direction dir : {Direction::kDecrypt, Direction::kEncrypt}) {
        Bench bench(ports, engine, suite.algo, o.sessions, size, dir, o.round);
        uint64_t sink_before = ports.sink->stats().tx;
        bool imb = bench.has_imb();
        // Warm-up: caches, branch predictors, the mempool cache; not counted.
        bench.pipeline_round();
        bench.raw_round(Raw::kRecord);
        if (imb) {
          bench.raw_round(Raw::kImb);
        }
        std::vector<double> pipe_rounds;
        std::vector<double> rec_rounds;
        std::vector<double> imb_rounds;
        uint64_t pipe_ticks = 0;
        uint64_t rec_ticks = 0;
        uint64_t imb_ticks = 0;
        auto budget = static_cast<uint64_t>(o.seconds * hz);
        while (pipe_ticks < budget || pipe_rounds.size() < 5) {
          uint64_t t = bench.pipeline_round();
          pipe_ticks += t;
          pipe_rounds.push_back(static_cast<double>(t) / o.round);
          t = bench.raw_round(Raw::kRecord);
          rec_ticks += t;
          rec_rounds.push_back(static_cast<double>(t) / o.round);
          if (imb) {
            t = bench.raw_round(Raw::kImb);
            imb_ticks += t;
            imb_rounds.push_back(static_cast<double>(t) / o.round);
          }
        }
        bench.check(sink_before);
        uint64_t n = pipe_rounds.size() * uint64_t{o.round};
        total_pipeline_packets += bench.generated();
        Figure rec = summarize(rec_rounds, rec_ticks, n);
        Figure pipe = summarize(pipe_rounds, pipe_ticks, n);
        // The ratio's reference: raw ipsec-mb where it applies, else the record layer.
        Figure ref = rec;
        const char* dname = dir == Direction::kDecrypt ? "decrypt" : "encrypt";
        size_t first = rows.size();
        if (imb) {
          ref = summarize(imb_rounds, imb_ticks, n);
          rows.push_back({size, bench.wire_size(), suite.name, dname, "raw-imb", ref, 0});
        }
        rows.push_back({size, bench.wire_size(), suite.name, dname, "raw-rec", rec, 0});
        rows.push_back({size, bench.wire_size(), suite.name, dname, "pipeline", pipe, ref.median / pipe.median});
        for (size_t i = first; i < rows.size(); ++i) {
          const Row& r = rows[i];
          double m = mpps(r.fig.median, hz);
          char ratio[16] = "-";
          if (r.ratio > 0) {
            std::snprintf(ratio, sizeof ratio, "%.2f", r.ratio);
          }
          std::printf("%6zu %6zu %-10s %-8s %-8s %8.3f %8.3f %8.3f %8.2f %8.0f %7s\n", r.size, r.wire, r.suite,
                      r.direction, r.mode, m, mpps(r.fig.mean, hz), mpps(r.fig.best, hz),
                      m * 1e6 * static_cast<double>(r.size) * 8 / 1e9, r.fig.median, ratio);
        }
        std::fflush(stdout);
      }
    }
  }
  std::string load_end = load_average();
  std::printf("(Mpps/cyc/pkt: median round; mean: all rounds; ratio = pipeline Mpps / raw-imb Mpps (raw-rec for "
              "ChaCha20); Gbit/s counts inner IP bytes; wire = Ethernet frame bytes without FCS)\n");

  ocm::json::Writer json;
  json.begin_object()
      .field("tool", "ocm-perf-dpdk")
      .field("hugepages", huge)
      .field("lcore", uint32_t{rte_lcore_id()})
      .field("tsc_hz", static_cast<uint64_t>(hz))
      .field("ipsec_mb_arch", engine.arch_name())
      .field("sessions", o.sessions)
      .field("burst", uint32_t{dp::kBurst})
      .field("round_packets", o.round)
      .field("load_average_start", load_start)
      .field("load_average_end", load_end);
  json.key("eal_args").begin_array();
  for (const std::string& a : eal_args) {
    json.value(a);
  }
  json.end_array();
  json.key("results").begin_array();
  for (const Row& r : rows) {
    double m = mpps(r.fig.median, hz);
    // The writer has no floating-point values: figures go out as fixed-point text numbers.
    auto num = [](double v, int digits) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.*f", digits, v);
      return std::string(buf);
    };
    json.begin_object()
        .field("size", static_cast<uint64_t>(r.size))
        .field("wire_size", static_cast<uint64_t>(r.wire))
        .field("suite", r.suite)
        .field("direction", r.direction)
        .field("mode", r.mode)
        .field("packets", r.fig.packets)
        .field("mpps_median", num(m, 4))
        .field("mpps_mean", num(mpps(r.fig.mean, hz), 4))
        .field("mpps_best", num(mpps(r.fig.best, hz), 4))
        .field("gbps_median", num(m * 1e6 * static_cast<double>(r.size) * 8 / 1e9, 4))
        .field("wire_gbps_median", num(m * 1e6 * static_cast<double>(r.wire) * 8 / 1e9, 4))
        .field("cycles_per_pkt_median", num(r.fig.median, 1))
        .field("cycles_per_pkt_mean", num(r.fig.mean, 1))
        .field("ratio_vs_raw", num(r.ratio, 4))
        .end_object();
  }
  json.end_array();
  print_port_blocks({{ports.source, "source: NIC RX (decrypt), TUN RX (encrypt)"},
                     {ports.sink, "sink: TUN TX (decrypt), NIC TX (encrypt)"},
                     {ports.idle, "idle: TAP exception port stand-in"}},
                    &json);
  json.field("pipeline_packets", total_pipeline_packets);
  json.end_object();
  std::printf("  Pipeline: %" PRIu64 " packets generated and forwarded, 0 dropped, 0 decrypt failures "
              "(checked per figure); load average at end %s\n",
              total_pipeline_packets, load_end.c_str());
  if (total_pipeline_packets == 0) {
    invalid("no packets went through");
  }

  if (!o.json_path.empty()) {
    FILE* f = o.json_path == "-" ? stdout : std::fopen(o.json_path.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "ocm-perf-dpdk: cannot write %s\n", o.json_path.c_str());
      return kExitInvalid;
    }
    std::fprintf(f, "%s\n", json.str().c_str());
    if (f != stdout) {
      std::fclose(f);
    }
  }
  opened.clear();  // ports stop before the pool goes
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // testpmd's convention: EAL arguments, then `--`, then ours.
  int sep = 1;
  while (sep < argc && std::string_view(argv[sep]) != "--") {
    ++sep;
  }
  Options o;
  if (!parse_options(sep < argc ? argc - sep - 1 : 0, argv + std::min(sep + 1, argc), o)) {
    return kExitUsage;
  }
  std::vector<std::string> eal_args(argv + 1, argv + sep);
  if (auto st = ocm::dpdk::start_eal(eal_args); !st) {
    std::fprintf(stderr, "ocm-perf-dpdk: %s\n", st.error().message.c_str());
    return kExitSkip;
  }
  if (rte_lcore_count() != 1) {
    std::fprintf(stderr, "ocm-perf-dpdk: uses one lcore; %u given, running on the main lcore %u only\n",
                 rte_lcore_count(), rte_lcore_id());
  }
  int rc = run(o, eal_args);
  ocm::dpdk::stop_eal();
  return rc;
}
