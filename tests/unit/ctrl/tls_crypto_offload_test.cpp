// tls_crypto_offload.cpp: wolfSSL's AES-GCM through the crypto callback to ipsec-mb.
// Two layers: wolfCrypt calls on one Aes compared byte for byte with wolfSSL's own software
// GCM (key cache, re-key detection, tag failure, fallback shapes, cache bound), then real
// in-memory TLS 1.2 / 1.3 sessions where only one side offloads, so every record crosses
// between ipsec-mb and wolfSSL software.
#include <wolfssl/options.h>

#include <wolfssl/error-ssl.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include "tls_crypto_offload.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace ocm::ctrl {
namespace {

constexpr const char* kDataDir = OCM_TEST_DATA_DIR;

struct CtxFree {
  void operator()(WOLFSSL_CTX* ctx) const { wolfSSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(WOLFSSL* ssl) const { wolfSSL_free(ssl); }
};
using CtxPtr = std::unique_ptr<WOLFSSL_CTX, CtxFree>;
using SslPtr = std::unique_ptr<WOLFSSL, SslFree>;

std::vector<uint8_t> pattern(size_t len, uint8_t seed) {
  std::vector<uint8_t> v(len);
  for (size_t i = 0; i < len; ++i) {
    v[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  }
  return v;
}

// Registers the device (enable needs a ctx for that) so the wolfCrypt-level tests can hand
// kTlsOffloadDevId to wc_AesInit directly.
void register_device() {
  CtxPtr ctx(wolfSSL_CTX_new(wolfTLSv1_3_client_method()));
  ASSERT_NE(ctx, nullptr);
  auto st = enable_tls_crypto_offload(ctx.get());
  ASSERT_TRUE(st) << st.error().message;
}

// One Aes initialised for the callback and one for plain software, same key.
class GcmPair {
 public:
  GcmPair() {
    wc_AesInit(&offloaded_, nullptr, kTlsOffloadDevId);
    wc_AesInit(&software_, nullptr, INVALID_DEVID);
  }
  ~GcmPair() {
    wc_AesFree(&offloaded_);
    wc_AesFree(&software_);
  }
  GcmPair(const GcmPair&) = delete;
  GcmPair& operator=(const GcmPair&) = delete;

  void set_key(const std::vector<uint8_t>& key) {
    ASSERT_EQ(wc_AesGcmSetKey(&offloaded_, key.data(), static_cast<word32>(key.size())), 0);
    ASSERT_EQ(wc_AesGcmSetKey(&software_, key.data(), static_cast<word32>(key.size())), 0);
  }

  // Seals with both, expects identical ciphertext and tag, then opens the software output
  // with the offloaded Aes.
  void check_round_trip(size_t len, size_t aad_len, size_t iv_len = 12) {
    auto iv = pattern(iv_len, 0x11);
    auto aad = pattern(aad_len, 0x22);
    auto plain = pattern(len, 0x33);
    std::vector<uint8_t> c_off(len);
    std::vector<uint8_t> c_sw(len);
    std::array<uint8_t, 16> t_off{};
    std::array<uint8_t, 16> t_sw{};
    const uint8_t* aad_ptr = aad_len != 0 ? aad.data() : nullptr;
    const uint8_t* in = len != 0 ? plain.data() : nullptr;
    ASSERT_EQ(wc_AesGcmEncrypt(&offloaded_, len != 0 ? c_off.data() : nullptr, in, static_cast<word32>(len), iv.data(),
                               static_cast<word32>(iv_len), t_off.data(), 16, aad_ptr, static_cast<word32>(aad_len)),
              0);
    ASSERT_EQ(wc_AesGcmEncrypt(&software_, len != 0 ? c_sw.data() : nullptr, in, static_cast<word32>(len), iv.data(),
                               static_cast<word32>(iv_len), t_sw.data(), 16, aad_ptr, static_cast<word32>(aad_len)),
              0);
    EXPECT_EQ(c_off, c_sw) << "len " << len << " aad " << aad_len;
    EXPECT_EQ(t_off, t_sw) << "len " << len << " aad " << aad_len;
    std::vector<uint8_t> back(len);
    ASSERT_EQ(wc_AesGcmDecrypt(&offloaded_, len != 0 ? back.data() : nullptr, len != 0 ? c_sw.data() : nullptr,
                               static_cast<word32>(len), iv.data(), static_cast<word32>(iv_len), t_sw.data(), 16,
                               aad_ptr, static_cast<word32>(aad_len)),
              0);
    EXPECT_EQ(back, plain);
  }

  Aes& offloaded() { return offloaded_; }

 private:
  Aes offloaded_{};
  Aes software_{};
};

class GcmCallbackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { register_device(); }
};

TEST_F(GcmCallbackTest, EnableRejectsNullCtx) {
  EXPECT_FALSE(enable_tls_crypto_offload(nullptr));
}

TEST_F(GcmCallbackTest, MatchesWolfSslSoftwareForAllShapes) {
  for (size_t key_len : {16U, 32U}) {
    GcmPair pair;
    pair.set_key(pattern(key_len, static_cast<uint8_t>(key_len)));
    auto before = tls_crypto_offload_stats();
    int rounds = 0;
    for (size_t len : {0U, 1U, 15U, 16U, 17U, 64U, 255U, 1400U, 16384U, 16401U}) {
      for (size_t aad_len : {0U, 13U, 5U}) {
        pair.check_round_trip(len, aad_len);
        ++rounds;
      }
    }
    auto after = tls_crypto_offload_stats();
    EXPECT_EQ(after.gcm_encrypt - before.gcm_encrypt, static_cast<uint64_t>(rounds)) << "key " << key_len;
    EXPECT_EQ(after.gcm_decrypt - before.gcm_decrypt, static_cast<uint64_t>(rounds)) << "key " << key_len;
    // One expansion for the whole run: the key is cached per Aes.
    EXPECT_EQ(after.key_expansions - before.key_expansions, 1U) << "key " << key_len;
  }
}

TEST_F(GcmCallbackTest, RekeyedAesIsDetected) {
  GcmPair pair;
  auto before = tls_crypto_offload_stats();
  pair.set_key(pattern(16, 1));
  pair.check_round_trip(100, 13);
  // Same Aes object, same length, different key: the cache must not serve the old schedule.
  pair.set_key(pattern(16, 2));
  pair.check_round_trip(100, 13);
  // Length changes too (AES-128 -> AES-256 on the same object).
  pair.set_key(pattern(32, 3));
  pair.check_round_trip(100, 13);
  auto after = tls_crypto_offload_stats();
  EXPECT_EQ(after.key_expansions - before.key_expansions, 3U);
  EXPECT_EQ(after.gcm_encrypt - before.gcm_encrypt, 3U);
}

TEST_F(GcmCallbackTest, TamperedTagIsAuthErrorAndOutputIsWiped) {
  GcmPair pair;
  pair.set_key(pattern(32, 9));
  auto iv = pattern(12, 1);
  auto aad = pattern(13, 2);
  auto plain = pattern(300, 3);
  std::vector<uint8_t> cipher(plain.size());
  std::array<uint8_t, 16> tag{};
  ASSERT_EQ(wc_AesGcmEncrypt(&pair.offloaded(), cipher.data(), plain.data(), 300, iv.data(), 12, tag.data(), 16,
                             aad.data(), 13),
            0);
  auto before = tls_crypto_offload_stats();
  std::vector<uint8_t> out(plain.size(), 0xEE);
  tag[5] ^= 0x01;
  EXPECT_EQ(wc_AesGcmDecrypt(&pair.offloaded(), out.data(), cipher.data(), 300, iv.data(), 12, tag.data(), 16,
                             aad.data(), 13),
            AES_GCM_AUTH_E);
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; }));
  tag[5] ^= 0x01;
  aad[0] ^= 0x80;  // AAD (the record header) is authenticated too
  EXPECT_EQ(wc_AesGcmDecrypt(&pair.offloaded(), out.data(), cipher.data(), 300, iv.data(), 12, tag.data(), 16,
                             aad.data(), 13),
            AES_GCM_AUTH_E);
  auto after = tls_crypto_offload_stats();
  EXPECT_EQ(after.auth_failures - before.auth_failures, 2U);
}

