// ocm-perf: DTLS data-channel throughput on one core, in the style of dpdk-test-crypto-perf.
//
// For each packet size and AEAD suite it measures, per direction:
//   raw       lib/crypto alone: dtls_seal_in_place / dtls_open_in_place over the same packets,
//             keys and session rotation the pipeline sees (no pipeline)
//   pipeline  the full lib/datapath chain over bursts of 32:
//             tun->udp  process_tun_rx: route, prepend type byte, seal, peer
//             udp->tun  process_udp_rx: classify, replay check, open, dispatch, inner checks
// and prints Mpps, Gbit/s of inner IP bytes, TSC cycles per packet and the ratio pipeline/raw.
//
// Fair-comparison rules: both modes run over identical pre-built inputs; only the call under
// test is inside the timed region (rdtsc around each burst); the untimed part rebuilds inputs
// (copying the IP packet back for tun->udp; the client sealing fresh records with new
// sequence numbers for udp->tun, since the replay window rejects old ones). Packet i of a run
// belongs to session i % sessions, so consecutive packets never share a session (the worst
// case for per-session grouping). "size" is the inner IP packet size.
//
// A run's figure is its median burst (robust to preemption on a shared machine); each printed
// figure is the median of --runs runs after one warm-up run, with the MAD and the best run.
// Raw and pipeline runs alternate so that both see the same machine load. Cycles are TSC ticks (constant rate; the TSC
// frequency is estimated against CLOCK_MONOTONIC at start and printed), not core clock cycles.

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define OCM_PERF_HAVE_TSC 1
#endif

#include "ocm/crypto/aead.hpp"
#include "ocm/crypto/dtls_record.hpp"
#include "ocm/datapath/ctx.hpp"
#include "ocm/datapath/pipeline.hpp"
#include "ocm/datapath/pkt.hpp"
#include "ocm/datapath/rings.hpp"
#include "ocm/datapath/session_table.hpp"

