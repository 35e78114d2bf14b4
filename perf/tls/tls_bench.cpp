// tls-bench: TLS record throughput of wolfSSL with and without the ipsec-mb crypto-callback
// offload (lib/ctrl/src/tls_crypto_offload.*), side by side in one run.
//
// A server and a client WOLFSSL talk over in-memory pipes on one thread. For each suite,
// record size and direction, batches of records are written by one side (sealing) and then
// read by the other (opening); the two phases are timed separately with the thread's CPU
// clock, the pair with the wall clock. "sw" pairs have no devId; "off" pairs have it on both
// sides, so sealing and opening both go to ipsec-mb. Handshakes happen outside the timing.
//
// Each printed figure is the median of --runs runs after one warm-up run, with the MAD of
// the CPU time per record. sw and off runs alternate so that both see the same machine load
// (the VM is shared and noisy, feasibility.md). Two ratios are printed: of wall-clock MB/s
// and of CPU ns per record (seal + open); on a loaded machine the wall figure is diluted by
// time spent descheduled, so the CPU ratio is the one to quote.
//
// Every run checks the offload counters (an "off" run must have used ipsec-mb, an "sw" run
// must not) and the last record of every batch byte for byte, so a mis-wired benchmark fails
// instead of printing flattering numbers.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "tls_crypto_offload.hpp"

#include <time.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ocm/crypto/aead.hpp"

namespace {

using ocm::ctrl::enable_tls_crypto_offload;
using ocm::ctrl::tls_crypto_offload_stats;

// TLS's largest record is 16384 bytes of plaintext; larger writes would be split.
constexpr size_t kMaxRecord = 16384;
// Records per timed phase: enough to amortise the clock reads, small enough that the pipe
// (64 x 16 KiB = 1 MiB at most) stays modest.
constexpr int kBatch = 64;

struct Suite {
  const char* name;
  int version;
};
constexpr std::array<Suite, 4> kSuites{{
    {"ECDHE-ECDSA-AES128-GCM-SHA256", 12},
    {"ECDHE-ECDSA-AES256-GCM-SHA384", 12},
    {"TLS13-AES128-GCM-SHA256", 13},
    {"TLS13-AES256-GCM-SHA384", 13},
}};

struct Options {
  std::vector<size_t> sizes{64, 512, 1400, 16384};
  int runs = 5;
  double run_ms = 200;  // timed work per run
  std::string json_path;
  std::string cert = OCM_PERF_DATA_DIR "/test-server.crt";
  std::string key = OCM_PERF_DATA_DIR "/test-server.key";
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: tls-bench [--sizes 64,512,1400,16384] [--runs N] [--run-ms MS] [--json FILE|-] [--quick]\n"
               "                 [--cert FILE --key FILE]\n"
               "  --sizes   record payload sizes in bytes (1..%zu)\n"
               "  --runs    measured runs per figure after one warm-up (default 5); median/MAD\n"
               "  --run-ms  timed milliseconds per run (default 200)\n"
               "  --json    also write the results as JSON to FILE (- for stdout)\n"
               "  --quick   smoke run: 64 and 1400 bytes, 1 short run per figure\n"
               "  --cert/--key  server certificate and key (default: tests/data/test-server.*)\n",
               kMaxRecord);
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "tls-bench: %s\n", message.c_str());
  std::exit(1);
}

