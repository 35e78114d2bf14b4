// dtls_handshake.cpp against real DTLS clients over in-memory datagram queues:
//   PSK mode   - a wolfSSL DTLS 1.2 client with the same PSK (what openconnect does with GnuTLS;
//                the GnuTLS PSK case is covered too when GnuTLS is available);
//   resume mode - GnuTLS's gnutls_session_set_premaster(), exactly openconnect's legacy client
//                (wolfSSL cannot be the client here: Debian's build has no static-RSA suites).
// Besides "keys match the client's", each mode exchanges one record each way with the handed-out
// keys, proving key/IV/epoch/sequence semantics for the record layer. Also: lost flights,
// refused full handshakes, wrong secrets, garbage, truncation and traffic after the handshake.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
#include <wolfssl/wolfio.h>

#include "dtls_handshake.hpp"
#include "tls_memory.hpp"

#ifdef OCM_HAVE_GNUTLS
#include <gnutls/gnutls.h>
#endif

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <iterator>
#include <cerrno>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "ocm/proto/dtls_hello.hpp"

namespace ocm::ctrl {
namespace {

using Datagram = std::vector<uint8_t>;
using Queue = std::deque<Datagram>;
using State = DtlsHandshake::State;

const std::string kData = OCM_TEST_DATA_DIR;

config::CryptoConfig test_crypto() {
  config::CryptoConfig c;
  c.cert_file = kData + "/test-server.crt";
  c.key_file = kData + "/test-server.key";
  return c;
}

std::array<uint8_t, 32> filled32(uint8_t seed) {
  std::array<uint8_t, 32> a{};
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<uint8_t>(seed + i * 7);
  }
  return a;
}

std::array<uint8_t, 48> filled48(uint8_t seed) {
  std::array<uint8_t, 48> a{};
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<uint8_t>(seed ^ (i * 13));
  }
  return a;
}