TEST_F(GcmCallbackTest, UnsupportedShapesFallBackToSoftware) {
  auto before = tls_crypto_offload_stats();
  {
    GcmPair pair;
    pair.set_key(pattern(24, 4));  // AES-192: no TLS suite, no lib/crypto path
    pair.check_round_trip(100, 13);
  }
  {
    GcmPair pair;
    pair.set_key(pattern(16, 5));
    pair.check_round_trip(100, 13, 16);  // GCM with a 16-byte IV (GHASHed J0): not TLS
  }
  auto after = tls_crypto_offload_stats();
  EXPECT_EQ(after.gcm_encrypt, before.gcm_encrypt);
  EXPECT_EQ(after.gcm_decrypt, before.gcm_decrypt);
  EXPECT_GE(after.fallback - before.fallback, 4U);  // 2 seals + 2 opens, plus software's own calls
}

TEST_F(GcmCallbackTest, CacheIsBoundedAndEvictsLeastRecentlyUsed) {
  constexpr size_t kCount = kTlsOffloadMaxCachedKeys + 8;
  // Aes is large (GCM tables); keep the objects on the heap and alive so that every
  // address is distinct.
  std::vector<std::unique_ptr<Aes>> objects;
  objects.reserve(kCount);
  auto before = tls_crypto_offload_stats();
  auto key = pattern(16, 7);
  auto iv = pattern(12, 8);
  std::array<uint8_t, 32> buf{};
  std::array<uint8_t, 16> tag{};
  for (size_t i = 0; i < kCount; ++i) {
    objects.push_back(std::make_unique<Aes>());
    Aes* aes = objects.back().get();
    ASSERT_EQ(wc_AesInit(aes, nullptr, kTlsOffloadDevId), 0);
    key[0] = static_cast<uint8_t>(i);
    ASSERT_EQ(wc_AesGcmSetKey(aes, key.data(), 16), 0);
    ASSERT_EQ(wc_AesGcmEncrypt(aes, buf.data(), buf.data(), 32, iv.data(), 12, tag.data(), 16, nullptr, 0), 0);
  }
  auto after = tls_crypto_offload_stats();
  EXPECT_EQ(tls_crypto_offload_cached_keys(), kTlsOffloadMaxCachedKeys);
  EXPECT_GE(after.cache_evictions - before.cache_evictions, 8U);
  EXPECT_EQ(after.key_expansions - before.key_expansions, kCount);
  // The newest key is still cached: using it again expands nothing.
  ASSERT_EQ(
      wc_AesGcmEncrypt(objects.back().get(), buf.data(), buf.data(), 32, iv.data(), 12, tag.data(), 16, nullptr, 0), 0);
  EXPECT_EQ(tls_crypto_offload_stats().key_expansions, after.key_expansions);
  // The oldest was evicted: it is expanded again, and the result is still right.
  ASSERT_EQ(
      wc_AesGcmEncrypt(objects.front().get(), buf.data(), buf.data(), 32, iv.data(), 12, tag.data(), 16, nullptr, 0),
      0);
  EXPECT_EQ(tls_crypto_offload_stats().key_expansions, after.key_expansions + 1);
  for (auto& aes : objects) {
    wc_AesFree(aes.get());
  }
}