double now_s(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// One direction of ciphertext. A read offset instead of erase-from-front keeps reads O(n).
struct Pipe {
  std::vector<uint8_t> bytes;
  size_t pos = 0;
};

int pipe_recv(WOLFSSL* /*ssl*/, char* buf, int sz, void* ctx) {
  auto* p = static_cast<Pipe*>(ctx);
  size_t avail = p->bytes.size() - p->pos;
  if (avail == 0) {
    return WOLFSSL_CBIO_ERR_WANT_READ;
  }
  size_t n = std::min(avail, static_cast<size_t>(sz));
  std::memcpy(buf, p->bytes.data() + p->pos, n);
  p->pos += n;
  if (p->pos == p->bytes.size()) {
    p->bytes.clear();
    p->pos = 0;
  }
  return static_cast<int>(n);
}

int pipe_send(WOLFSSL* /*ssl*/, char* buf, int sz, void* ctx) {
  auto* p = static_cast<Pipe*>(ctx);
  p->bytes.insert(p->bytes.end(), buf, buf + sz);
  return sz;
}

struct CtxFree {
  void operator()(WOLFSSL_CTX* ctx) const { wolfSSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(WOLFSSL* ssl) const { wolfSSL_free(ssl); }
};
using CtxPtr = std::unique_ptr<WOLFSSL_CTX, CtxFree>;
using SslPtr = std::unique_ptr<WOLFSSL, SslFree>;

CtxPtr make_ctx(bool server, const Suite& suite, bool offload, const Options& opt) {
  WOLFSSL_METHOD* method = nullptr;
  if (server) {
    method = suite.version == 12 ? wolfTLSv1_2_server_method() : wolfTLSv1_3_server_method();
  } else {
    method = suite.version == 12 ? wolfTLSv1_2_client_method() : wolfTLSv1_3_client_method();
  }
  CtxPtr ctx(wolfSSL_CTX_new(method));
  if (ctx == nullptr) {
    die("wolfSSL_CTX_new failed");
  }
  if (server) {
    if (wolfSSL_CTX_use_certificate_chain_file(ctx.get(), opt.cert.c_str()) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_use_PrivateKey_file(ctx.get(), opt.key.c_str(), WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
      die("cannot load " + opt.cert + " / " + opt.key + " (use --cert/--key)");
    }
  } else {
    wolfSSL_CTX_set_verify(ctx.get(), WOLFSSL_VERIFY_NONE, nullptr);
  }
  if (wolfSSL_CTX_set_cipher_list(ctx.get(), suite.name) != WOLFSSL_SUCCESS) {
    die(std::string("cipher suite not available: ") + suite.name);
  }
  wolfSSL_CTX_SetIORecv(ctx.get(), pipe_recv);
  wolfSSL_CTX_SetIOSend(ctx.get(), pipe_send);
  if (offload) {
    if (auto st = enable_tls_crypto_offload(ctx.get()); !st) {
      die(st.error().message);
    }
  }
  return ctx;
}

// A connected server/client pair.
class Pair {
 public:
  Pair(const Suite& suite, bool offload, const Options& opt)
      : server_ctx_(make_ctx(true, suite, offload, opt)), client_ctx_(make_ctx(false, suite, offload, opt)) {
    server_.reset(wolfSSL_new(server_ctx_.get()));
    client_.reset(wolfSSL_new(client_ctx_.get()));
    if (server_ == nullptr || client_ == nullptr) {
      die("wolfSSL_new failed");
    }
    wolfSSL_SetIOReadCtx(server_.get(), &to_server_);
    wolfSSL_SetIOWriteCtx(server_.get(), &to_client_);
    wolfSSL_SetIOReadCtx(client_.get(), &to_client_);
    wolfSSL_SetIOWriteCtx(client_.get(), &to_server_);
    bool client_done = false;
    bool server_done = false;
    // A handshake is a few flights each way; 20 rounds bounds a stuck pair.
    for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
      client_done = client_done || wolfSSL_connect(client_.get()) == WOLFSSL_SUCCESS;
      server_done = server_done || wolfSSL_accept(server_.get()) == WOLFSSL_SUCCESS;
    }
    if (!client_done || !server_done) {
      die(std::string("handshake failed for ") + suite.name);
    }
    if (std::string_view(wolfSSL_get_cipher_name(client_.get())) != suite.name) {
      die(std::string("negotiated ") + wolfSSL_get_cipher_name(client_.get()) + " instead of " + suite.name);
    }
  }

  WOLFSSL* sender(bool client_to_server) { return client_to_server ? client_.get() : server_.get(); }
  WOLFSSL* receiver(bool client_to_server) { return client_to_server ? server_.get() : client_.get(); }

 private:
  CtxPtr server_ctx_;
  CtxPtr client_ctx_;
  SslPtr server_;
  SslPtr client_;
  Pipe to_server_;
  Pipe to_client_;
};

struct RunResult {
  double mb_per_s = 0;  // payload bytes / wall time of write + read phases
  double write_ns = 0;  // CPU ns per record, sealing side (wolfSSL_write)
  double read_ns = 0;   // CPU ns per record, opening side (wolfSSL_read)
};

// Moves batches of records of `size` bytes from `from` to `to` for at least `seconds`.
RunResult run_once(WOLFSSL* from, WOLFSSL* to, const std::vector<uint8_t>& payload, double seconds) {
  const size_t size = payload.size();
  std::vector<uint8_t> sink(kMaxRecord);
  double wall = 0;
  double cpu_write = 0;
  double cpu_read = 0;
  uint64_t records = 0;
  do {
    double w0 = now_s(CLOCK_MONOTONIC);
    double c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < kBatch; ++i) {
      if (wolfSSL_write(from, payload.data(), static_cast<int>(size)) != static_cast<int>(size)) {
        die("wolfSSL_write failed");
      }
    }
    double c1 = now_s(CLOCK_THREAD_CPUTIME_ID);
    int last = 0;
    for (int i = 0; i < kBatch; ++i) {
      // One write made one record; one read returns one record's plaintext.
      last = wolfSSL_read(to, sink.data(), static_cast<int>(sink.size()));
      if (last != static_cast<int>(size)) {
        die("wolfSSL_read returned " + std::to_string(last) + " (error " + std::to_string(wolfSSL_get_error(to, last)) +
            ") instead of one " + std::to_string(size) + "-byte record");
      }
    }
    double c2 = now_s(CLOCK_THREAD_CPUTIME_ID);
    double w1 = now_s(CLOCK_MONOTONIC);
    if (std::memcmp(sink.data(), payload.data(), size) != 0) {
      die("record content changed in transit");
    }
    wall += w1 - w0;
    cpu_write += c1 - c0;
    cpu_read += c2 - c1;
    records += kBatch;
  } while (wall < seconds);
  RunResult r;
  r.mb_per_s = static_cast<double>(records * size) / wall / 1e6;
  r.write_ns = cpu_write / static_cast<double>(records) * 1e9;
  r.read_ns = cpu_read / static_cast<double>(records) * 1e9;
  return r;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Figure {
  double mb_per_s = 0;  // medians over runs
  double write_ns = 0;
  double read_ns = 0;
  double cpu_ns = 0;   // median of (write + read) per run
  double cpu_mad = 0;  // median absolute deviation of (write + read)
};

Figure summarize(const std::vector<RunResult>& runs) {
  std::vector<double> mb;
  std::vector<double> w;
  std::vector<double> r;
  std::vector<double> total;
  mb.reserve(runs.size());
  w.reserve(runs.size());
  r.reserve(runs.size());
  total.reserve(runs.size());
  for (const RunResult& x : runs) {
    mb.push_back(x.mb_per_s);
    w.push_back(x.write_ns);
    r.push_back(x.read_ns);
    total.push_back(x.write_ns + x.read_ns);
  }
  Figure f;
  f.mb_per_s = median_of(mb);
  f.write_ns = median_of(w);
  f.read_ns = median_of(r);
  f.cpu_ns = median_of(total);
  std::vector<double> dev;
  dev.reserve(total.size());
  for (double t : total) {
    dev.push_back(std::fabs(t - f.cpu_ns));
  }
  f.cpu_mad = median_of(dev);
  return f;
}

// One timed run on `pair`, checking that it took the path its mode claims.
RunResult checked_run(Pair& pair, bool offload, bool client_to_server, const std::vector<uint8_t>& payload,
                      double seconds) {
  auto before = tls_crypto_offload_stats();
  RunResult r = run_once(pair.sender(client_to_server), pair.receiver(client_to_server), payload, seconds);
  auto after = tls_crypto_offload_stats();
  bool used_offload = after.offloaded() > before.offloaded();
  if (used_offload != offload) {
    die(std::string("offload counters say the ") + (offload ? "off" : "sw") + " run used " +
        (used_offload ? "ipsec-mb" : "wolfSSL software"));
  }
  return r;
}

struct Row {
  const char* suite;
  size_t size;
  const char* direction;
  Figure sw;
  Figure off;
};

void write_json(FILE* f, const std::vector<Row>& rows, const Options& opt, const char* arch) {
  std::fprintf(f, "{\n  \"tool\": \"tls-bench\",\n  \"wolfssl\": \"%s\",\n  \"arch\": \"%s\",\n", wolfSSL_lib_version(),
               arch);
  std::fprintf(f, "  \"runs\": %d,\n  \"run_ms\": %.0f,\n  \"batch\": %d,\n  \"results\": [\n", opt.runs, opt.run_ms,
               kBatch);
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::fprintf(f, "    {\"suite\": \"%s\", \"size\": %zu, \"direction\": \"%s\"", r.suite, r.size, r.direction);
    for (const auto& [name, fig] : {std::pair<const char*, const Figure&>{"sw", r.sw}, {"off", r.off}}) {
      std::fprintf(f,
                   ", \"%s\": {\"mb_per_s_median\": %.2f, \"write_ns_median\": %.1f, \"read_ns_median\": %.1f, "
                   "\"cpu_ns_per_record_median\": %.1f, \"cpu_ns_per_record_mad\": %.1f}",
                   name, fig.mb_per_s, fig.write_ns, fig.read_ns, fig.cpu_ns, fig.cpu_mad);
    }
    std::fprintf(f, ", \"ratio_mb_per_s\": %.3f, \"ratio_cpu\": %.3f}%s\n", r.off.mb_per_s / r.sw.mb_per_s,
                 r.sw.cpu_ns / r.off.cpu_ns, i + 1 < rows.size() ? "," : "");
  }
  std::fprintf(f, "  ]\n}\n");
}

bool parse_sizes(std::string_view text, std::vector<size_t>& out) {
  out.clear();
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string item(text.substr(0, comma));
    char* end = nullptr;
    unsigned long v = std::strtoul(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v == 0 || v > kMaxRecord) {
      return false;
    }
    out.push_back(v);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return !out.empty();
}

Options parse_options(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) {
        usage(stderr);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--sizes") {
      if (!parse_sizes(value(), opt.sizes)) {
        usage(stderr);
        std::exit(2);
      }
    } else if (arg == "--runs") {
      opt.runs = std::max(1, std::atoi(std::string(value()).c_str()));
    } else if (arg == "--run-ms") {
      opt.run_ms = std::max(1.0, std::atof(std::string(value()).c_str()));
    } else if (arg == "--json") {
      opt.json_path = std::string(value());
    } else if (arg == "--quick") {
      opt.sizes = {64, 1400};
      opt.runs = 1;
      opt.run_ms = 5;
    } else if (arg == "--cert") {
      opt.cert = std::string(value());
    } else if (arg == "--key") {
      opt.key = std::string(value());
    } else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      std::exit(0);
    } else {
      usage(stderr);
      std::exit(2);
    }
  }
  return opt;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse_options(argc, argv);
  wolfSSL_Init();
  auto engine = ocm::crypto::CryptoEngine::create();
  if (!engine) {
    die(engine.error().message);
  }
  const char* arch = (*engine)->arch_name();
  std::printf(
      "tls-bench: wolfSSL %s, ipsec-mb %s; in-memory pair on one thread, batches of %d records; "
      "median of %d runs x %.0f ms (+-MAD of CPU ns/record)\n",
      wolfSSL_lib_version(), arch, kBatch, opt.runs, opt.run_ms);
  std::printf(
      "MB/s: payload / wall time (seal + open). w/r ns: CPU per record in wolfSSL_write (seal) / "
      "wolfSSL_read (open)\n\n");
  std::printf("%-29s %5s %3s | %8s %7s %7s %6s | %8s %7s %7s %6s | %6s %6s\n", "suite", "size", "dir", "sw MB/s",
              "w ns", "r ns", "+-MAD%", "off MB/s", "w ns", "r ns", "+-MAD%", "x MB/s", "x CPU");
  std::fflush(stdout);

  std::vector<Row> rows;
  const double seconds = opt.run_ms / 1e3;
  for (const Suite& suite : kSuites) {
    for (size_t size : opt.sizes) {
      std::vector<uint8_t> payload(size);
      for (size_t i = 0; i < size; ++i) {
        payload[i] = static_cast<uint8_t>(i * 31 + 7);
      }
      for (bool c2s : {true, false}) {
        Pair sw_pair(suite, false, opt);
        Pair off_pair(suite, true, opt);
        // Warm-up: keys expanded, wolfSSL buffers grown, caches hot; not recorded.
        (void)checked_run(sw_pair, false, c2s, payload, seconds / 4);
        (void)checked_run(off_pair, true, c2s, payload, seconds / 4);
        std::vector<RunResult> sw_runs;
        std::vector<RunResult> off_runs;
        for (int r = 0; r < opt.runs; ++r) {
          sw_runs.push_back(checked_run(sw_pair, false, c2s, payload, seconds));
          off_runs.push_back(checked_run(off_pair, true, c2s, payload, seconds));
        }
        Row row{suite.name, size, c2s ? "c>s" : "s>c", summarize(sw_runs), summarize(off_runs)};
        std::printf("%-29s %5zu %3s | %8.1f %7.0f %7.0f %6.1f | %8.1f %7.0f %7.0f %6.1f | %5.1fx %5.1fx\n", row.suite,
                    row.size, row.direction, row.sw.mb_per_s, row.sw.write_ns, row.sw.read_ns,
                    100 * row.sw.cpu_mad / row.sw.cpu_ns, row.off.mb_per_s, row.off.write_ns, row.off.read_ns,
                    100 * row.off.cpu_mad / row.off.cpu_ns, row.off.mb_per_s / row.sw.mb_per_s,
                    row.sw.cpu_ns / row.off.cpu_ns);
        std::fflush(stdout);
        rows.push_back(row);
      }
    }
  }
  auto st = tls_crypto_offload_stats();
  std::printf("\n(x CPU = sw CPU ns/record / off CPU ns/record, the figure to quote on a shared machine)\n");
  std::printf("offload counters: %llu seals, %llu opens, %llu auth failures, %llu fallbacks, %llu key expansions\n",
              static_cast<unsigned long long>(st.gcm_encrypt), static_cast<unsigned long long>(st.gcm_decrypt),
              static_cast<unsigned long long>(st.auth_failures), static_cast<unsigned long long>(st.fallback),
              static_cast<unsigned long long>(st.key_expansions));

  if (!opt.json_path.empty()) {
    FILE* f = opt.json_path == "-" ? stdout : std::fopen(opt.json_path.c_str(), "w");
    if (f == nullptr) {
      die("cannot write " + opt.json_path);
    }
    write_json(f, rows, opt, arch);
    if (f != stdout) {
      std::fclose(f);
    }
  }
  wolfSSL_Cleanup();
  return 0;
}