std::vector<uint8_t> bytes(const unsigned char* p, size_t n) {
  return std::vector<uint8_t>(p, p + n);
}
std::vector<uint8_t> bytes(std::span<const uint8_t> s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

uint64_t record_seq(const Datagram& d) {
  uint64_t seq = 0;
  for (size_t i = 5; i < 11; ++i) {
    seq = (seq << 8) | d[i];
  }
  return seq;
}

// The 13-byte AEAD additional data of a DTLS 1.2 record.
std::array<uint8_t, 13> aad_for(uint8_t type, uint16_t epoch, uint64_t seq, size_t plain_len) {
  std::array<uint8_t, 13> a{};
  a[0] = static_cast<uint8_t>(epoch >> 8);
  a[1] = static_cast<uint8_t>(epoch);
  for (int i = 0; i < 6; ++i) {
    a[2 + i] = static_cast<uint8_t>(seq >> (40 - 8 * i));
  }
  a[8] = type;
  a[9] = 0xfe;
  a[10] = 0xfd;
  a[11] = static_cast<uint8_t>(plain_len >> 8);
  a[12] = static_cast<uint8_t>(plain_len);
  return a;
}

Datagram record_header(uint16_t epoch, uint64_t seq, size_t body_len) {
  auto aad = aad_for(23, epoch, seq, body_len);
  // Header = type | version | epoch|seq | length: the same bytes in another order.
  Datagram h(13);
  h[0] = 23;
  h[1] = 0xfe;
  h[2] = 0xfd;
  for (size_t i = 0; i < 8; ++i) {
    h[3 + i] = aad[i];
  }
  h[11] = static_cast<uint8_t>(body_len >> 8);
  h[12] = static_cast<uint8_t>(body_len);
  return h;
}

// Record-layer stand-ins for lib/crypto: seal/open one application_data record with DtlsKeys.
Datagram seal_app(const DtlsKeys& k, bool server_side, uint64_t seq, const std::string& text) {
  auto key = server_side ? k.server_key() : k.client_key();
  auto iv = server_side ? k.server_iv() : k.client_iv();
  auto aad = aad_for(23, k.epoch, seq, text.size());
  Datagram out;
  if (k.bulk == DtlsBulk::kChaCha20Poly1305) {
    std::array<uint8_t, 12> nonce{};
    std::copy(iv.begin(), iv.end(), nonce.begin());
    for (int i = 0; i < 8; ++i) {
      nonce[4 + i] ^= aad[i];
    }
    std::vector<uint8_t> body(text.size() + 16);
    EXPECT_EQ(wc_ChaCha20Poly1305_Encrypt(key.data(), nonce.data(), aad.data(), aad.size(),
                                          reinterpret_cast<const byte*>(text.data()), text.size(), body.data(),
                                          body.data() + text.size()),
              0);
    out = record_header(k.epoch, seq, body.size());
    out.insert(out.end(), body.begin(), body.end());
  } else {
    std::array<uint8_t, 12> nonce{};
    std::copy(iv.begin(), iv.end(), nonce.begin());
    std::copy(aad.begin(), aad.begin() + 8, nonce.begin() + 4);
    std::vector<uint8_t> body(8 + text.size() + 16);
    std::copy(aad.begin(), aad.begin() + 8, body.begin());
    Aes aes;
    wc_AesInit(&aes, nullptr, INVALID_DEVID);
    EXPECT_EQ(wc_AesGcmSetKey(&aes, key.data(), key.size()), 0);
    EXPECT_EQ(wc_AesGcmEncrypt(&aes, body.data() + 8, reinterpret_cast<const byte*>(text.data()), text.size(),
                               nonce.data(), nonce.size(), body.data() + 8 + text.size(), 16, aad.data(), aad.size()),
              0);
    wc_AesFree(&aes);
    out = record_header(k.epoch, seq, body.size());
    out.insert(out.end(), body.begin(), body.end());
  }
  return out;
}

// Opens the first record of `d` (must be application data in epoch k.epoch).
std::string open_app(const DtlsKeys& k, bool server_side, const Datagram& d) {
  if (d.size() < 13 || d[0] != 23) {
    ADD_FAILURE() << "not an application_data record";
    return {};
  }
  uint16_t epoch = static_cast<uint16_t>((d[3] << 8) | d[4]);
  EXPECT_EQ(epoch, k.epoch);
  uint64_t seq = record_seq(d);
  size_t len = static_cast<size_t>((d[11] << 8) | d[12]);
  auto key = server_side ? k.server_key() : k.client_key();
  auto iv = server_side ? k.server_iv() : k.client_iv();
  if (k.bulk == DtlsBulk::kChaCha20Poly1305) {
    size_t plain_len = len - 16;
    auto aad = aad_for(23, epoch, seq, plain_len);
    std::array<uint8_t, 12> nonce{};
    std::copy(iv.begin(), iv.end(), nonce.begin());
    for (int i = 0; i < 8; ++i) {
      nonce[4 + i] ^= aad[i];
    }
    std::string plain(plain_len, '\0');
    int rc = wc_ChaCha20Poly1305_Decrypt(key.data(), nonce.data(), aad.data(), aad.size(), d.data() + 13, plain_len,
                                         d.data() + 13 + plain_len, reinterpret_cast<byte*>(plain.data()));
    EXPECT_EQ(rc, 0);
    return plain;
  }
  size_t plain_len = len - 8 - 16;
  auto aad = aad_for(23, epoch, seq, plain_len);
  std::array<uint8_t, 12> nonce{};
  std::copy(iv.begin(), iv.end(), nonce.begin());
  std::copy(d.begin() + 13, d.begin() + 21, nonce.begin() + 4);
  std::string plain(plain_len, '\0');
  Aes aes;
  wc_AesInit(&aes, nullptr, INVALID_DEVID);
  EXPECT_EQ(wc_AesGcmSetKey(&aes, key.data(), key.size()), 0);
  int rc = wc_AesGcmDecrypt(&aes, reinterpret_cast<byte*>(plain.data()), d.data() + 21, plain_len, nonce.data(),
                            nonce.size(), d.data() + 21 + plain_len, 16, aad.data(), aad.size());
  wc_AesFree(&aes);
  EXPECT_EQ(rc, 0);
  return plain;
}

// ------------------------------------------------------------------------------------------
// wolfSSL DTLS 1.2 client

class WolfClient {
 public:
  // psk empty -> no PSK callback (certificate suites only, i.e. a full handshake).
  explicit WolfClient(std::vector<uint8_t> psk, const char* ciphers = "PSK-CHACHA20-POLY1305") : psk_(std::move(psk)) {
    ctx_ = wolfSSL_CTX_new(wolfDTLSv1_2_client_method());
    wolfSSL_CTX_set_verify(ctx_, WOLFSSL_VERIFY_NONE, nullptr);
    wolfSSL_CTX_SetIORecv(ctx_, [](WOLFSSL*, char* buf, int sz, void* c) -> int {
      auto* self = static_cast<WolfClient*>(c);
      if (self->in.empty()) {
        return WOLFSSL_CBIO_ERR_WANT_READ;
      }
      Datagram d = std::move(self->in.front());
      self->in.pop_front();
      int n = std::min<int>(sz, static_cast<int>(d.size()));
      std::memcpy(buf, d.data(), static_cast<size_t>(n));
      return n;
    });
    wolfSSL_CTX_SetIOSend(ctx_, [](WOLFSSL*, char* buf, int sz, void* c) -> int {
      auto* self = static_cast<WolfClient*>(c);
      self->out.emplace_back(buf, buf + sz);
      return sz;
    });
    if (!psk_.empty()) {
      wolfSSL_CTX_set_psk_client_callback(ctx_,
                                          [](WOLFSSL* ssl, const char*, char* identity, unsigned int id_max,
                                             unsigned char* key, unsigned int key_max) -> unsigned int {
                                            auto* self = static_cast<WolfClient*>(wolfSSL_GetIOReadCtx(ssl));
                                            std::strncpy(identity, "psk", id_max);
                                            if (key_max < self->psk_.size()) {
                                              return 0;
                                            }
                                            std::memcpy(key, self->psk_.data(), self->psk_.size());
                                            return static_cast<unsigned int>(self->psk_.size());
                                          });
    }
    EXPECT_EQ(wolfSSL_CTX_set_cipher_list(ctx_, ciphers), WOLFSSL_SUCCESS);
    ssl_ = wolfSSL_new(ctx_);
    wolfSSL_SetIOReadCtx(ssl_, this);
    wolfSSL_SetIOWriteCtx(ssl_, this);
    wolfSSL_dtls_set_using_nonblock(ssl_, 1);
  }
  ~WolfClient() {
    wolfSSL_free(ssl_);
    wolfSSL_CTX_free(ctx_);
  }
  WolfClient(const WolfClient&) = delete;
  WolfClient& operator=(const WolfClient&) = delete;

  void step() {
    if (done || failed) {
      return;
    }
    int rc = wolfSSL_connect(ssl_);
    if (rc == WOLFSSL_SUCCESS) {
      done = true;
      return;
    }
    int err = wolfSSL_get_error(ssl_, rc);
    if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE) {
      failed = true;
    }
  }
  void timeout() { wolfSSL_dtls_got_timeout(ssl_); }
  WOLFSSL* ssl() { return ssl_; }

  Queue in;
  Queue out;
  bool done = false;
  bool failed = false;

 private:
  std::vector<uint8_t> psk_;
  WOLFSSL_CTX* ctx_ = nullptr;
  WOLFSSL* ssl_ = nullptr;
};

// Moves datagrams between client and server until both finish, one fails, or `rounds` pass.
// `drop_to_client(n)` may drop the n-th server datagram (counting from 0).
template <typename Client, typename Drop>
void pump(Client& client, DtlsHandshake& server, int rounds, Drop drop_to_client) {
  int sent_to_client = 0;
  for (int r = 0; r < rounds; ++r) {
    client.step();
    while (!client.out.empty()) {
      server.push_datagram(client.out.front());
      client.out.pop_front();
    }
    server.step();
    for (auto& d : server.outgoing()) {
      if (!drop_to_client(sent_to_client++)) {
        client.in.push_back(d);
      }
    }
    server.outgoing().clear();
    if ((client.done && server.state() == State::kDone) || client.failed || server.state() == State::kError) {
      client.step();  // let the client consume a final flight/alert
      return;
    }
  }
}