// ---------------------------------------------------------------------------------------
// In-memory TLS sessions.

// Bytes in flight in one direction; the test can look at and corrupt them.
struct Pipe {
  std::vector<uint8_t> bytes;
};

int pipe_recv(WOLFSSL* /*ssl*/, char* buf, int sz, void* ctx) {
  auto* p = static_cast<Pipe*>(ctx);
  if (p->bytes.empty()) {
    return WOLFSSL_CBIO_ERR_WANT_READ;
  }
  size_t n = std::min(p->bytes.size(), static_cast<size_t>(sz));
  std::memcpy(buf, p->bytes.data(), n);
  p->bytes.erase(p->bytes.begin(), p->bytes.begin() + static_cast<std::ptrdiff_t>(n));
  return static_cast<int>(n);
}

int pipe_send(WOLFSSL* /*ssl*/, char* buf, int sz, void* ctx) {
  auto* p = static_cast<Pipe*>(ctx);
  p->bytes.insert(p->bytes.end(), buf, buf + sz);
  return sz;
}

struct SuiteCase {
  const char* label;
  const char* cipher;
  int version;          // 12 or 13
  bool offload_server;  // otherwise the client offloads
};

// gtest prints parameters on failure; without this it dumps the struct's bytes.
void PrintTo(const SuiteCase& c, std::ostream* os) {  // NOLINT(readability-identifier-naming): gtest's name
  *os << c.cipher << (c.offload_server ? " (server offloads)" : " (client offloads)");
}

// What wolfSSL reports for a record that fails authentication. It differs by version in
// wolfSSL's own software path (TamperedRecordFromOffloadedSideRejectedBySoftware), and the
// offloaded path must report exactly the same.
int expected_auth_error(int version) {
  if (version == 12) {
    return VERIFY_MAC_ERROR;
  }
  return AES_GCM_AUTH_E;
}

