// DTLS 1.2 record sealing/opening: layout, hostile input, and conformance with wolfSSL's own
// record layer after a real in-memory DTLS 1.2 handshake, for every suite we can negotiate.

// wolfSSL first: its headers must see options.h before anything else.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfio.h>

#include "ocm/crypto/dtls_record.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "ocm/base/bytes.hpp"
#include "ocm/crypto/replay_window.hpp"

namespace ocm::crypto {
namespace {

using Bytes = std::vector<uint8_t>;

std::unique_ptr<CryptoEngine> make_engine() {
  auto engine = CryptoEngine::create();
  if (!engine) {
    ADD_FAILURE() << engine.error().message;
    return nullptr;
  }
  return std::move(engine).value();
}

AeadKey make_key(CryptoEngine& engine, AeadAlgo algo) {
  const size_t key_len = algo == AeadAlgo::kAes128Gcm ? 16 : 32;
  const size_t iv_len = algo == AeadAlgo::kChaCha20Poly1305 ? 12 : 4;
  Bytes key(key_len);
  Bytes iv(iv_len);
  for (size_t i = 0; i < key.size(); ++i) {
    key[i] = static_cast<uint8_t>(0x40 + i);
  }
  for (size_t i = 0; i < iv.size(); ++i) {
    iv[i] = static_cast<uint8_t>(0xa0 + i);
  }
  auto result = AeadKey::create(engine, algo, key, iv);
  EXPECT_TRUE(result) << (result ? "" : result.error().message);
  return result ? *result : AeadKey{};
}

// Builds a sealed record holding `plain` into a vector of exactly the record's size, so that any
// read past the end is caught by ASan in sanitizer builds.
Bytes seal_record(CryptoEngine& engine, const AeadKey& key, uint16_t epoch, uint64_t seq, const Bytes& plain) {
  Bytes buf(plain.size() + dtls_overhead(key.algo()));
  std::copy(plain.begin(), plain.end(), buf.begin() + static_cast<std::ptrdiff_t>(dtls_plaintext_offset(key.algo())));
  const size_t n = dtls_seal_in_place(engine, key, epoch, seq, buf.data(), plain.size());
  EXPECT_EQ(n, buf.size());
  buf.resize(n);
  return buf;
}

struct Opened {
  bool ok = false;
  uint64_t seq = 0;
  Bytes plain;
};

Opened open_record(CryptoEngine& engine, const AeadKey& key, uint16_t epoch, Bytes record) {
  Opened out;
  uint8_t* plain = nullptr;
  size_t plain_len = 0;
  out.ok = dtls_open_in_place(engine, key, epoch, record, out.seq, plain, plain_len);
  if (out.ok) {
    EXPECT_GE(plain, record.data());
    EXPECT_LE(plain + plain_len, record.data() + record.size());
    out.plain.assign(plain, plain + plain_len);
  }
  return out;
}

const AeadAlgo kAllAlgos[] = {AeadAlgo::kAes128Gcm, AeadAlgo::kAes256Gcm, AeadAlgo::kChaCha20Poly1305};

std::string algo_name(AeadAlgo algo) {
  switch (algo) {
    case AeadAlgo::kAes128Gcm:
      return "Aes128Gcm";
    case AeadAlgo::kAes256Gcm:
      return "Aes256Gcm";
    case AeadAlgo::kChaCha20Poly1305:
      return "ChaCha20Poly1305";
  }
  return "Unknown";
}

// ---------------------------------------------------------------------------------------------
// Sizes and layout.

TEST(DtlsRecordTest, OverheadAndOffsets) {
  EXPECT_EQ(dtls_overhead(AeadAlgo::kAes128Gcm), 37u);
  EXPECT_EQ(dtls_overhead(AeadAlgo::kAes256Gcm), 37u);
  EXPECT_EQ(dtls_overhead(AeadAlgo::kChaCha20Poly1305), 29u);
  EXPECT_EQ(dtls_plaintext_offset(AeadAlgo::kAes128Gcm), 21u);
  EXPECT_EQ(dtls_plaintext_offset(AeadAlgo::kAes256Gcm), 21u);
  EXPECT_EQ(dtls_plaintext_offset(AeadAlgo::kChaCha20Poly1305), 13u);
}

class DtlsLayoutTest : public ::testing::TestWithParam<AeadAlgo> {};

// Rebuilds the record by hand from the layout in feasibility.md §5 with the raw AEAD and compares
// it byte for byte with dtls_seal_in_place.
TEST_P(DtlsLayoutTest, MatchesHandBuiltRecord) {
  const AeadAlgo algo = GetParam();
  auto engine = make_engine();
  ASSERT_NE(engine, nullptr);
  const AeadKey key = make_key(*engine, algo);
  const Bytes plain = {'h', 'e', 'l', 'l', 'o', ' ', 'd', 't', 'l', 's'};
  const uint16_t epoch = 0x0102;
  const uint64_t seq = 0x030405060708;
  const Bytes record = seal_record(*engine, key, epoch, seq, plain);

  const bool gcm = algo != AeadAlgo::kChaCha20Poly1305;
  const Bytes epoch_seq = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  const size_t fragment = (gcm ? 8 : 0) + plain.size() + kTagSize;
  Bytes want = {0x17, 0xfe, 0xfd};
  want.insert(want.end(), epoch_seq.begin(), epoch_seq.end());
  want.push_back(static_cast<uint8_t>(fragment >> 8));
  want.push_back(static_cast<uint8_t>(fragment));
  uint8_t nonce[12];
  const auto iv = key.write_iv();
  if (gcm) {
    want.insert(want.end(), epoch_seq.begin(), epoch_seq.end());  // explicit nonce
    std::memcpy(nonce, iv.data(), 4);
    std::memcpy(nonce + 4, epoch_seq.data(), 8);
  } else {
    std::memcpy(nonce, iv.data(), 12);
    for (size_t i = 0; i < 8; ++i) {
      nonce[4 + i] ^= epoch_seq[i];
    }
  }
  Bytes aad = epoch_seq;
  aad.insert(aad.end(), {0x17, 0xfe, 0xfd, 0x00, static_cast<uint8_t>(plain.size())});
  Bytes cipher(plain.size());
  uint8_t tag[kTagSize];
  key.seal(*engine, nonce, aad, plain.data(), plain.size(), cipher.data(), tag);
  want.insert(want.end(), cipher.begin(), cipher.end());
  want.insert(want.end(), tag, tag + kTagSize);

  EXPECT_EQ(hex_encode(record), hex_encode(want));

  DtlsHeader header;
  ASSERT_TRUE(parse_dtls_header(record, header));
  EXPECT_EQ(header.content_type, kContentApplicationData);
  EXPECT_EQ(header.version, kDtls12Version);
  EXPECT_EQ(header.epoch, epoch);
  EXPECT_EQ(header.seq, seq);
  EXPECT_EQ(header.length, fragment);
}

TEST_P(DtlsLayoutTest, RoundTripsManySizes) {
  const AeadAlgo algo = GetParam();
  auto engine = make_engine();
  ASSERT_NE(engine, nullptr);
  const AeadKey key = make_key(*engine, algo);
  std::mt19937 rng(7);
  for (size_t len : {size_t{0}, size_t{1}, size_t{16}, size_t{100}, size_t{1400}, kDtlsMaxPlaintext}) {
    Bytes plain(len);
    for (auto& b : plain) {
      b = static_cast<uint8_t>(rng());
    }
    const uint64_t seq = 1000 + len;
    const Opened got = open_record(*engine, key, 1, seal_record(*engine, key, 1, seq, plain));
    ASSERT_TRUE(got.ok) << "len " << len;
    EXPECT_EQ(got.seq, seq);
    EXPECT_EQ(got.plain, plain) << "len " << len;
  }
}

TEST_P(DtlsLayoutTest, SealRefusesWhatCannotBeSentSafely) {
  const AeadAlgo algo = GetParam();
  auto engine = make_engine();
  ASSERT_NE(engine, nullptr);
  const AeadKey key = make_key(*engine, algo);
  Bytes buf(kDtlsMaxPlaintext + 1 + dtls_overhead(algo), 0x33);
  const Bytes untouched = buf;
  // The sequence number must never wrap: a repeated nonce breaks GCM and ChaCha20-Poly1305.
  EXPECT_EQ(dtls_seal_in_place(*engine, key, 1, kDtlsMaxSeq + 1, buf.data(), 10), 0u);
  EXPECT_EQ(dtls_seal_in_place(*engine, key, 1, 1, buf.data(), kDtlsMaxPlaintext + 1), 0u);
  EXPECT_EQ(dtls_seal_in_place(*engine, AeadKey{}, 1, 1, buf.data(), 10), 0u);
  EXPECT_EQ(buf, untouched);
  // The last usable sequence number still works.
  const Opened got = open_record(*engine, key, 1, seal_record(*engine, key, 1, kDtlsMaxSeq, Bytes(5, 1)));
  EXPECT_TRUE(got.ok);
  EXPECT_EQ(got.seq, kDtlsMaxSeq);
}

TEST_P(DtlsLayoutTest, WrongKeyOrEpochFails) {
  const AeadAlgo algo = GetParam();
  auto engine = make_engine();
  ASSERT_NE(engine, nullptr);
  const AeadKey key = make_key(*engine, algo);
  const Bytes record = seal_record(*engine, key, 1, 5, Bytes(40, 9));
  EXPECT_FALSE(open_record(*engine, key, 2, record).ok);
  Bytes other_key(algo == AeadAlgo::kAes128Gcm ? 16 : 32, 0x99);
  auto other = AeadKey::create(*engine, algo, other_key, key.write_iv());
  ASSERT_TRUE(other);
  EXPECT_FALSE(open_record(*engine, *other, 1, record).ok);
  EXPECT_FALSE(open_record(*engine, AeadKey{}, 1, record).ok);
}

// RFC 5288 lets the sender pick the explicit nonce; wolfSSL picks a random one. A record whose
// explicit nonce differs from epoch|seq must open as long as the tag matches.
TEST(DtlsRecordTest, GcmAcceptsAnyExplicitNonce) {
  auto engine = make_engine();
  ASSERT_NE(engine, nullptr);
  for (AeadAlgo algo : {AeadAlgo::kAes128Gcm, AeadAlgo::kAes256Gcm}) {
    const AeadKey key = make_key(*engine, algo);
    const Bytes plain = {1, 2, 3, 4, 5};
    const Bytes explicit_nonce = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04};
    Bytes record = {0x17, 0xfe, 0xfd, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 8 + 5 + 16};
    record.insert(record.end(), explicit_nonce.begin(), explicit_nonce.end());
    uint8_t nonce[12];
    std::memcpy(nonce, key.write_iv().data(), 4);
    std::memcpy(nonce + 4, explicit_nonce.data(), 8);
    const Bytes aad = {0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x17, 0xfe, 0xfd, 0x00, 0x05};
    Bytes cipher(plain.size());
    uint8_t tag[kTagSize];
    key.seal(*engine, nonce, aad, plain.data(), plain.size(), cipher.data(), tag);
    record.insert(record.end(), cipher.begin(), cipher.end());
    record.insert(record.end(), tag, tag + kTagSize);
    const Opened got = open_record(*engine, key, 1, record);
    ASSERT_TRUE(got.ok) << algo_name(algo);
    EXPECT_EQ(got.seq, 42u);
    EXPECT_EQ(got.plain, plain);
  }
}

INSTANTIATE_TEST_SUITE_P(Algos, DtlsLayoutTest, ::testing::ValuesIn(kAllAlgos),
                         [](const ::testing::TestParamInfo<AeadAlgo>& p) { return algo_name(p.param); });

// ---------------------------------------------------------------------------------------------
// parse_dtls_header.

struct HeaderCase {
  const char* name;
  Bytes datagram;
  bool ok;
  uint16_t length;
};

const HeaderCase kHeaderCases[] = {
    {"Empty", {}, false, 0},
    {"TwelveBytes", {0x17, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 2, 0}, false, 0},
    {"HeaderOnlyEmptyFragment", {0x17, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0}, true, 0},
    {"LengthPastDatagram", {0x17, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 2, 0, 1}, false, 0},
    {"LengthExact", {0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0xaa, 0xbb}, true, 2},
    {"TrailingRecordAllowed", {0x15, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa, 0xbb, 0xcc}, true, 1},
    {"LengthFfffShortDatagram", {0x17, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 2, 0xff, 0xff, 0}, false, 0},
};

class DtlsHeaderTest : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(DtlsHeaderTest, Parses) {
  const HeaderCase& c = GetParam();
  DtlsHeader h;
  ASSERT_EQ(parse_dtls_header(c.datagram, h), c.ok);
  if (c.ok) {
    EXPECT_EQ(h.content_type, c.datagram[0]);
    EXPECT_EQ(h.version, 0xfefd);
    EXPECT_EQ(h.length, c.length);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, DtlsHeaderTest, ::testing::ValuesIn(kHeaderCases),
                         [](const ::testing::TestParamInfo<HeaderCase>& p) { return std::string(p.param.name); });

TEST(DtlsHeaderTest, ReadsEpochAndFortyEightBitSeq) {
  const Bytes d = {0x17, 0xfe, 0xfd, 0xab, 0xcd, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x00, 0x00};
  DtlsHeader h;
  ASSERT_TRUE(parse_dtls_header(d, h));
  EXPECT_EQ(h.epoch, 0xabcd);
  EXPECT_EQ(h.seq, 0xffeeddccbbaaull);
}

// ---------------------------------------------------------------------------------------------
// Hostile records: each mutation of a good record must be rejected without touching memory
// outside the record (run the sanitize build to prove the second half).

struct Mutation {
  const char* name;
  std::function<void(Bytes&)> apply;
};

void set_length(Bytes& r, size_t len) {
  r[11] = static_cast<uint8_t>(len >> 8);
  r[12] = static_cast<uint8_t>(len);
}

const std::vector<Mutation>& mutations() {
  static const std::vector<Mutation> kMutations = {
      {"Empty", [](Bytes& r) { r.clear(); }},
      {"TwelveBytes", [](Bytes& r) { r.resize(12); }},
      {"HeaderOnly",
       [](Bytes& r) {
         r.resize(13);
         set_length(r, 0);
       }},
      {"WrongType", [](Bytes& r) { r[0] = kContentHandshake; }},
      {"WrongVersion", [](Bytes& r) { r[2] = 0xff; }},
      {"WrongEpoch", [](Bytes& r) { r[4] ^= 0x01; }},
      {"LengthTooLong", [](Bytes& r) { set_length(r, r.size() - 13 + 1); }},
      {"LengthTooShort", [](Bytes& r) { set_length(r, r.size() - 13 - 1); }},
      {"LengthMax", [](Bytes& r) { set_length(r, 0xffff); }},
      {"TrailingByte", [](Bytes& r) { r.push_back(0); }},
      {"TrailingByteWithLength",
       [](Bytes& r) {
         r.push_back(0);
         set_length(r, r.size() - 13);
       }},
      {"TruncatedByOne",
       [](Bytes& r) {
         r.pop_back();
         set_length(r, r.size() - 13);
       }},
      {"BodyShorterThanTag",
       [](Bytes& r) {
         r.resize(13 + 15);
         set_length(r, 15);
       }},
      {"BodyShorterThanNonceAndTag",
       [](Bytes& r) {
         r.resize(13 + 23);
         set_length(r, 23);
       }},
      {"FlipSeqInHeader", [](Bytes& r) { r[10] ^= 0x01; }},
      {"FlipExplicitNonceOrFirstCipherByte", [](Bytes& r) { r[13] ^= 0x01; }},
      {"FlipLastCipherByte", [](Bytes& r) { r[r.size() - kTagSize - 1] ^= 0x80; }},
      {"FlipTag", [](Bytes& r) { r[r.size() - 1] ^= 0x01; }},
      {"ZeroTag", [](Bytes& r) { std::memset(r.data() + r.size() - kTagSize, 0, kTagSize); }},
  };
  return kMutations;
}

class DtlsHostileTest : public ::testing::TestWithParam<std::tuple<AeadAlgo, size_t>> {};

TEST_P(DtlsHostileTest, Rejected) {
  const auto [algo, index] = GetParam();
  const Mutation& m = mutations()[index];
  auto engine = make_engine();
  ASSERT_NE(engine, nullptr);
  const AeadKey key = make_key(*engine, algo);
  Bytes record = seal_record(*engine, key, 1, 77, Bytes(64, 0x5c));
  ASSERT_TRUE(open_record(*engine, key, 1, record).ok);  // the unmutated record is good
  m.apply(record);
  // Copy into an exact-size heap buffer so ASan sees any overrun.
  const Opened got = open_record(*engine, key, 1, Bytes(record));
  EXPECT_FALSE(got.ok) << m.name;
}

INSTANTIATE_TEST_SUITE_P(Mutations, DtlsHostileTest,
                         ::testing::Combine(::testing::ValuesIn(kAllAlgos),
                                            ::testing::Range(size_t{0}, mutations().size())),
                         [](const ::testing::TestParamInfo<std::tuple<AeadAlgo, size_t>>& p) {
                           return algo_name(std::get<0>(p.param)) + "_" + mutations()[std::get<1>(p.param)].name;
                         });

TEST(DtlsHostileTest, RandomGarbageNeverOpens) {
  auto engine = make_engine();
  ASSERT_NE(engine, nullptr);
  std::mt19937 rng(99);
  for (AeadAlgo algo : kAllAlgos) {
    const AeadKey key = make_key(*engine, algo);
    for (int i = 0; i < 2000; ++i) {
      Bytes r(rng() % 80);
      for (auto& b : r) {
        b = static_cast<uint8_t>(rng());
      }
      // Half of them get a plausible header so the AEAD itself runs on garbage too.
      if (r.size() >= 13 && (i & 1) != 0) {
        r[0] = 0x17;
        r[1] = 0xfe;
        r[2] = 0xfd;
        r[3] = 0;
        r[4] = 1;
        set_length(r, r.size() - 13);
        if (algo != AeadAlgo::kChaCha20Poly1305 && r.size() >= 21) {
          std::memcpy(r.data() + 13, r.data() + 3, 8);
        }
      }
      EXPECT_FALSE(open_record(*engine, key, 1, r).ok);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Conformance with wolfSSL 5.5.4: a real DTLS 1.2 handshake over in-memory datagram queues,
// then records crossing between wolfSSL's record layer and ours in both directions.

const std::string kDataDir = OCM_TEST_DATA_DIR;
constexpr const char* kPskIdentity = "ocm-test";
constexpr uint8_t kPsk[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                              0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

using DatagramQueue = std::deque<Bytes>;

struct Endpoint {
  DatagramQueue* in = nullptr;
  DatagramQueue* out = nullptr;
};

int queue_recv(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto* ep = static_cast<Endpoint*>(ctx);
  if (ep->in->empty()) {
    return WOLFSSL_CBIO_ERR_WANT_READ;
  }
  Bytes d = std::move(ep->in->front());
  ep->in->pop_front();
  // Datagram semantics: whatever does not fit is lost.
  const size_t n = std::min(d.size(), static_cast<size_t>(sz));
  std::memcpy(buf, d.data(), n);
  return static_cast<int>(n);
}

int queue_send(WOLFSSL*, char* buf, int sz, void* ctx) {
  auto* ep = static_cast<Endpoint*>(ctx);
  ep->out->emplace_back(reinterpret_cast<uint8_t*>(buf), reinterpret_cast<uint8_t*>(buf) + sz);
  return sz;
}

// Custom IO has no peer address for wolfSSL's default cookie; any value that is stable between
// HelloVerifyRequest and the second ClientHello will do for a test.
int fixed_cookie(WOLFSSL*, unsigned char* buf, int sz, void*) {
  std::memset(buf, 0x42, static_cast<size_t>(sz));
  return sz;
}

unsigned int psk_client_cb(WOLFSSL*, const char*, char* identity, unsigned int id_max, unsigned char* key,
                           unsigned int key_max) {
  if (std::strlen(kPskIdentity) + 1 > id_max || sizeof kPsk > key_max) {
    return 0;
  }
  std::strcpy(identity, kPskIdentity);
  std::memcpy(key, kPsk, sizeof kPsk);
  return sizeof kPsk;
}

unsigned int psk_server_cb(WOLFSSL*, const char* identity, unsigned char* key, unsigned int key_max) {
  if (std::strcmp(identity, kPskIdentity) != 0 || sizeof kPsk > key_max) {
    return 0;
  }
  std::memcpy(key, kPsk, sizeof kPsk);
  return sizeof kPsk;
}

struct SuiteCase {
  const char* name;
  const char* cipher_list;
  bool psk;
  AeadAlgo algo;
};

const SuiteCase kSuites[] = {
    {"PskChaCha20Poly1305", "PSK-CHACHA20-POLY1305", true, AeadAlgo::kChaCha20Poly1305},
    {"EcdheEcdsaAes128GcmSha256", "ECDHE-ECDSA-AES128-GCM-SHA256", false, AeadAlgo::kAes128Gcm},
    {"EcdheEcdsaAes256GcmSha384", "ECDHE-ECDSA-AES256-GCM-SHA384", false, AeadAlgo::kAes256Gcm},
};

class WolfSslConformanceTest : public ::testing::TestWithParam<SuiteCase> {
 protected:
  void SetUp() override {
    ASSERT_EQ(wolfSSL_Init(), WOLFSSL_SUCCESS);
    engine_ = make_engine();
    ASSERT_NE(engine_, nullptr);
    const SuiteCase& s = GetParam();

    server_ctx_ = wolfSSL_CTX_new(wolfDTLSv1_2_server_method());
    client_ctx_ = wolfSSL_CTX_new(wolfDTLSv1_2_client_method());
    ASSERT_NE(server_ctx_, nullptr);
    ASSERT_NE(client_ctx_, nullptr);
    for (WOLFSSL_CTX* ctx : {server_ctx_, client_ctx_}) {
      ASSERT_EQ(wolfSSL_CTX_set_cipher_list(ctx, s.cipher_list), WOLFSSL_SUCCESS) << s.cipher_list;
      wolfSSL_CTX_SetIORecv(ctx, queue_recv);
      wolfSSL_CTX_SetIOSend(ctx, queue_send);
    }
    wolfSSL_CTX_SetGenCookie(server_ctx_, fixed_cookie);
    if (s.psk) {
      wolfSSL_CTX_set_psk_server_callback(server_ctx_, psk_server_cb);
      wolfSSL_CTX_set_psk_client_callback(client_ctx_, psk_client_cb);
    } else {
      const std::string crt = kDataDir + "/test-server.crt";
      const std::string key = kDataDir + "/test-server.key";
      ASSERT_EQ(wolfSSL_CTX_use_certificate_file(server_ctx_, crt.c_str(), WOLFSSL_FILETYPE_PEM), WOLFSSL_SUCCESS)
          << crt;
      ASSERT_EQ(wolfSSL_CTX_use_PrivateKey_file(server_ctx_, key.c_str(), WOLFSSL_FILETYPE_PEM), WOLFSSL_SUCCESS)
          << key;
    }
    // The record layer is under test, not certificate validation (lib/ctrl's concern); skipping it
    // also keeps the test independent of the test certificate's validity dates.
    wolfSSL_CTX_set_verify(client_ctx_, WOLFSSL_VERIFY_NONE, nullptr);

    server_ = wolfSSL_new(server_ctx_);
    client_ = wolfSSL_new(client_ctx_);
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(client_, nullptr);
    wolfSSL_SetIOReadCtx(server_, &server_io_);
    wolfSSL_SetIOWriteCtx(server_, &server_io_);
    wolfSSL_SetIOReadCtx(client_, &client_io_);
    wolfSSL_SetIOWriteCtx(client_, &client_io_);
    wolfSSL_dtls_set_using_nonblock(server_, 1);
    wolfSSL_dtls_set_using_nonblock(client_, 1);

    ASSERT_NO_FATAL_FAILURE(handshake());
    ASSERT_NO_FATAL_FAILURE(take_keys());
  }

  void TearDown() override {
    wolfSSL_free(client_);
    wolfSSL_free(server_);
    wolfSSL_CTX_free(client_ctx_);
    wolfSSL_CTX_free(server_ctx_);
    wolfSSL_Cleanup();
  }

  void handshake() {
    bool client_done = false;
    bool server_done = false;
    for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
      if (!client_done) {
        client_done = step(client_, wolfSSL_connect(client_), "client");
      }
      if (!server_done) {
        server_done = step(server_, wolfSSL_accept(server_), "server");
      }
    }
    ASSERT_TRUE(client_done && server_done) << "handshake did not finish";
    EXPECT_STREQ(wolfSSL_get_cipher_name(server_), GetParam().cipher_list);
    EXPECT_STREQ(wolfSSL_get_version(server_), "DTLSv1.2");
    // No handshake leftovers may sit in the queues, or the record tests would read them.
    ASSERT_TRUE(to_server_.empty());
    ASSERT_TRUE(to_client_.empty());
  }

  static bool step(WOLFSSL* ssl, int rc, const char* who) {
    if (rc == WOLFSSL_SUCCESS) {
      return true;
    }
    const int err = wolfSSL_get_error(ssl, rc);
    EXPECT_TRUE(err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
        << who << " handshake error " << err << ": "
        << wolfSSL_ERR_reason_error_string(static_cast<unsigned long>(err));
    return false;
  }

  void take_keys() {
    const SuiteCase& s = GetParam();
    const int key_size = wolfSSL_GetKeySize(server_);
    const int iv_size = wolfSSL_GetIVSize(server_);
    const int bulk = wolfSSL_GetBulkCipher(server_);
    if (s.algo == AeadAlgo::kChaCha20Poly1305) {
      EXPECT_EQ(bulk, wolfssl_chacha);
      EXPECT_EQ(iv_size, 12);
    } else {
      EXPECT_EQ(bulk, wolfssl_aes_gcm);
      EXPECT_EQ(iv_size, 4);
    }
    EXPECT_EQ(key_size, s.algo == AeadAlgo::kAes128Gcm ? 16 : 32);
    ASSERT_GT(key_size, 0);
    ASSERT_GT(iv_size, 0);
    const auto ks = static_cast<size_t>(key_size);
    const auto is = static_cast<size_t>(iv_size);
    auto span_of = [](const unsigned char* p, size_t n) { return std::span<const uint8_t>(p, n); };
    // Both ends derived the same key block.
    EXPECT_EQ(hex_encode(span_of(wolfSSL_GetClientWriteKey(server_), ks)),
              hex_encode(span_of(wolfSSL_GetClientWriteKey(client_), ks)));
    EXPECT_EQ(hex_encode(span_of(wolfSSL_GetServerWriteIV(server_), is)),
              hex_encode(span_of(wolfSSL_GetServerWriteIV(client_), is)));

    auto client_write = AeadKey::create(*engine_, s.algo, span_of(wolfSSL_GetClientWriteKey(server_), ks),
                                        span_of(wolfSSL_GetClientWriteIV(server_), is));
    auto server_write = AeadKey::create(*engine_, s.algo, span_of(wolfSSL_GetServerWriteKey(server_), ks),
                                        span_of(wolfSSL_GetServerWriteIV(server_), is));
    ASSERT_TRUE(client_write) << client_write.error().message;
    ASSERT_TRUE(server_write) << server_write.error().message;
    client_write_ = *client_write;
    server_write_ = *server_write;
  }

  // wolfSSL_read on `ssl`; returns the plaintext, or nullopt-like empty + ok=false when wolfSSL
  // dropped the record (DTLS drops bad records silently and reports WANT_READ).
  struct ReadResult {
    bool ok = false;
    int error = 0;
    Bytes data;
  };
  static ReadResult wolf_read(WOLFSSL* ssl) {
    ReadResult r;
    uint8_t buf[2048];
    const int n = wolfSSL_read(ssl, buf, sizeof buf);
    if (n > 0) {
      r.ok = true;
      r.data.assign(buf, buf + n);
    } else {
      r.error = wolfSSL_get_error(ssl, n);
    }
    return r;
  }

  Bytes take_one(DatagramQueue& q) {
    EXPECT_EQ(q.size(), 1u);
    if (q.empty()) {
      return {};
    }
    Bytes d = std::move(q.front());
    q.pop_front();
    return d;
  }

  static Bytes text(const char* s) { return Bytes(s, s + std::strlen(s)); }

  std::unique_ptr<CryptoEngine> engine_;
  WOLFSSL_CTX* server_ctx_ = nullptr;
  WOLFSSL_CTX* client_ctx_ = nullptr;
  WOLFSSL* server_ = nullptr;
  WOLFSSL* client_ = nullptr;
  DatagramQueue to_server_;
  DatagramQueue to_client_;
  Endpoint server_io_{&to_server_, &to_client_};
  Endpoint client_io_{&to_client_, &to_server_};
  AeadKey client_write_;
  AeadKey server_write_;
};

// Epoch 1 is the first epoch after ChangeCipherSpec; wolfSSL's app data starts near seq 1, so 1000
// is well above anything it sent.
constexpr uint16_t kEpoch = 1;
constexpr uint64_t kOurSeq = 1000;

TEST_P(WolfSslConformanceTest, OurClientWriteRecordIsReadByWolfSslServer) {
  const Bytes msg = text("sealed by ocm with ipsec-mb, client to server");
  to_server_.push_back(seal_record(*engine_, client_write_, kEpoch, kOurSeq, msg));
  const ReadResult r = wolf_read(server_);
  ASSERT_TRUE(r.ok) << "wolfSSL error " << r.error;
  EXPECT_EQ(r.data, msg);

  const Bytes msg2 = text("and the next one");
  to_server_.push_back(seal_record(*engine_, client_write_, kEpoch, kOurSeq + 1, msg2));
  const ReadResult r2 = wolf_read(server_);
  ASSERT_TRUE(r2.ok) << "wolfSSL error " << r2.error;
  EXPECT_EQ(r2.data, msg2);
}

// The production direction: our server fast path sends with the server-write key.
TEST_P(WolfSslConformanceTest, OurServerWriteRecordIsReadByWolfSslClient) {
  const Bytes msg = text("sealed by ocm with ipsec-mb, server to client");
  to_client_.push_back(seal_record(*engine_, server_write_, kEpoch, kOurSeq, msg));
  const ReadResult r = wolf_read(client_);
  ASSERT_TRUE(r.ok) << "wolfSSL error " << r.error;
  EXPECT_EQ(r.data, msg);
}

TEST_P(WolfSslConformanceTest, WolfSslServerRecordIsOpenedByUs) {
  const Bytes msg = text("server-says-hi");
  ASSERT_EQ(wolfSSL_write(server_, msg.data(), static_cast<int>(msg.size())), static_cast<int>(msg.size()));
  const Bytes record = take_one(to_client_);
  DtlsHeader h;
  ASSERT_TRUE(parse_dtls_header(record, h));
  EXPECT_EQ(h.content_type, kContentApplicationData);
  EXPECT_EQ(h.epoch, kEpoch);
  EXPECT_EQ(h.length, record.size() - kDtlsHeaderSize);
  std::cout << "[ info     ] wolfSSL first server app record: epoch " << h.epoch << " seq " << h.seq;
  if (GetParam().algo != AeadAlgo::kChaCha20Poly1305) {
    // wolfSSL does not use epoch|seq as the GCM explicit nonce; show what it sent.
    std::cout << " explicit nonce " << hex_encode({record.data() + kDtlsHeaderSize, 8});
  }
  std::cout << "\n";

  ReplayWindow window;
  ASSERT_TRUE(window.check(h.seq));
  const Opened got = open_record(*engine_, server_write_, kEpoch, record);
  ASSERT_TRUE(got.ok);
  EXPECT_EQ(got.seq, h.seq);
  EXPECT_EQ(got.plain, msg);
  window.update(got.seq);

  // The same datagram again (an attacker's replay) authenticates but the window rejects it.
  EXPECT_TRUE(open_record(*engine_, server_write_, kEpoch, record).ok);
  EXPECT_FALSE(window.check(h.seq));

  // A second wolfSSL record has the next sequence number and passes the window.
  ASSERT_EQ(wolfSSL_write(server_, msg.data(), static_cast<int>(msg.size())), static_cast<int>(msg.size()));
  const Opened second = open_record(*engine_, server_write_, kEpoch, take_one(to_client_));
  ASSERT_TRUE(second.ok);
  EXPECT_EQ(second.seq, got.seq + 1);
  EXPECT_TRUE(window.check(second.seq));
}

// The production direction: the client's (openconnect's) records are opened with the client-write key.
TEST_P(WolfSslConformanceTest, WolfSslClientRecordIsOpenedByUs) {
  const Bytes msg = text("client-says-hi");
  ASSERT_EQ(wolfSSL_write(client_, msg.data(), static_cast<int>(msg.size())), static_cast<int>(msg.size()));
  const Opened got = open_record(*engine_, client_write_, kEpoch, take_one(to_server_));
  ASSERT_TRUE(got.ok);
  EXPECT_EQ(got.plain, msg);
  // With the wrong direction's key the record must not open.
  ASSERT_EQ(wolfSSL_write(client_, msg.data(), static_cast<int>(msg.size())), static_cast<int>(msg.size()));
  EXPECT_FALSE(open_record(*engine_, server_write_, kEpoch, take_one(to_server_)).ok);
}

TEST_P(WolfSslConformanceTest, TamperedOurRecordIsDroppedByWolfSsl) {
  const Bytes msg = text("this one gets a flipped bit");
  const size_t flip_positions[] = {
      10,                                               // seq in the header: changes AAD and nonce
      dtls_plaintext_offset(GetParam().algo) + 3,       // ciphertext
      msg.size() + dtls_overhead(GetParam().algo) - 1,  // tag
  };
  uint64_t seq = kOurSeq;
  for (size_t pos : flip_positions) {
    Bytes record = seal_record(*engine_, client_write_, kEpoch, seq++, msg);
    record[pos] ^= 0x01;
    to_server_.push_back(record);
    const ReadResult r = wolf_read(server_);
    EXPECT_FALSE(r.ok) << "flip at " << pos;
    EXPECT_EQ(r.error, WOLFSSL_ERROR_WANT_READ) << "flip at " << pos;  // silently dropped, session alive
  }
  // The session is still usable afterwards.
  to_server_.push_back(seal_record(*engine_, client_write_, kEpoch, seq, msg));
  const ReadResult good = wolf_read(server_);
  ASSERT_TRUE(good.ok) << good.error;
  EXPECT_EQ(good.data, msg);
}

TEST_P(WolfSslConformanceTest, TamperedWolfSslRecordIsRejectedByUs) {
  const Bytes msg = text("wolfSSL record, then a flipped bit");
  ASSERT_EQ(wolfSSL_write(server_, msg.data(), static_cast<int>(msg.size())), static_cast<int>(msg.size()));
  const Bytes record = take_one(to_client_);
  for (size_t pos = 3; pos < record.size(); ++pos) {
    if (pos == 11 || pos == 12) {
      continue;  // length bytes: covered by the hostile-record tests
    }
    Bytes bad = record;
    bad[pos] ^= 0x20;
    const uint16_t epoch = static_cast<uint16_t>((bad[3] << 8) | bad[4]);
    EXPECT_FALSE(open_record(*engine_, server_write_, epoch, bad).ok) << "flip at " << pos;
  }
  EXPECT_TRUE(open_record(*engine_, server_write_, kEpoch, record).ok);
}

TEST_P(WolfSslConformanceTest, ReplayedOurRecordIsDroppedByWolfSsl) {
  const Bytes msg = text("replay me");
  const Bytes record = seal_record(*engine_, client_write_, kEpoch, kOurSeq, msg);
  to_server_.push_back(record);
  ASSERT_TRUE(wolf_read(server_).ok);
  to_server_.push_back(record);
  const ReadResult again = wolf_read(server_);
  EXPECT_FALSE(again.ok);
  EXPECT_EQ(again.error, WOLFSSL_ERROR_WANT_READ);
}

INSTANTIATE_TEST_SUITE_P(Suites, WolfSslConformanceTest, ::testing::ValuesIn(kSuites),
                         [](const ::testing::TestParamInfo<SuiteCase>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace ocm::crypto