template <typename Client>
void pump(Client& client, DtlsHandshake& server, int rounds = 12) {
  pump(client, server, rounds, [](int) { return false; });
}

std::shared_ptr<DtlsServer> make_server() {
  auto server = DtlsServer::create(test_crypto());
  EXPECT_TRUE(server) << (server ? "" : server.error().message);
  return server ? *server : nullptr;
}

std::unique_ptr<DtlsHandshake> make_psk(const std::shared_ptr<DtlsServer>& server, const std::array<uint8_t, 32>& psk) {
  auto hs = DtlsHandshake::psk(server, psk);
  EXPECT_TRUE(hs) << (hs ? "" : hs.error().message);
  return hs ? std::move(*hs) : nullptr;
}

void expect_keys_match_wolf_client(const DtlsKeys& k, WOLFSSL* client) {
  ASSERT_EQ(k.key_size, wolfSSL_GetKeySize(client));
  ASSERT_EQ(k.iv_size, wolfSSL_GetIVSize(client));
  EXPECT_EQ(bytes(k.client_key()), bytes(wolfSSL_GetClientWriteKey(client), k.key_size));
  EXPECT_EQ(bytes(k.server_key()), bytes(wolfSSL_GetServerWriteKey(client), k.key_size));
  EXPECT_EQ(bytes(k.client_iv()), bytes(wolfSSL_GetClientWriteIV(client), k.iv_size));
  EXPECT_EQ(bytes(k.server_iv()), bytes(wolfSSL_GetServerWriteIV(client), k.iv_size));
}

// ------------------------------------------------------------------------------------------
// PSK mode

TEST(DtlsPsk, ServerContextWithAndWithoutCertificate) {
  EXPECT_TRUE(DtlsServer::create(test_crypto()));
  EXPECT_TRUE(DtlsServer::create());
  config::CryptoConfig bad = test_crypto();
  bad.cert_file = kData + "/missing.crt";
  EXPECT_FALSE(DtlsServer::create(bad));
}

TEST(DtlsPsk, HandshakeKeysMatchTheClientAndCarryData) {
  auto server = make_server();
  auto psk = filled32(1);
  auto hs = make_psk(server, psk);
  WolfClient client(bytes(psk.data(), psk.size()));
  EXPECT_TRUE(hs->keys().has_value() == false);
  pump(client, *hs);
  ASSERT_TRUE(client.done);
  ASSERT_EQ(hs->state(), State::kDone) << hs->error();
  auto keys = hs->keys();
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->bulk, DtlsBulk::kChaCha20Poly1305);
  EXPECT_EQ(keys->suite, "PSK-CHACHA20-POLY1305");
  EXPECT_EQ(keys->key_size, 32);
  EXPECT_EQ(keys->iv_size, 12);
  EXPECT_EQ(keys->epoch, 1);
  EXPECT_EQ(keys->version, 0xfefd);
  expect_keys_match_wolf_client(*keys, client.ssl());

  // Client -> server with wolfSSL's record layer, opened with our keys.
  ASSERT_EQ(wolfSSL_write(client.ssl(), "ping", 4), 4);
  ASSERT_EQ(client.out.size(), 1u);
  EXPECT_EQ(open_app(*keys, false, client.out.front()), "ping");
  // Server -> client sealed with our keys at server_next_seq; wolfSSL must accept it.
  client.in.push_back(seal_app(*keys, true, keys->server_next_seq, "pong"));
  char buf[64] = {};
  ASSERT_EQ(wolfSSL_read(client.ssl(), buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), "pong");
}

TEST(DtlsPsk, HelloVerifyRequestRoundTripNeedsTheSameObject) {
  // wolfSSL answers the first ClientHello with a HelloVerifyRequest; the client's second
  // ClientHello (same session_id, now with the cookie) must reach the same DtlsHandshake.
  auto server = make_server();
  auto psk = filled32(2);
  auto hs = make_psk(server, psk);
  WolfClient client(bytes(psk.data(), psk.size()));
  client.step();
  ASSERT_EQ(client.out.size(), 1u);
  auto first = proto::parse_dtls_client_hello(client.out.front());
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->cookie.empty());
  hs->push_datagram(client.out.front());
  client.out.clear();
  EXPECT_EQ(hs->step(), State::kWantRead);
  ASSERT_EQ(hs->outgoing().size(), 1u);
  EXPECT_EQ(hs->outgoing()[0][13], 3);  // hello_verify_request
  for (auto& d : hs->outgoing()) {
    client.in.push_back(d);
  }
  hs->outgoing().clear();
  client.step();
  ASSERT_EQ(client.out.size(), 1u);
  auto second = proto::parse_dtls_client_hello(client.out.front());
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->cookie.empty());
  pump(client, *hs);
  EXPECT_TRUE(client.done);
  EXPECT_EQ(hs->state(), State::kDone);
}

TEST(DtlsPsk, WrongPskNeverCompletes) {
  auto server = make_server();
  auto hs = make_psk(server, filled32(3));
  auto other = filled32(4);
  WolfClient client(bytes(other.data(), other.size()));
  pump(client, *hs);
  EXPECT_FALSE(client.done);
  EXPECT_NE(hs->state(), State::kDone);
  EXPECT_FALSE(hs->keys());
  // If wolfSSL dropped the bad Finished silently, the retransmission timer ends it.
  for (int i = 0; i < 10 && hs->state() == State::kWantRead; ++i) {
    hs->on_timeout();
  }
  EXPECT_EQ(hs->state(), State::kError);
  EXPECT_FALSE(hs->error().empty());
}