std::string case_name(const ::testing::TestParamInfo<SuiteCase>& info) {
  return std::string(info.param.label) + (info.param.offload_server ? "_ServerOffloads" : "_ClientOffloads");
}

CtxPtr make_ctx(bool server, const SuiteCase& c, bool offload) {
  WOLFSSL_METHOD* method = nullptr;
  if (server) {
    method = c.version == 12 ? wolfTLSv1_2_server_method() : wolfTLSv1_3_server_method();
  } else {
    method = c.version == 12 ? wolfTLSv1_2_client_method() : wolfTLSv1_3_client_method();
  }
  CtxPtr ctx(wolfSSL_CTX_new(method));
  if (ctx == nullptr) {
    return ctx;
  }
  if (server) {
    std::string crt = std::string(kDataDir) + "/test-server.crt";
    std::string key = std::string(kDataDir) + "/test-server.key";
    EXPECT_EQ(wolfSSL_CTX_use_certificate_chain_file(ctx.get(), crt.c_str()), WOLFSSL_SUCCESS);
    EXPECT_EQ(wolfSSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), WOLFSSL_FILETYPE_PEM), WOLFSSL_SUCCESS);
  } else {
    wolfSSL_CTX_set_verify(ctx.get(), WOLFSSL_VERIFY_NONE, nullptr);
  }
  EXPECT_EQ(wolfSSL_CTX_set_cipher_list(ctx.get(), c.cipher), WOLFSSL_SUCCESS) << c.cipher;
  wolfSSL_CTX_SetIORecv(ctx.get(), pipe_recv);
  wolfSSL_CTX_SetIOSend(ctx.get(), pipe_send);
  if (offload) {
    auto st = enable_tls_crypto_offload(ctx.get());
    EXPECT_TRUE(st) << st.error().message;
  }
  return ctx;
}

class TlsOffloadTest : public ::testing::TestWithParam<SuiteCase> {
 protected:
  void SetUp() override {
    const SuiteCase& c = GetParam();
    server_ctx_ = make_ctx(true, c, c.offload_server);
    client_ctx_ = make_ctx(false, c, !c.offload_server);
    ASSERT_NE(server_ctx_, nullptr);
    ASSERT_NE(client_ctx_, nullptr);
    server_.reset(wolfSSL_new(server_ctx_.get()));
    client_.reset(wolfSSL_new(client_ctx_.get()));
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(client_, nullptr);
    wolfSSL_SetIOReadCtx(server_.get(), &to_server_);
    wolfSSL_SetIOWriteCtx(server_.get(), &to_client_);
    wolfSSL_SetIOReadCtx(client_.get(), &to_client_);
    wolfSSL_SetIOWriteCtx(client_.get(), &to_server_);
  }

  bool handshake() {
    bool client_done = false;
    bool server_done = false;
    // A full handshake is 2-3 flights each way; 20 rounds bounds a stuck pair.
    for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
      if (!client_done) {
        int rc = wolfSSL_connect(client_.get());
        client_done = rc == WOLFSSL_SUCCESS;
        if (!client_done && !would_block(client_.get(), rc)) {
          ADD_FAILURE() << "client handshake error " << wolfSSL_get_error(client_.get(), rc);
          return false;
        }
      }
      if (!server_done) {
        int rc = wolfSSL_accept(server_.get());
        server_done = rc == WOLFSSL_SUCCESS;
        if (!server_done && !would_block(server_.get(), rc)) {
          ADD_FAILURE() << "server handshake error " << wolfSSL_get_error(server_.get(), rc);
          return false;
        }
      }
    }
    return client_done && server_done;
  }

  static bool would_block(WOLFSSL* ssl, int rc) {
    int err = wolfSSL_get_error(ssl, rc);
    return err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE;
  }

  // Writes `data` as one record from `from` and reads it back completely at `to`.
  static void transfer(WOLFSSL* from, WOLFSSL* to, const std::vector<uint8_t>& data) {
    ASSERT_EQ(wolfSSL_write(from, data.data(), static_cast<int>(data.size())), static_cast<int>(data.size()));
    std::vector<uint8_t> got;
    std::vector<uint8_t> buf(17000);
    // One record per write here, but wolfSSL may hand it back in pieces; bound the loop.
    for (int i = 0; i < 8 && got.size() < data.size(); ++i) {
      int n = wolfSSL_read(to, buf.data(), static_cast<int>(buf.size()));
      ASSERT_GT(n, 0) << "read error " << wolfSSL_get_error(to, n);
      got.insert(got.end(), buf.begin(), buf.begin() + n);
    }
    EXPECT_EQ(got, data) << "size " << data.size();
  }

  WOLFSSL* offloaded() { return GetParam().offload_server ? server_.get() : client_.get(); }
  WOLFSSL* software() { return GetParam().offload_server ? client_.get() : server_.get(); }
  Pipe& to_offloaded() { return GetParam().offload_server ? to_server_ : to_client_; }

  static constexpr std::array<size_t, 7> kSizes{1, 64, 512, 1400, 4096, 16000, 16384};

  CtxPtr server_ctx_;
  CtxPtr client_ctx_;
  SslPtr server_;
  SslPtr client_;
  Pipe to_server_;
  Pipe to_client_;
};