namespace {

using ocm::crypto::AeadAlgo;
using ocm::crypto::AeadKey;
using ocm::crypto::CryptoEngine;
namespace dp = ocm::datapath;

// ---------------------------------------------------------------------------------------------
// Clock

uint64_t ticks() noexcept {
#ifdef OCM_PERF_HAVE_TSC
  _mm_lfence();  // keep rdtsc from drifting above the work it measures
  return __rdtsc();
#else
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
#endif
}

// Ticks per nanosecond.
double calibrate_ticks_per_ns() {
#ifdef OCM_PERF_HAVE_TSC
  auto t0 = std::chrono::steady_clock::now();
  uint64_t c0 = ticks();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto t1 = std::chrono::steady_clock::now();
  uint64_t c1 = ticks();
  double ns = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
  return static_cast<double>(c1 - c0) / ns;
#else
  return 1.0;
#endif
}

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

// 20 = a bare IPv4 header; the upper bound leaves room in a 2 KiB buffer for headroom, the
// type byte and the tag.
constexpr size_t kMinSize = 20;
constexpr size_t kMaxSize = dp::kDefaultBufSize - dp::kHeadroom - 1 - ocm::crypto::kTagSize;

struct Options {
  std::vector<size_t> sizes{64, 512, 1400};
  std::vector<Suite> suites{std::begin(kSuites), std::end(kSuites)};
  uint32_t sessions = 1024;
  int runs = 5;
  double run_ms = 25;  // timed work per run
  std::string json_path;
  bool quick = false;
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: ocm-perf [--sizes 64,512,1400] [--suites aes128gcm,aes256gcm,chacha20poly1305]\n"
               "                [--sessions N] [--runs N] [--run-ms MS] [--json FILE|-] [--quick]\n"
               "  --sizes     inner IPv4 packet sizes in bytes (%zu..%zu)\n"
               "  --suites    AEAD suites to measure\n"
               "  --sessions  DTLS sessions the packets rotate over (default 1024)\n"
               "  --runs      measured runs per figure after one warm-up (default 5); median/MAD/best\n"
               "  --run-ms    timed milliseconds per run (default 25)\n"
               "  --json      also write the results as JSON to FILE (- for stdout)\n"
               "  --quick     smoke run: 64 bytes, aes128gcm, 16 sessions, 1 short run\n",
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
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view& v) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ocm-perf: %s needs a value\n", argv[i]);
        return false;
      }
      v = argv[++i];
      return true;
    };
    std::string_view v;
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      std::exit(0);
    } else if (arg == "--quick") {
      o.quick = true;
    } else if (arg == "--sizes") {
      if (!value(v)) {
        return false;
      }
      o.sizes.clear();
      if (!split_list(v, [&](std::string_view item) {
            uint64_t n = 0;
            if (!parse_uint(item, kMaxSize, n) || n < kMinSize) {
              return false;
            }
            o.sizes.push_back(n);
            return true;
          })) {
        std::fprintf(stderr, "ocm-perf: bad --sizes (each %zu..%zu)\n", kMinSize, kMaxSize);
        return false;
      }
    } else if (arg == "--suites") {
      if (!value(v)) {
        return false;
      }
      o.suites.clear();
      if (!split_list(v, [&](std::string_view item) {
            for (const Suite& s : kSuites) {
              if (item == s.name) {
                o.suites.push_back(s);
                return true;
              }
            }
            return false;
          })) {
        std::fprintf(stderr, "ocm-perf: bad --suites (aes128gcm, aes256gcm, chacha20poly1305)\n");
        return false;
      }
    } else if (arg == "--sessions") {
      uint64_t n = 0;
      // A /12 pool holds about a million leases; the route table then takes 4 MiB.
      if (!value(v) || !parse_uint(v, 1000000, n) || n == 0) {
        std::fprintf(stderr, "ocm-perf: bad --sessions (1..1000000)\n");
        return false;
      }
      o.sessions = static_cast<uint32_t>(n);
    } else if (arg == "--runs") {
      uint64_t n = 0;
      if (!value(v) || !parse_uint(v, 1000, n) || n == 0) {
        std::fprintf(stderr, "ocm-perf: bad --runs (1..1000)\n");
        return false;
      }
      o.runs = static_cast<int>(n);
    } else if (arg == "--run-ms") {
      uint64_t n = 0;
      if (!value(v) || !parse_uint(v, 60000, n) || n == 0) {
        std::fprintf(stderr, "ocm-perf: bad --run-ms (1..60000)\n");
        return false;
      }
      o.run_ms = static_cast<double>(n);
    } else if (arg == "--json") {
      if (!value(v)) {
        return false;
      }
      o.json_path = std::string(v);
    } else {
      std::fprintf(stderr, "ocm-perf: unknown option %s\n", argv[i]);
      usage(stderr);
      return false;
    }
  }
  if (o.quick) {
    o.sizes = {64};
    o.suites = {kSuites[0]};
    o.sessions = 16;
    o.runs = 1;
    o.run_ms = 2;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Statistics

struct Stats {
  double median = 0;  // ticks per packet
  double mad = 0;
  double best = 0;
};

Stats summarize(std::vector<double> v) {
  Stats s;
  std::sort(v.begin(), v.end());
  auto median_of = [](const std::vector<double>& sorted) {
    size_t n = sorted.size();
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  };
  s.median = median_of(v);
  s.best = v.front();
  std::vector<double> dev;
  for (double x : v) {
    dev.push_back(std::fabs(x - s.median));
  }
  std::sort(dev.begin(), dev.end());
  s.mad = median_of(dev);
  return s;
}

// ---------------------------------------------------------------------------------------------
// The bench: one suite, one size; server state plus the client's view of every session.

constexpr uint32_t kPoolNetwork = 0x0A000000;  // 10.0.0.0
constexpr uint32_t kRemote = 0x08080808;
constexpr uint16_t kEpoch = 1;

void store_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

std::vector<uint8_t> key_bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) {
    x = x * 1103515245u + 12345u;
    b = static_cast<uint8_t>(x >> 16);
  }
  return v;
}