TEST(DtlsPsk, LostFinalFlightIsAnsweredAfterDone) {
  auto server = make_server();
  auto psk = filled32(5);
  auto hs = make_psk(server, psk);
  WolfClient client(bytes(psk.data(), psk.size()));
  // Server datagrams: 0 = HelloVerifyRequest, 1 = ServerHello..Done, 2 = CCS+Finished: lose 2.
  pump(client, *hs, 12, [](int n) { return n == 2; });
  ASSERT_EQ(hs->state(), State::kDone);
  ASSERT_FALSE(client.done);
  auto keys = hs->keys();
  ASSERT_TRUE(keys);
  // The client's timer fires: it resends its last flight, the finished server resends its own.
  client.timeout();
  ASSERT_FALSE(client.out.empty());
  pump(client, *hs);
  EXPECT_TRUE(client.done);
  EXPECT_EQ(hs->state(), State::kDone);
  expect_keys_match_wolf_client(*keys, client.ssl());
  // Whatever wolfSSL sent stays below the sequence numbers handed to the record layer.
  client.in.push_back(seal_app(*keys, true, keys->server_next_seq, "after-retransmit"));
  char buf[64] = {};
  EXPECT_EQ(wolfSSL_read(client.ssl(), buf, sizeof buf), 16);
}

// issue 7: a tunnel drops its finished handshake once the client has shown it got our last
// flight (a record under the new keys) or had time to ask for it again.
TEST(DtlsHandshakeDisposal, OnlyFinishedInstalledAndConfirmedOrLingeredHandshakesGo) {
  using std::chrono::seconds;
  const auto linger = kDtlsHandshakeLinger;
  struct Case {
    State state;
    bool installed;
    bool record_seen;
    std::chrono::steady_clock::duration since_done;
    bool disposable;
  };
  const Case cases[] = {
      /* 0 */ {State::kWantRead, true, true, linger * 2, false},  // a new attempt in progress
      /* 1 */ {State::kError, true, true, linger * 2, false},     // errors are dropped elsewhere
      /* 2 */ {State::kDone, false, true, linger * 2, false},     // keys not in the data plane
      /* 3 */ {State::kDone, true, false, seconds(0), false},     // just finished, nothing heard
      /* 4 */ {State::kDone, true, false, linger - seconds(1), false},
      /* 5 */ {State::kDone, true, false, linger, true},  // retransmission window over
      /* 6 */ {State::kDone, true, true, seconds(0), true},  // the client uses the keys
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& c = cases[i];
    EXPECT_EQ(dtls_handshake_disposable(c.state, c.installed, c.record_seen, c.since_done), c.disposable) << i;
  }
}

// The wolfSSL object of a PSK handshake (its 37.5 KB session block in its own mapping) is freed
// as soon as the handshake is done: an idle tunnel does not carry it.
TEST(DtlsPsk, FinishedHandshakeHoldsNoWolfsslObject) {
  install_tls_allocators();
  auto server = make_server();
  auto psk = filled32(12);
  WolfClient client(bytes(psk.data(), psk.size()));
  const size_t before = tls_own_mapping_blocks();
  auto hs = make_psk(server, psk);
  EXPECT_GT(tls_own_mapping_blocks(), before);
  pump(client, *hs);
  ASSERT_TRUE(client.done);
  ASSERT_EQ(hs->state(), State::kDone);
  EXPECT_EQ(tls_own_mapping_blocks(), before);
  auto keys = hs->keys();
  ASSERT_TRUE(keys);
  hs.reset();
  EXPECT_EQ(tls_own_mapping_blocks(), before);
  // The keys outlive the handshake object: the client's records still open with them.
  ASSERT_EQ(wolfSSL_write(client.ssl(), "late", 4), 4);
  ASSERT_FALSE(client.out.empty());
  EXPECT_EQ(open_app(*keys, false, client.out.back()), "late");
}

TEST(DtlsPsk, GarbageAndTruncatedHellosNeverComplete) {
  auto server = make_server();
  auto psk = filled32(6);
  // The client's real first ClientHello, to truncate.
  WolfClient probe(bytes(psk.data(), psk.size()));
  probe.step();
  ASSERT_EQ(probe.out.size(), 1u);
  const Datagram hello = probe.out.front();

  for (size_t len = 0; len < hello.size(); ++len) {
    auto hs = make_psk(server, psk);
    hs->push_datagram(std::span(hello).first(len));
    State st = hs->step();
    EXPECT_NE(st, State::kDone) << len;
    EXPECT_TRUE(hs->outgoing().empty() || st != State::kDone);
  }
  std::mt19937 rng(99);
  for (int i = 0; i < 300; ++i) {
    auto hs = make_psk(server, psk);
    for (int j = 0; j < 4; ++j) {
      Datagram d(static_cast<size_t>(rng() % 300));
      for (auto& b : d) {
        b = static_cast<uint8_t>(rng());
      }
      if (!d.empty() && i % 2 == 0) {
        d[0] = 22;  // looks like a handshake record
      }
      hs->push_datagram(d);
    }
    EXPECT_NE(hs->step(), State::kDone);
    EXPECT_FALSE(hs->keys());
  }
}

TEST(DtlsPsk, GarbageBeforeTheHelloDoesNotPreventTheHandshake) {
  auto server = make_server();
  auto psk = filled32(7);
  auto hs = make_psk(server, psk);
  hs->push_datagram(Datagram{22, 0xfe, 0xfd, 1, 2, 3});
  hs->push_datagram(Datagram(100, 0x41));
  State st = hs->step();
  if (st == State::kError) {
    GTEST_SKIP() << "wolfSSL treats garbage as fatal: " << hs->error();
  }
  WolfClient client(bytes(psk.data(), psk.size()));
  pump(client, *hs);
  EXPECT_TRUE(client.done);
  EXPECT_EQ(hs->state(), State::kDone);
}