TEST_P(TlsOffloadTest, RecordsBothWaysAndTamperedRecordRejected) {
  auto before = tls_crypto_offload_stats();
  ASSERT_TRUE(handshake());
  EXPECT_STREQ(wolfSSL_get_cipher_name(client_.get()), GetParam().cipher);
  EXPECT_STREQ(wolfSSL_get_version(client_.get()), GetParam().version == 12 ? "TLSv1.2" : "TLSv1.3");

  auto after_handshake = tls_crypto_offload_stats();
  uint8_t seed = 0;
  for (size_t size : kSizes) {
    transfer(client_.get(), server_.get(), pattern(size, ++seed));
    transfer(server_.get(), client_.get(), pattern(size, ++seed));
  }
  auto after_data = tls_crypto_offload_stats();
  // Exactly one side offloads: one seal and one open per size went through ipsec-mb
  // (TLS 1.3 may add session tickets read by the client, hence >=).
  EXPECT_GE(after_data.gcm_encrypt - after_handshake.gcm_encrypt, kSizes.size());
  EXPECT_GE(after_data.gcm_decrypt - after_handshake.gcm_decrypt, kSizes.size());
  EXPECT_LE(after_data.gcm_encrypt - after_handshake.gcm_encrypt, kSizes.size() + 2);
  EXPECT_EQ(after_data.auth_failures, before.auth_failures);
  // The handshake itself (hashes, ECDHE, signatures, RNG) stayed in software.
  EXPECT_GT(after_handshake.fallback, before.fallback);

  // Corrupt one byte of the tag of the next record to the offloading side: ipsec-mb must
  // reject it and wolfSSL must turn that into a fatal bad_record_mac.
  auto msg = pattern(777, 0x5a);
  ASSERT_EQ(wolfSSL_write(software(), msg.data(), static_cast<int>(msg.size())), static_cast<int>(msg.size()));
  ASSERT_FALSE(to_offloaded().bytes.empty());
  to_offloaded().bytes.back() ^= 0x40;
  std::vector<uint8_t> buf(2048);
  int n = wolfSSL_read(offloaded(), buf.data(), static_cast<int>(buf.size()));
  EXPECT_LE(n, 0);
  EXPECT_EQ(wolfSSL_get_error(offloaded(), n), expected_auth_error(GetParam().version));
  auto after_tamper = tls_crypto_offload_stats();
  EXPECT_EQ(after_tamper.auth_failures - after_data.auth_failures, 1U);
}

TEST_P(TlsOffloadTest, TamperedRecordFromOffloadedSideRejectedBySoftware) {
  ASSERT_TRUE(handshake());
  auto msg = pattern(1400, 0x77);
  ASSERT_EQ(wolfSSL_write(offloaded(), msg.data(), static_cast<int>(msg.size())), static_cast<int>(msg.size()));
  Pipe& to_software = GetParam().offload_server ? to_client_ : to_server_;
  ASSERT_GT(to_software.bytes.size(), 100U);
  to_software.bytes[to_software.bytes.size() - 100] ^= 0x01;  // a ciphertext byte
  std::vector<uint8_t> buf(2048);
  int n = wolfSSL_read(software(), buf.data(), static_cast<int>(buf.size()));
  EXPECT_LE(n, 0);
  EXPECT_EQ(wolfSSL_get_error(software(), n), expected_auth_error(GetParam().version));
}

// KeyUpdate exists in TLS 1.3 only.
class TlsOffloadKeyUpdateTest : public TlsOffloadTest {};

