// ocm-handshake-cost: what one new session costs the server's CPU, piece by piece (issue 7).
// Measures, on the calling thread's CPU clock, each thing a login does that could bound the
// connect rate: the password hash (crypt(3), as lib/auth calls it), the ECDSA P-256 signature
// and the ECDHE key agreement in wolfCrypt, and a whole TLS 1.3 handshake in memory (the server
// side only, the way lib/ctrl/src/tls.cpp drives it, with the client's share timed apart).
// The sum gives the per-core ceiling on new sessions per second. See perf/README.md.
//
//   ocm-handshake-cost --cert cert.pem --key key.pem [--iterations 200]

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/curve25519.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfio.h>

#include <crypt.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <type_traits>
#include <vector>

namespace {

double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// Median of `iterations` runs (CPU µs): robust against the other jobs on this shared VM. A
// callable that returns a double reports its own time (to leave out its set-up).
template <typename Fn>
double median_us(int iterations, Fn&& fn) {
  std::vector<double> t;
  t.reserve(static_cast<size_t>(iterations));
  for (int i = 0; i < iterations; ++i) {
    if constexpr (std::is_same_v<std::invoke_result_t<Fn&>, double>) {
      t.push_back(fn());
    } else {
      double t0 = thread_cpu_us();
      fn();
      t.push_back(thread_cpu_us() - t0);
    }
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "ocm-handshake-cost: %s failed\n", what);
    std::exit(1);
  }
}

double crypt_us(const char* setting, int iterations) {
  crypt_data data{};
  const char* hash = crypt_r("secret123", setting, &data);
  check(hash != nullptr && hash[0] != '*', "crypt setting");
  std::string stored = hash;
  return median_us(iterations, [&] {
    crypt_data d{};
    check(crypt_r("secret123", stored.c_str(), &d) != nullptr, "crypt");
  });
}

struct Pipe {
  std::vector<uint8_t> bytes;
};

int pipe_recv(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto* p = static_cast<Pipe*>(ctx);
  if (p->bytes.empty()) {
    return WOLFSSL_CBIO_ERR_WANT_READ;
  }
  size_t n = std::min(p->bytes.size(), static_cast<size_t>(sz));
  std::memcpy(buf, p->bytes.data(), n);
  p->bytes.erase(p->bytes.begin(), p->bytes.begin() + static_cast<std::ptrdiff_t>(n));
  return static_cast<int>(n);
}

int pipe_send(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto* p = static_cast<Pipe*>(ctx);
  p->bytes.insert(p->bytes.end(), buf, buf + sz);
  return sz;
}

struct HandshakeCost {
  double server_us = 0;
  double client_us = 0;
  std::string group;
};