TEST(DtlsPsk, TrafficAfterDoneIsHarmless) {
  auto server = make_server();
  auto psk = filled32(8);
  auto hs = make_psk(server, psk);
  WolfClient client(bytes(psk.data(), psk.size()));
  pump(client, *hs);
  ASSERT_EQ(hs->state(), State::kDone);
  auto before = hs->keys();
  ASSERT_TRUE(before);

  // A fresh client's ClientHello (a reconnect), garbage, an app record and a close_notify.
  WolfClient again(bytes(psk.data(), psk.size()));
  again.step();
  for (auto& d : again.out) {
    hs->push_datagram(d);
  }
  hs->push_datagram(Datagram(50, 0x16));
  hs->push_datagram(Datagram{});
  ASSERT_EQ(wolfSSL_write(client.ssl(), "data", 4), 4);
  for (auto& d : client.out) {
    hs->push_datagram(d);
  }
  client.out.clear();
  wolfSSL_shutdown(client.ssl());
  for (auto& d : client.out) {
    hs->push_datagram(d);
  }
  EXPECT_EQ(hs->step(), State::kDone);
  EXPECT_EQ(hs->on_timeout(), State::kDone);
  auto after = hs->keys();
  ASSERT_TRUE(after);
  EXPECT_EQ(bytes(after->client_key()), bytes(before->client_key()));
  EXPECT_EQ(bytes(after->server_key()), bytes(before->server_key()));
  for (auto& d : hs->outgoing()) {
    if (d.size() >= 13 && ((d[3] << 8) | d[4]) == 1) {
      EXPECT_LT(record_seq(d), before->server_next_seq);
    }
  }
}

TEST(DtlsPsk, NoClientAtAllTimesOut) {
  auto server = make_server();
  auto hs = make_psk(server, filled32(9));
  EXPECT_EQ(hs->step(), State::kWantRead);
  EXPECT_GE(hs->retransmit_timeout(), std::chrono::milliseconds(1000));
  int timeouts = 0;
  while (hs->state() == State::kWantRead && timeouts < 20) {
    hs->on_timeout();
    ++timeouts;
  }
  EXPECT_EQ(hs->state(), State::kError);
}

// ------------------------------------------------------------------------------------------
// Resume (legacy) mode: what needs no GnuTLS

std::unique_ptr<DtlsHandshake> make_resume(const std::array<uint8_t, 48>& ms, const std::array<uint8_t, 32>& sid,
                                           proto::DtlsLegacySuite suite) {
  auto hs = DtlsHandshake::resume(ms, sid, suite);
  EXPECT_TRUE(hs) << (hs ? "" : hs.error().message);
  return hs ? std::move(*hs) : nullptr;
}

TEST(DtlsResume, Dtls09SuitesAreNotImplemented) {
  auto ms = filled48(1);
  auto sid = filled32(1);
  EXPECT_FALSE(DtlsHandshake::resume(ms, sid, proto::DtlsLegacySuite::kAes128Cbc));
  EXPECT_FALSE(DtlsHandshake::resume(ms, sid, proto::DtlsLegacySuite::kAes256Cbc));
  EXPECT_FALSE(DtlsHandshake::resume(ms, sid, proto::DtlsLegacySuite::kDes3Cbc));
  EXPECT_TRUE(DtlsHandshake::resume(ms, sid, proto::DtlsLegacySuite::kAes128Gcm));
}