AeadKey make_key(CryptoEngine& engine, AeadAlgo algo, uint32_t seed) {
  size_t key_len = algo == AeadAlgo::kAes128Gcm ? 16 : 32;
  size_t iv_len = algo == AeadAlgo::kChaCha20Poly1305 ? 12 : 4;
  auto r = AeadKey::create(engine, algo, key_bytes(key_len, seed), key_bytes(iv_len, seed ^ 0xabcdef));
  if (!r) {
    std::fprintf(stderr, "ocm-perf: key setup failed: %s\n", r.error().message.c_str());
    std::exit(1);
  }
  return *r;
}

class Bench {
 public:
  Bench(CryptoEngine& engine, AeadAlgo algo, uint32_t sessions, size_t size)
      : engine_(engine),
        algo_(algo),
        sessions_(sessions),
        size_(size),
        // One burst in flight plus nothing else: the bench reuses the same 32 buffers.
        pool_(dp::kBurst),
        table_(sessions, ocm::Ipv4Prefix{kPoolNetwork, pool_prefix(sessions)}, 0x9e3779b97f4a7c15ULL),
        control_(64),
        cstp_(64),
        ctx_(engine, table_, control_, cstp_, counters_),
        client_tx_(sessions),
        client_seq_(sessions, 1) {
    for (uint32_t s = 0; s < sessions; ++s) {
      AeadKey c2s = make_key(engine, algo, 2 * s + 1);
      AeadKey s2c = make_key(engine, algo, 2 * s + 2);
      auto st = table_.activate(s, lease(s), peer(s), c2s, s2c, kEpoch, 1);
      if (!st) {
        std::fprintf(stderr, "ocm-perf: activate: %s\n", st.error().message.c_str());
        std::exit(1);
      }
      client_tx_[s] = c2s;
    }
    if (!pool_.alloc_bulk(pkts_, dp::kBurst)) {
      std::exit(1);
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
  ~Bench() { pool_.free_bulk(pkts_, dp::kBurst); }

  enum class Mode { kRawSeal, kPipelineSeal, kRawOpen, kPipelineOpen };

  // Runs `bursts` bursts of 32; returns the timed ticks of each burst.
  std::vector<uint64_t> run(Mode mode, uint32_t bursts) {
    std::vector<uint64_t> timed(bursts);
    for (uint32_t b = 0; b < bursts; ++b) {
      bool seal = mode == Mode::kRawSeal || mode == Mode::kPipelineSeal;
      if (seal) {
        prepare_tun_burst();
      } else {
        prepare_udp_burst();
      }
      uint64_t t0 = ticks();
      switch (mode) {
        case Mode::kRawSeal:
          raw_seal();
          break;
        case Mode::kPipelineSeal:
          pipeline_seal();
          break;
        case Mode::kRawOpen:
          raw_open();
          break;
        case Mode::kPipelineOpen:
          pipeline_open();
          break;
      }
      timed[b] = ticks() - t0;
      check(mode);
    }
    return timed;
  }

  [[nodiscard]] uint64_t sink() const { return sink_; }

 private:
  static uint8_t pool_prefix(uint32_t sessions) { return sessions < 65000 ? 16 : 12; }
  static uint32_t lease(uint32_t s) { return kPoolNetwork + 2 + s; }
  static dp::Peer peer(uint32_t s) { return dp::Peer::v4(0xC0000000u + s, static_cast<uint16_t>(1024 + s % 60000)); }

  uint32_t next_session() {
    uint32_t s = cursor_;
    cursor_ = cursor_ + 1 == sessions_ ? 0 : cursor_ + 1;
    return s;
  }

  // Untimed: what the TUN device would hand over: the IP packet at kHeadroom.
  void prepare_tun_burst() {
    for (dp::PktBuf*& p : pkts_) {
      uint32_t s = next_session();
      p->reset();
      p->assign(ip_);
      store_be32(p->data() + 12, kRemote);
      store_be32(p->data() + 16, lease(s));
      p->meta.slot = s;  // for the raw mode; the pipeline resets and routes it
    }
  }

  // Untimed: what the client would send: a fresh record (next sequence number) at kHeadroom.
  void prepare_udp_burst() {
    size_t off = ocm::crypto::dtls_plaintext_offset(algo_);
    for (dp::PktBuf*& p : pkts_) {
      uint32_t s = next_session();
      p->reset();
      uint8_t* rec = p->data();
      uint8_t* plain = rec + off;
      plain[0] = 0x00;
      std::memcpy(plain + 1, ip_.data(), size_);
      store_be32(plain + 1 + 12, lease(s));
      store_be32(plain + 1 + 16, kRemote);
      size_t len = ocm::crypto::dtls_seal_in_place(engine_, client_tx_[s], kEpoch, client_seq_[s]++, rec, size_ + 1);
      p->set_window(dp::kHeadroom, static_cast<uint32_t>(len));
      p->meta.peer = peer(s);
      p->meta.slot = s;
    }
  }

  void raw_seal() {
    size_t off = ocm::crypto::dtls_plaintext_offset(algo_);
    for (dp::PktBuf* p : pkts_) {
      dp::DtlsSession& s = table_.at(p->meta.slot);
      uint8_t* type = p->prepend(1);
      *type = 0x00;
      uint8_t* rec = p->data() - off;
      size_t len = ocm::crypto::dtls_seal_in_place(engine_, s.tx_key, s.epoch, s.tx_seq++, rec, p->len());
      p->set_window_at(rec, static_cast<uint32_t>(len));
    }
  }

  void pipeline_seal() {
    dp::TunRxResult r = dp::process_tun_rx(ctx_, pkts_, dp::kBurst, out_, free_);
    produced_ = r.n_udp;
  }

  void raw_open() {
    for (dp::PktBuf* p : pkts_) {
      dp::DtlsSession& s = table_.at(p->meta.slot);
      uint64_t seq = 0;
      uint8_t* plain = nullptr;
      size_t len = 0;
      opened_ += ocm::crypto::dtls_open_in_place(engine_, s.rx_key, s.epoch, p->bytes(), seq, plain, len) ? 1 : 0;
      sink_ += plain != nullptr ? plain[len / 2] : 0;
    }
  }

  void pipeline_open() {
    dp::UdpRxResult r = dp::process_udp_rx(ctx_, pkts_, dp::kBurst, tun_, out_, free_);
    produced_ = r.n_tun;
  }

  // Untimed: every packet must have made it, or the figures would flatter a dropping pipeline.
  void check(Mode mode) {
    bool ok = true;
    if (mode == Mode::kPipelineSeal || mode == Mode::kPipelineOpen) {
      ok = produced_ == dp::kBurst;
      sink_ += pkts_[0]->data()[pkts_[0]->len() / 2];
    } else if (mode == Mode::kRawOpen) {
      ok = opened_ == dp::kBurst;
      opened_ = 0;
    }
    if (!ok) {
      std::fprintf(stderr, "ocm-perf: packets lost in the pipeline (%" PRIu64 " drops); results invalid\n",
                   counters_.total_drops());
      for (size_t i = 0; i < dp::kDropReasonCount; ++i) {
        if (counters_.drops[i] != 0) {
          std::fprintf(stderr, "  %s: %" PRIu64 "\n", dp::to_string(static_cast<dp::DropReason>(i)),
                       counters_.drops[i]);
        }
      }
      std::exit(1);
    }
  }

  CryptoEngine& engine_;
  AeadAlgo algo_;
  uint32_t sessions_;
  size_t size_;
  dp::PktPool pool_;
  dp::SessionTable table_;
  dp::ControlRing control_;
  dp::CstpRing cstp_;
  dp::Counters counters_;
  dp::Ctx ctx_;
  std::vector<AeadKey> client_tx_;
  std::vector<uint64_t> client_seq_;
  std::vector<uint8_t> ip_;
  dp::PktBuf* pkts_[dp::kBurst] = {};
  dp::PktBuf* out_[dp::kBurst] = {};
  dp::PktBuf* tun_[dp::kBurst] = {};
  dp::PktBuf* free_[dp::kBurst] = {};
  uint32_t cursor_ = 0;
  uint16_t produced_ = 0;
  uint32_t opened_ = 0;
  uint64_t sink_ = 0;
};

// ---------------------------------------------------------------------------------------------

struct Row {
  size_t size;
  const char* suite;
  const char* direction;
  const char* mode;
  Stats ticks_per_pkt;
  double ratio;  // pipeline Mpps / raw Mpps, 0 for raw rows
};

// One run's figure: the median burst, in ticks per packet. On a dedicated core this equals the
// mean; on a shared one it ignores the bursts during which the thread was preempted.
double run_figure(std::vector<uint64_t> per_burst) {
  std::nth_element(per_burst.begin(), per_burst.begin() + static_cast<std::ptrdiff_t>(per_burst.size() / 2),
                   per_burst.end());
  return static_cast<double>(per_burst[per_burst.size() / 2]) / dp::kBurst;
}

struct PairStats {
  Stats raw;
  Stats pipeline;
};

// Raw and pipeline runs alternate, so that both see the same machine conditions.
PairStats measure(Bench& bench, Bench::Mode raw, Bench::Mode pipeline, const Options& o, double ticks_per_ns) {
  // Calibrate the burst count so that a run holds about run_ms of timed work.
  auto probe = bench.run(pipeline, 8);
  double per_burst = run_figure(probe) * dp::kBurst;
  double target = o.run_ms * 1e6 * ticks_per_ns;
  auto bursts = static_cast<uint32_t>(std::clamp(target / std::max(per_burst, 1.0), 4.0, 2e6));
  bench.run(raw, bursts);  // warm-up
  bench.run(pipeline, bursts);
  std::vector<double> raw_runs;
  std::vector<double> pipeline_runs;
  for (int r = 0; r < o.runs; ++r) {
    raw_runs.push_back(run_figure(bench.run(raw, bursts)));
    pipeline_runs.push_back(run_figure(bench.run(pipeline, bursts)));
  }
  return {summarize(raw_runs), summarize(pipeline_runs)};
}

double mpps(double ticks_per_pkt, double ticks_per_ns) {
  return 1e3 * ticks_per_ns / ticks_per_pkt;
}

void write_json(FILE* f, const std::vector<Row>& rows, const Options& o, double ticks_per_ns, const char* arch) {
  std::fprintf(f, "{\n  \"tool\": \"ocm-perf\",\n  \"arch\": \"%s\",\n  \"tsc_ghz\": %.4f,\n", arch, ticks_per_ns);
  std::fprintf(f, "  \"sessions\": %u,\n  \"burst\": %u,\n  \"runs\": %d,\n  \"results\": [\n", o.sessions,
               unsigned{dp::kBurst}, o.runs);
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    double m = mpps(r.ticks_per_pkt.median, ticks_per_ns);
    std::fprintf(f,
                 "    {\"size\": %zu, \"suite\": \"%s\", \"direction\": \"%s\", \"mode\": \"%s\", "
                 "\"mpps_median\": %.4f, \"mpps_best\": %.4f, \"gbps_median\": %.4f, "
                 "\"cycles_per_pkt_median\": %.1f, \"cycles_per_pkt_mad\": %.1f, \"ns_per_pkt_median\": %.2f, "
                 "\"ratio_vs_raw\": %.4f}%s\n",
                 r.size, r.suite, r.direction, r.mode, m, mpps(r.ticks_per_pkt.best, ticks_per_ns),
                 m * 1e6 * static_cast<double>(r.size) * 8 / 1e9, r.ticks_per_pkt.median, r.ticks_per_pkt.mad,
                 r.ticks_per_pkt.median / ticks_per_ns, r.ratio, i + 1 < rows.size() ? "," : "");
  }
  std::fprintf(f, "  ]\n}\n");
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse_options(argc, argv, o)) {
    return 2;
  }
  auto engine_r = CryptoEngine::create();
  if (!engine_r) {
    std::fprintf(stderr, "ocm-perf: %s\n", engine_r.error().message.c_str());
    return 1;
  }
  CryptoEngine& engine = **engine_r;
  double tpn = calibrate_ticks_per_ns();