// One TLS 1.3 handshake in memory; the client sends key shares for `groups` (empty = its
// default, P-256 only with wolfSSL; openconnect/GnuTLS sends P-256 and X25519).
HandshakeCost handshake(WOLFSSL_CTX* sctx, WOLFSSL_CTX* cctx, const std::vector<int>& groups) {
  WOLFSSL* s = wolfSSL_new(sctx);
  WOLFSSL* c = wolfSSL_new(cctx);
  check(s != nullptr && c != nullptr, "wolfSSL_new");
  for (int group : groups) {
    check(wolfSSL_UseKeyShare(c, static_cast<word16>(group)) == WOLFSSL_SUCCESS, "wolfSSL_UseKeyShare");
  }
  Pipe to_server;
  Pipe to_client;
  wolfSSL_SetIOReadCtx(s, &to_server);
  wolfSSL_SetIOWriteCtx(s, &to_client);
  wolfSSL_SetIOReadCtx(c, &to_client);
  wolfSSL_SetIOWriteCtx(c, &to_server);
  HandshakeCost cost;
  bool server_done = false;
  bool client_done = false;
  for (int round = 0; round < 16 && !(server_done && client_done); ++round) {
    double t0 = thread_cpu_us();
    if (!client_done) {
      client_done = wolfSSL_connect(c) == WOLFSSL_SUCCESS;
    }
    double t1 = thread_cpu_us();
    if (!server_done) {
      server_done = wolfSSL_accept(s) == WOLFSSL_SUCCESS;
    }
    double t2 = thread_cpu_us();
    cost.client_us += t1 - t0;
    cost.server_us += t2 - t1;
  }
  check(server_done && client_done, "in-memory TLS handshake");
  const char* name = wolfSSL_get_curve_name(s);
  cost.group = name != nullptr ? name : "?";
  wolfSSL_free(c);
  wolfSSL_free(s);
  return cost;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cert;
  std::string key;
  int iterations = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--cert") {
      cert = argv[i + 1];
    } else if (a == "--key") {
      key = argv[i + 1];
    } else if (a == "--iterations") {
      iterations = std::max(1, std::atoi(argv[i + 1]));
    }
  }
  if (cert.empty() || key.empty()) {
    std::fprintf(stderr, "usage: ocm-handshake-cost --cert CERT.pem --key KEY.pem [--iterations N]\n");
    return 2;
  }
  wolfSSL_Init();

  // The password hash: crypt(3) on the libuv pool, but on the same core when pinned.
  // Fewer iterations: these take milliseconds each.
  int crypt_iter = std::max(5, iterations / 10);
  double sha512_5000 = crypt_us("$6$saltsaltsaltsalt$", crypt_iter);  // openssl passwd -6 / ocpasswd
  double sha512_1000 = crypt_us("$6$rounds=1000$saltsaltsaltsalt$", crypt_iter);
  const char* yescrypt_setting = crypt_gensalt("$y$", 0, nullptr, 0);  // libxcrypt's default cost
  check(yescrypt_setting != nullptr, "crypt_gensalt");
  double yescrypt = crypt_us(std::string(yescrypt_setting).c_str(), crypt_iter);

  WC_RNG rng;
  check(wc_InitRng(&rng) == 0, "wc_InitRng");
  ecc_key signer;
  wc_ecc_init(&signer);
  check(wc_ecc_make_key_ex(&rng, 32, &signer, ECC_SECP256R1) == 0, "P-256 key");
  uint8_t digest[32] = {1, 2, 3};
  double ecdsa_sign = median_us(iterations, [&] {
    uint8_t sig[80];
    word32 len = sizeof sig;
    check(wc_ecc_sign_hash(digest, sizeof digest, sig, &len, &rng, &signer) == 0, "ECDSA sign");
  });
  ecc_key peer;
  wc_ecc_init(&peer);
  check(wc_ecc_make_key_ex(&rng, 32, &peer, ECC_SECP256R1) == 0, "P-256 peer key");
  double ecdhe_p256 = median_us(iterations, [&] {
    ecc_key eph;
    wc_ecc_init(&eph);
    check(wc_ecc_make_key_ex(&rng, 32, &eph, ECC_SECP256R1) == 0, "P-256 ephemeral key");
    wc_ecc_set_rng(&eph, &rng);
    uint8_t secret[32];
    word32 len = sizeof secret;
    check(wc_ecc_shared_secret(&eph, &peer, secret, &len) == 0, "ECDH P-256");
    wc_ecc_free(&eph);
  });
  // As in a handshake: the peer's point is new every time. Debian's wolfSSL has FP_ECC, a cache
  // of precomputed tables that helps only points used again (the generator: our key generation
  // and signature), and no fast P-256 code; a fresh point costs a full generic multiplication.
  double ecdhe_p256_fresh = median_us(iterations, [&] {
    ecc_key client;
    wc_ecc_init(&client);
    check(wc_ecc_make_key_ex(&rng, 32, &client, ECC_SECP256R1) == 0, "P-256 client key");
    uint8_t point[65];
    word32 point_len = sizeof point;
    check(wc_ecc_export_x963(&client, point, &point_len) == 0, "export point");
    // Only the server's part is timed: the client's key generation above is not.
    double t0 = thread_cpu_us();
    ecc_key imported;
    wc_ecc_init(&imported);
    check(wc_ecc_import_x963_ex(point, point_len, &imported, ECC_SECP256R1) == 0, "import point");
    ecc_key eph;
    wc_ecc_init(&eph);
    check(wc_ecc_make_key_ex(&rng, 32, &eph, ECC_SECP256R1) == 0, "P-256 ephemeral key");
    wc_ecc_set_rng(&eph, &rng);
    uint8_t secret[32];
    word32 len = sizeof secret;
    check(wc_ecc_shared_secret(&eph, &imported, secret, &len) == 0, "ECDH P-256");
    double spent = thread_cpu_us() - t0;
    wc_ecc_free(&eph);
    wc_ecc_free(&imported);
    wc_ecc_free(&client);
    return spent;
  });
  curve25519_key xpeer;
  wc_curve25519_init(&xpeer);
  check(wc_curve25519_make_key(&rng, 32, &xpeer) == 0, "X25519 peer key");
  double ecdhe_x25519 = median_us(iterations, [&] {
    curve25519_key eph;
    wc_curve25519_init(&eph);
    check(wc_curve25519_make_key(&rng, 32, &eph) == 0, "X25519 key");
    uint8_t secret[32];
    word32 len = sizeof secret;
    check(wc_curve25519_shared_secret(&eph, &xpeer, secret, &len) == 0, "X25519");
    wc_curve25519_free(&eph);
  });

  // Whole handshakes, configured like the server (TlsContext::create) and a default client.
  WOLFSSL_CTX* sctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
  check(sctx != nullptr, "server CTX");
  wolfSSL_CTX_SetMinVersion(sctx, WOLFSSL_TLSV1_3);
  check(wolfSSL_CTX_use_certificate_chain_file(sctx, cert.c_str()) == WOLFSSL_SUCCESS, "certificate");
  check(wolfSSL_CTX_use_PrivateKey_file(sctx, key.c_str(), WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS, "key");
  wolfSSL_CTX_SetIORecv(sctx, pipe_recv);
  wolfSSL_CTX_SetIOSend(sctx, pipe_send);
  WOLFSSL_CTX* cctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
  check(cctx != nullptr, "client CTX");
  wolfSSL_CTX_set_verify(cctx, WOLFSSL_VERIFY_NONE, nullptr);
  wolfSSL_CTX_SetIORecv(cctx, pipe_recv);
  wolfSSL_CTX_SetIOSend(cctx, pipe_send);

  // The server as TlsContext::create configures it, once with wolfSSL's default group order
  // (P-256 first) and once preferring X25519.
  WOLFSSL_CTX* sctx_x25519 = wolfSSL_CTX_new(wolfSSLv23_server_method());
  check(sctx_x25519 != nullptr, "server CTX");
  wolfSSL_CTX_SetMinVersion(sctx_x25519, WOLFSSL_TLSV1_3);
  check(wolfSSL_CTX_use_certificate_chain_file(sctx_x25519, cert.c_str()) == WOLFSSL_SUCCESS, "certificate");
  check(wolfSSL_CTX_use_PrivateKey_file(sctx_x25519, key.c_str(), WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS, "key");
  wolfSSL_CTX_SetIORecv(sctx_x25519, pipe_recv);
  wolfSSL_CTX_SetIOSend(sctx_x25519, pipe_send);
  int prefer[] = {WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1, WOLFSSL_ECC_SECP521R1};
  check(wolfSSL_CTX_set_groups(sctx_x25519, prefer, 4) == WOLFSSL_SUCCESS, "wolfSSL_CTX_set_groups");

  struct Variant {
    const char* label;
    WOLFSSL_CTX* server;
    std::vector<int> groups;
  };
  const std::vector<int> openconnect_shares = {WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_X25519};
  for (const Variant& v :
       {Variant{"wolfSSL default client, default server", sctx, {}},
        Variant{"openconnect-like client (P-256 + X25519 shares), default server", sctx, openconnect_shares},
        Variant{"openconnect-like client, server prefers X25519", sctx_x25519, openconnect_shares},
        Variant{"wolfSSL default client, server prefers X25519", sctx_x25519, {}}}) {
    std::vector<double> server;
    std::vector<double> client;
    std::string group;
    for (int i = 0; i < iterations; ++i) {
      auto cost = handshake(v.server, cctx, v.groups);
      server.push_back(cost.server_us);
      client.push_back(cost.client_us);
      group = cost.group;
    }
    std::sort(server.begin(), server.end());
    std::sort(client.begin(), client.end());
    double s = server[server.size() / 2];
    std::printf("tls13 handshake, %s -> %s: server %.0f us, client %.0f us (median of %d)\n", v.label, group.c_str(), s,
                client[client.size() / 2], iterations);
    std::printf(
        "  server ceiling per core: TLS only %.0f/s; + SHA-512 crypt 5000 rounds %.0f/s; "
        "+ rounds=1000 %.0f/s\n",
        1e6 / s, 1e6 / (s + sha512_5000), 1e6 / (s + sha512_1000));
  }
  std::printf("ecdsa p-256 sign: %.0f us\n", ecdsa_sign);
  std::printf("ecdhe p-256 (keygen + shared secret, same peer point every time): %.0f us\n", ecdhe_p256);
  std::printf("ecdhe p-256 (import + keygen + shared secret, fresh peer point as in a handshake): %.0f us\n",
              ecdhe_p256_fresh);
  std::printf("ecdhe x25519 (keygen + shared secret): %.0f us\n", ecdhe_x25519);
  std::printf("crypt sha-512 5000 rounds (default): %.0f us\n", sha512_5000);
  std::printf("crypt sha-512 rounds=1000: %.0f us\n", sha512_1000);
  std::printf("crypt yescrypt (default cost): %.0f us\n", yescrypt);

  wolfSSL_CTX_free(cctx);
  wolfSSL_CTX_free(sctx_x25519);
  wolfSSL_CTX_free(sctx);
  wc_curve25519_free(&xpeer);
  wc_ecc_free(&peer);
  wc_ecc_free(&signer);
  wc_FreeRng(&rng);
  wolfSSL_Cleanup();
  return 0;
}