TEST(DtlsResume, FullHandshakeFromAWolfsslClientIsRefused) {
  auto hs = make_resume(filled48(2), filled32(2), proto::DtlsLegacySuite::kAes128Gcm);
  WolfClient client({}, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256");
  pump(client, *hs);
  EXPECT_EQ(hs->state(), State::kError);
  EXPECT_NE(hs->error().find("does not resume"), std::string::npos) << hs->error();
  EXPECT_FALSE(client.done);
  EXPECT_TRUE(client.failed);  // it got our handshake_failure alert
  EXPECT_FALSE(hs->keys());
}

TEST(DtlsResume, GarbageOrTruncatedFirstDatagramIsAnError) {
  auto hs = make_resume(filled48(3), filled32(3), proto::DtlsLegacySuite::kAes128Gcm);
  hs->push_datagram(Datagram{22, 0xfe, 0xfd, 0});
  EXPECT_EQ(hs->step(), State::kError);
  EXPECT_FALSE(hs->keys());

  std::mt19937 rng(5);
  for (int i = 0; i < 500; ++i) {
    auto h = make_resume(filled48(3), filled32(3), proto::DtlsLegacySuite::kAes256Gcm);
    Datagram d(1 + static_cast<size_t>(rng() % 200));  // (empty datagrams are ignored)
    for (auto& b : d) {
      b = static_cast<uint8_t>(rng());
    }
    h->push_datagram(d);
    h->push_datagram(d);
    EXPECT_EQ(h->step(), State::kError);
    EXPECT_EQ(h->step(), State::kError);
    EXPECT_EQ(h->on_timeout(), State::kError);
  }
}

TEST(DtlsResume, NoClientHelloTimesOut) {
  auto hs = make_resume(filled48(4), filled32(4), proto::DtlsLegacySuite::kAes128Gcm);
  EXPECT_EQ(hs->step(), State::kWantRead);
  EXPECT_EQ(hs->on_timeout(), State::kError);
}

#ifdef OCM_HAVE_GNUTLS
// ------------------------------------------------------------------------------------------
// GnuTLS clients (openconnect's own TLS library)

class GnutlsClient {
 public:
  // Legacy client exactly as openconnect's gnutls-dtls.c sets it up.
  static std::unique_ptr<GnutlsClient> legacy(const std::array<uint8_t, 48>& ms, const std::array<uint8_t, 32>& sid,
                                              proto::DtlsLegacySuite suite, const char* priority = nullptr) {
    auto c = std::unique_ptr<GnutlsClient>(new GnutlsClient());
    bool aes256 = suite == proto::DtlsLegacySuite::kAes256Gcm;
    const char* prio = priority != nullptr ? priority
                       : aes256            ? "NONE:+VERS-DTLS1.2:+COMP-NULL:+AES-256-GCM:+AEAD:+RSA:%COMPAT:+SIGN-ALL"
                                           : "NONE:+VERS-DTLS1.2:+COMP-NULL:+AES-128-GCM:+AEAD:+RSA:%COMPAT:+SIGN-ALL";
    EXPECT_EQ(gnutls_priority_set_direct(c->session_, prio, nullptr), 0);
    gnutls_record_disable_padding(c->session_);
    gnutls_datum_t master{const_cast<unsigned char*>(ms.data()), static_cast<unsigned>(ms.size())};
    gnutls_datum_t id{const_cast<unsigned char*>(sid.data()), static_cast<unsigned>(sid.size())};
    EXPECT_EQ(gnutls_session_set_premaster(c->session_, GNUTLS_CLIENT, GNUTLS_DTLS1_2, GNUTLS_KX_RSA,
                                           aes256 ? GNUTLS_CIPHER_AES_256_GCM : GNUTLS_CIPHER_AES_128_GCM,
                                           GNUTLS_MAC_AEAD, GNUTLS_COMP_NULL, &master, &id),
              0);
    return c;
  }
  // PSK client with openconnect's PSK-NEGOTIATE priority; `app_id` goes into the ClientHello's
  // session_id, as openconnect does with X-DTLS-App-ID.
  static std::unique_ptr<GnutlsClient> psk(const std::array<uint8_t, 32>& key,
                                           const std::array<uint8_t, 32>* app_id = nullptr) {
    auto c = std::unique_ptr<GnutlsClient>(new GnutlsClient());
    if (app_id != nullptr) {
      gnutls_datum_t id{const_cast<unsigned char*>(app_id->data()), static_cast<unsigned>(app_id->size())};
      EXPECT_EQ(gnutls_session_set_id(c->session_, &id), 0);
    }
    EXPECT_EQ(gnutls_priority_set_direct(c->session_, "NORMAL:-VERS-TLS-ALL:+VERS-DTLS-ALL:-KX-ALL:+PSK", nullptr), 0);
    EXPECT_EQ(gnutls_psk_allocate_client_credentials(&c->psk_cred_), 0);
    gnutls_datum_t k{const_cast<unsigned char*>(key.data()), static_cast<unsigned>(key.size())};
    EXPECT_EQ(gnutls_psk_set_client_credentials(c->psk_cred_, "psk", &k, GNUTLS_PSK_KEY_RAW), 0);
    EXPECT_EQ(gnutls_credentials_set(c->session_, GNUTLS_CRD_PSK, c->psk_cred_), 0);
    return c;
  }
  ~GnutlsClient() {
    gnutls_deinit(session_);
    if (psk_cred_ != nullptr) {
      gnutls_psk_free_client_credentials(psk_cred_);
    }
  }
  GnutlsClient(const GnutlsClient&) = delete;
  GnutlsClient& operator=(const GnutlsClient&) = delete;

  void step() {
    if (done || failed) {
      return;
    }
    int rc = gnutls_handshake(session_);
    if (rc == 0) {
      done = true;
    } else if (gnutls_error_is_fatal(rc)) {
      failed = true;
      error = gnutls_strerror(rc);
    }
  }
  gnutls_session_t session() { return session_; }

  // Keys of one direction: read = 0 -> client write state.
  void state(bool read, std::vector<uint8_t>& key, std::vector<uint8_t>& iv) {
    gnutls_datum_t mac{}, ivd{}, keyd{};
    unsigned char seq[8];
    ASSERT_EQ(gnutls_record_get_state(session_, read ? 1 : 0, &mac, &ivd, &keyd, seq), 0);
    key.assign(keyd.data, keyd.data + keyd.size);
    iv.assign(ivd.data, ivd.data + ivd.size);
  }

  Queue in;
  Queue out;
  bool done = false;
  bool failed = false;
  std::string error;

 private:
  GnutlsClient() {
    EXPECT_EQ(gnutls_init(&session_, GNUTLS_CLIENT | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK), 0);
    gnutls_transport_set_ptr(session_, this);
    gnutls_transport_set_push_function(session_, [](gnutls_transport_ptr_t p, const void* data, size_t n) -> ssize_t {
      auto* self = static_cast<GnutlsClient*>(p);
      auto* b = static_cast<const uint8_t*>(data);
      self->out.emplace_back(b, b + n);
      return static_cast<ssize_t>(n);
    });
    gnutls_transport_set_pull_function(session_, [](gnutls_transport_ptr_t p, void* data, size_t n) -> ssize_t {
      auto* self = static_cast<GnutlsClient*>(p);
      if (self->in.empty()) {
        gnutls_transport_set_errno(self->session_, EAGAIN);
        return -1;
      }
      Datagram d = std::move(self->in.front());
      self->in.pop_front();
      size_t m = std::min(n, d.size());
      std::memcpy(data, d.data(), m);
      return static_cast<ssize_t>(m);
    });
    gnutls_transport_set_pull_timeout_function(session_, [](gnutls_transport_ptr_t p, unsigned int) -> int {
      return static_cast<GnutlsClient*>(p)->in.empty() ? 0 : 1;
    });
  }

  gnutls_session_t session_ = nullptr;
  gnutls_psk_client_credentials_t psk_cred_ = nullptr;
};

struct ResumeCase {
  proto::DtlsLegacySuite suite;
  size_t key_size;
};

class DtlsResumeGnutls : public ::testing::TestWithParam<ResumeCase> {};

TEST_P(DtlsResumeGnutls, AbbreviatedHandshakeKeysMatchAndCarryData) {
  auto [suite, key_size] = GetParam();
  auto ms = filled48(10);
  auto sid = filled32(10);
  auto hs = make_resume(ms, sid, suite);
  auto client = GnutlsClient::legacy(ms, sid, suite);
  pump(*client, *hs);
  ASSERT_TRUE(client->done) << client->error;
  ASSERT_EQ(hs->state(), State::kDone) << hs->error();
  EXPECT_TRUE(gnutls_session_is_resumed(client->session()));
  auto keys = hs->keys();
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->key_size, key_size);
  EXPECT_EQ(keys->iv_size, 4);
  EXPECT_EQ(keys->bulk, key_size == 16 ? DtlsBulk::kAes128Gcm : DtlsBulk::kAes256Gcm);
  EXPECT_EQ(keys->server_next_seq, 1u);
  std::vector<uint8_t> ck, civ, sk, siv;
  client->state(false, ck, civ);
  client->state(true, sk, siv);
  EXPECT_EQ(bytes(keys->client_key()), ck);
  EXPECT_EQ(bytes(keys->server_key()), sk);
  EXPECT_EQ(bytes(keys->client_iv()), civ);
  EXPECT_EQ(bytes(keys->server_iv()), siv);

  ASSERT_EQ(gnutls_record_send(client->session(), "ping", 4), 4);
  ASSERT_EQ(client->out.size(), 1u);
  EXPECT_EQ(open_app(*keys, false, client->out.front()), "ping");
  client->in.push_back(seal_app(*keys, true, keys->server_next_seq, "pong"));
  char buf[64] = {};
  ASSERT_EQ(gnutls_record_recv(client->session(), buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), "pong");
}