  std::printf(
      "ocm-perf: ipsec-mb %s, TSC %.3f GHz (cycles below are TSC ticks), %u sessions, burst %u, "
      "median of %d runs (+-MAD), one core\n",
      engine.arch_name(), tpn, o.sessions, unsigned{dp::kBurst}, o.runs);
  std::printf("%6s %-17s %-8s %-8s %8s %8s %8s %9s %7s %7s\n", "size", "suite", "dir", "mode", "Mpps", "best", "Gbit/s",
              "cyc/pkt", "+-MAD%", "ratio");
  std::fflush(stdout);

  std::vector<Row> rows;
  uint64_t sink = 0;
  for (size_t size : o.sizes) {
    for (const Suite& suite : o.suites) {
      Bench bench(engine, suite.algo, o.sessions, size);
      struct Pair {
        const char* direction;
        Bench::Mode raw;
        Bench::Mode pipeline;
      };
      for (const Pair& pair : {Pair{"tun->udp", Bench::Mode::kRawSeal, Bench::Mode::kPipelineSeal},
                               Pair{"udp->tun", Bench::Mode::kRawOpen, Bench::Mode::kPipelineOpen}}) {
        PairStats st = measure(bench, pair.raw, pair.pipeline, o, tpn);
        const Stats& raw = st.raw;
        const Stats& pipe = st.pipeline;
        double ratio = raw.median / pipe.median;
        rows.push_back({size, suite.name, pair.direction, "raw", raw, 0});
        rows.push_back({size, suite.name, pair.direction, "pipeline", pipe, ratio});
        for (size_t i = rows.size() - 2; i < rows.size(); ++i) {
          const Row& r = rows[i];
          double m = mpps(r.ticks_per_pkt.median, tpn);
          char ratio_text[16] = "-";
          if (r.ratio > 0) {
            std::snprintf(ratio_text, sizeof(ratio_text), "%.2f", r.ratio);
          }
          std::printf("%6zu %-17s %-8s %-8s %8.3f %8.3f %8.2f %9.0f %7.1f %7s\n", r.size, r.suite, r.direction, r.mode,
                      m, mpps(r.ticks_per_pkt.best, tpn), m * 1e6 * static_cast<double>(r.size) * 8 / 1e9,
                      r.ticks_per_pkt.median, 100 * r.ticks_per_pkt.mad / r.ticks_per_pkt.median, ratio_text);
        }
        std::fflush(stdout);
      }
      sink += bench.sink();
    }
  }
  std::printf("(ratio = pipeline Mpps / raw Mpps; Gbit/s counts inner IP bytes; checksum %" PRIu64 ")\n", sink % 1000);

  if (!o.json_path.empty()) {
    FILE* f = o.json_path == "-" ? stdout : std::fopen(o.json_path.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "ocm-perf: cannot write %s\n", o.json_path.c_str());
      return 1;
    }
    write_json(f, rows, o, tpn, engine.arch_name());
    if (f != stdout) {
      std::fclose(f);
    }
  }
  return 0;
}