TEST_P(TlsOffloadKeyUpdateTest, KeyUpdateRekeysTheCachedKeys) {
  ASSERT_TRUE(handshake());
  transfer(client_.get(), server_.get(), pattern(100, 1));
  transfer(server_.get(), client_.get(), pattern(100, 2));
  auto before = tls_crypto_offload_stats();
  // The offloading side updates its sending key and asks the peer to update too; after a
  // round trip both directions run on new keys through the same (or reused) Aes objects.
  ASSERT_EQ(wolfSSL_update_keys(offloaded()), WOLFSSL_SUCCESS);
  for (int i = 0; i < 3; ++i) {
    transfer(offloaded(), software(), pattern(1400, static_cast<uint8_t>(10 + i)));
    transfer(software(), offloaded(), pattern(1400, static_cast<uint8_t>(20 + i)));
  }
  auto after = tls_crypto_offload_stats();
  // New send key and new receive key, each expanded once.
  EXPECT_GE(after.key_expansions - before.key_expansions, 2U);
  EXPECT_EQ(after.auth_failures, before.auth_failures);
}

constexpr SuiteCase kTls12Cases[] = {
    {"Tls12Aes128", "ECDHE-ECDSA-AES128-GCM-SHA256", 12, true},
    {"Tls12Aes128", "ECDHE-ECDSA-AES128-GCM-SHA256", 12, false},
    {"Tls12Aes256", "ECDHE-ECDSA-AES256-GCM-SHA384", 12, true},
    {"Tls12Aes256", "ECDHE-ECDSA-AES256-GCM-SHA384", 12, false},
};
constexpr SuiteCase kTls13Cases[] = {
    {"Tls13Aes128", "TLS13-AES128-GCM-SHA256", 13, true},
    {"Tls13Aes128", "TLS13-AES128-GCM-SHA256", 13, false},
    {"Tls13Aes256", "TLS13-AES256-GCM-SHA384", 13, true},
    {"Tls13Aes256", "TLS13-AES256-GCM-SHA384", 13, false},
};

INSTANTIATE_TEST_SUITE_P(Tls12, TlsOffloadTest, ::testing::ValuesIn(kTls12Cases), case_name);
INSTANTIATE_TEST_SUITE_P(Tls13, TlsOffloadTest, ::testing::ValuesIn(kTls13Cases), case_name);
INSTANTIATE_TEST_SUITE_P(Tls13, TlsOffloadKeyUpdateTest, ::testing::ValuesIn(kTls13Cases), case_name);

// ChaCha20-Poly1305 cannot be offloaded in wolfSSL 5.5.4 (no ChaCha member in wc_CryptoInfo);
// make sure a ChaCha session still works with the device set and offloads nothing.
TEST(TlsOffloadChaChaTest, StaysInSoftwareAndWorks) {
  SuiteCase c{"Tls13ChaCha", "TLS13-CHACHA20-POLY1305-SHA256", 13, true};
  CtxPtr server_ctx = make_ctx(true, c, true);
  CtxPtr client_ctx = make_ctx(false, c, false);
  ASSERT_NE(server_ctx, nullptr);
  ASSERT_NE(client_ctx, nullptr);
  SslPtr server(wolfSSL_new(server_ctx.get()));
  SslPtr client(wolfSSL_new(client_ctx.get()));
  Pipe to_server;
  Pipe to_client;
  wolfSSL_SetIOReadCtx(server.get(), &to_server);
  wolfSSL_SetIOWriteCtx(server.get(), &to_client);
  wolfSSL_SetIOReadCtx(client.get(), &to_client);
  wolfSSL_SetIOWriteCtx(client.get(), &to_server);
  auto before = tls_crypto_offload_stats();
  bool done = false;
  for (int round = 0; round < 20 && !done; ++round) {
    int rc_c = wolfSSL_connect(client.get());
    int rc_s = wolfSSL_accept(server.get());
    done = rc_c == WOLFSSL_SUCCESS && rc_s == WOLFSSL_SUCCESS;
  }
  ASSERT_TRUE(done);
  EXPECT_STREQ(wolfSSL_get_cipher_name(server.get()), c.cipher);
  auto msg = pattern(1400, 3);
  ASSERT_EQ(wolfSSL_write(client.get(), msg.data(), 1400), 1400);
  std::vector<uint8_t> buf(2048);
  ASSERT_EQ(wolfSSL_read(server.get(), buf.data(), 2048), 1400);
  EXPECT_TRUE(std::equal(msg.begin(), msg.end(), buf.begin()));
  auto after = tls_crypto_offload_stats();
  EXPECT_EQ(after.offloaded(), before.offloaded());
}

}  // namespace
}  // namespace ocm::ctrl