INSTANTIATE_TEST_SUITE_P(Suites, DtlsResumeGnutls,
                         ::testing::Values(ResumeCase{proto::DtlsLegacySuite::kAes128Gcm, 16},
                                           ResumeCase{proto::DtlsLegacySuite::kAes256Gcm, 32}));

TEST(DtlsResumeGnutlsErrors, WrongMasterSecretFailsOnTheClientFinished) {
  auto sid = filled32(11);
  auto hs = make_resume(filled48(11), sid, proto::DtlsLegacySuite::kAes128Gcm);
  auto client = GnutlsClient::legacy(filled48(12), sid, proto::DtlsLegacySuite::kAes128Gcm);
  pump(*client, *hs);
  EXPECT_FALSE(client->done && hs->state() == State::kDone);
  // GnuTLS rejects our Finished first (it cannot decrypt it), so the server may just wait;
  // either way no keys, and the timer ends it.
  for (int i = 0; i < 10 && hs->state() == State::kWantRead; ++i) {
    hs->on_timeout();
  }
  EXPECT_EQ(hs->state(), State::kError);
  EXPECT_FALSE(hs->keys());
}

TEST(DtlsResumeGnutlsErrors, WrongSessionIdIsRefused) {
  auto ms = filled48(13);
  auto hs = make_resume(ms, filled32(13), proto::DtlsLegacySuite::kAes128Gcm);
  auto client = GnutlsClient::legacy(ms, filled32(14), proto::DtlsLegacySuite::kAes128Gcm);
  pump(*client, *hs);
  EXPECT_EQ(hs->state(), State::kError);
  EXPECT_FALSE(client->done);
}

TEST(DtlsResumeGnutlsErrors, OtherSuiteIsRefused) {
  auto ms = filled48(15);
  auto sid = filled32(15);
  auto hs = make_resume(ms, sid, proto::DtlsLegacySuite::kAes128Gcm);
  auto client = GnutlsClient::legacy(ms, sid, proto::DtlsLegacySuite::kAes256Gcm);
  pump(*client, *hs);
  EXPECT_EQ(hs->state(), State::kError);
  EXPECT_NE(hs->error().find("cipher suite"), std::string::npos) << hs->error();
  EXPECT_FALSE(client->done);
}

TEST(DtlsResumeGnutlsErrors, FullHandshakeIsRefused) {
  // A GnuTLS client with PSK credentials but no premaster: a full handshake, empty session_id.
  auto hs = make_resume(filled48(16), filled32(16), proto::DtlsLegacySuite::kAes128Gcm);
  auto client = GnutlsClient::psk(filled32(16));
  pump(*client, *hs);
  EXPECT_EQ(hs->state(), State::kError);
  EXPECT_FALSE(client->done);
}

TEST(DtlsResumeGnutlsErrors, TruncatedClientHelloAtEveryOffsetIsAnError) {
  auto ms = filled48(23);
  auto sid = filled32(23);
  auto client = GnutlsClient::legacy(ms, sid, proto::DtlsLegacySuite::kAes128Gcm);
  client->step();
  ASSERT_EQ(client->out.size(), 1u);
  const Datagram hello = client->out.front();
  for (size_t len = 1; len < hello.size(); ++len) {
    auto hs = make_resume(ms, sid, proto::DtlsLegacySuite::kAes128Gcm);
    hs->push_datagram(std::span(hello).first(len));
    EXPECT_EQ(hs->step(), State::kError) << len;
    EXPECT_FALSE(hs->keys());
  }
}

TEST(DtlsResumeGnutlsErrors, MangledClientFlightNeverYieldsOtherKeys) {
  auto ms = filled48(24);
  auto sid = filled32(24);
  // Each server random is fresh, so every flipped byte gets its own handshake up to the point
  // where the client has sent its final flight (ChangeCipherSpec + Finished).
  auto run_until_final_flight = [&](std::unique_ptr<DtlsHandshake>& hs, std::unique_ptr<GnutlsClient>& client) {
    hs = make_resume(ms, sid, proto::DtlsLegacySuite::kAes128Gcm);
    client = GnutlsClient::legacy(ms, sid, proto::DtlsLegacySuite::kAes128Gcm);
    client->step();
    hs->push_datagram(client->out.front());
    client->out.clear();
    hs->step();
    for (auto& d : hs->outgoing()) {
      client->in.push_back(d);
    }
    hs->outgoing().clear();
    client->step();
    Datagram flight;
    for (auto& d : client->out) {
      flight.insert(flight.end(), d.begin(), d.end());
    }
    return flight;
  };
  std::unique_ptr<DtlsHandshake> hs;
  std::unique_ptr<GnutlsClient> client;
  const size_t flight_size = run_until_final_flight(hs, client).size();
  ASSERT_TRUE(client->done);
  ASSERT_GT(flight_size, 13u);
  int completed = 0;
  for (size_t i = 0; i < flight_size; ++i) {
    Datagram flight = run_until_final_flight(hs, client);
    ASSERT_EQ(flight.size(), flight_size);
    flight[i] ^= 0x01;
    hs->push_datagram(flight);
    if (hs->step() == State::kDone) {
      // Only bytes the Finished does not depend on (the plain CCS record, epoch-0 sequence
      // numbers) may change without failing, and then the keys are still the right ones.
      ++completed;
      std::vector<uint8_t> ck, civ;
      client->state(false, ck, civ);
      EXPECT_EQ(bytes(hs->keys()->client_key()), ck) << i;
    }
  }
  EXPECT_LT(completed, 20);
}

TEST(DtlsResumeGnutlsLoss, LostServerFlightIsResentOnTimeout) {
  auto ms = filled48(17);
  auto sid = filled32(17);
  auto hs = make_resume(ms, sid, proto::DtlsLegacySuite::kAes256Gcm);
  auto client = GnutlsClient::legacy(ms, sid, proto::DtlsLegacySuite::kAes256Gcm);
  pump(*client, *hs, 4, [](int n) { return n == 0; });
  ASSERT_EQ(hs->state(), State::kWantRead);
  EXPECT_EQ(hs->retransmit_timeout(), std::chrono::milliseconds(1000));
  hs->on_timeout();
  EXPECT_EQ(hs->retransmit_timeout(), std::chrono::milliseconds(2000));
  ASSERT_EQ(hs->outgoing().size(), 1u);
  pump(*client, *hs);
  EXPECT_TRUE(client->done) << client->error;
  EXPECT_EQ(hs->state(), State::kDone) << hs->error();
}

TEST(DtlsResumeGnutlsLoss, RepeatedClientHelloGetsTheSameFlight) {
  auto ms = filled48(18);
  auto sid = filled32(18);
  auto hs = make_resume(ms, sid, proto::DtlsLegacySuite::kAes128Gcm);
  auto client = GnutlsClient::legacy(ms, sid, proto::DtlsLegacySuite::kAes128Gcm);
  client->step();
  ASSERT_EQ(client->out.size(), 1u);
  Datagram hello = client->out.front();
  client->out.clear();
  hs->push_datagram(hello);
  hs->step();
  ASSERT_EQ(hs->outgoing().size(), 1u);
  Datagram flight = hs->outgoing()[0];
  hs->outgoing().clear();
  hs->push_datagram(hello);  // as if our flight was lost and the client retried
  hs->step();
  ASSERT_EQ(hs->outgoing().size(), 1u);
  EXPECT_EQ(hs->outgoing()[0], flight);
  client->in.push_back(flight);
  hs->outgoing().clear();
  pump(*client, *hs);
  EXPECT_TRUE(client->done);
  EXPECT_EQ(hs->state(), State::kDone);
}

TEST(DtlsResumeGnutlsLoss, TrafficAfterDoneIsIgnored) {
  auto ms = filled48(19);
  auto sid = filled32(19);
  auto hs = make_resume(ms, sid, proto::DtlsLegacySuite::kAes128Gcm);
  auto client = GnutlsClient::legacy(ms, sid, proto::DtlsLegacySuite::kAes128Gcm);
  pump(*client, *hs);
  ASSERT_EQ(hs->state(), State::kDone);
  auto again = GnutlsClient::legacy(ms, sid, proto::DtlsLegacySuite::kAes128Gcm);
  again->step();
  for (auto& d : again->out) {
    hs->push_datagram(d);
  }
  ASSERT_EQ(gnutls_record_send(client->session(), "x", 1), 1);
  for (auto& d : client->out) {
    hs->push_datagram(d);
  }
  hs->push_datagram(Datagram(40, 0x15));
  EXPECT_EQ(hs->step(), State::kDone);
  EXPECT_EQ(hs->on_timeout(), State::kDone);
  EXPECT_TRUE(hs->outgoing().empty());
  EXPECT_TRUE(hs->keys());
}

TEST(DtlsPskGnutls, OpenconnectPriorityNegotiatesChaCha20) {
  auto server = make_server();
  auto psk = filled32(20);
  auto hs = make_psk(server, psk);
  auto app_id = filled32(0x77);
  auto client = GnutlsClient::psk(psk, &app_id);
  // The session is found by the App-ID in session_id (protocol.md §5.1, §5.5).
  client->step();
  ASSERT_EQ(client->out.size(), 1u);
  auto hello = proto::parse_dtls_client_hello(client->out.front());
  ASSERT_TRUE(hello);
  auto id = proto::dtls_lookup_id(*hello, true);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(bytes(*id), bytes(app_id.data(), app_id.size()));
  pump(*client, *hs);
  ASSERT_TRUE(client->done) << client->error;
  EXPECT_FALSE(gnutls_session_is_resumed(client->session()));
  ASSERT_EQ(hs->state(), State::kDone) << hs->error();
  auto keys = hs->keys();
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->bulk, DtlsBulk::kChaCha20Poly1305);
  EXPECT_EQ(gnutls_cipher_get(client->session()), GNUTLS_CIPHER_CHACHA20_POLY1305);
  std::vector<uint8_t> ck, civ, sk, siv;
  client->state(false, ck, civ);
  client->state(true, sk, siv);
  EXPECT_EQ(bytes(keys->client_key()), ck);
  EXPECT_EQ(bytes(keys->server_key()), sk);
  EXPECT_EQ(bytes(keys->client_iv()), civ);
  EXPECT_EQ(bytes(keys->server_iv()), siv);
  ASSERT_EQ(gnutls_record_send(client->session(), "ping", 4), 4);
  ASSERT_EQ(client->out.size(), 1u);
  EXPECT_EQ(open_app(*keys, false, client->out.front()), "ping");
  client->in.push_back(seal_app(*keys, true, keys->server_next_seq, "pong"));
  char buf[64] = {};
  ASSERT_EQ(gnutls_record_recv(client->session(), buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), "pong");
}

TEST(DtlsPskGnutls, WrongPskFails) {
  auto server = make_server();
  auto hs = make_psk(server, filled32(21));
  auto client = GnutlsClient::psk(filled32(22));
  pump(*client, *hs);
  EXPECT_FALSE(client->done);
  for (int i = 0; i < 10 && hs->state() == State::kWantRead; ++i) {
    hs->on_timeout();
  }
  EXPECT_EQ(hs->state(), State::kError);
}
#endif  // OCM_HAVE_GNUTLS

}  // namespace
}  // namespace ocm::ctrl
