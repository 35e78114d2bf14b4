// AeadKey over ipsec-mb: published known-answer vectors, tamper checks, and a differential check
// against wolfCrypt's software AEADs for many lengths.

// wolfSSL first: its headers must see options.h before anything else.
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>

#include "ocm/crypto/aead.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "ocm/base/bytes.hpp"

namespace ocm::crypto {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::unique_ptr<CryptoEngine> make_engine() {
  auto engine = CryptoEngine::create();
  if (!engine) {
    ADD_FAILURE() << engine.error().message;
    return nullptr;
  }
  return std::move(engine).value();
}

// The write IV AeadKey::create wants: the GCM salt (first 4 nonce bytes) or the whole ChaCha nonce.
Bytes write_iv_for(AeadAlgo algo, const Bytes& nonce) {
  return algo == AeadAlgo::kChaCha20Poly1305 ? nonce : Bytes(nonce.begin(), nonce.begin() + 4);
}

TEST(CryptoEngineTest, PicksAnAesNiArchitecture) {
  auto engine = make_engine();
  ASSERT_NE(engine, nullptr);
  const std::string arch = engine->arch_name();
  EXPECT_NE(arch, "NONE");
  EXPECT_NE(arch, "NOAESNI");
  EXPECT_NE(engine->native(), nullptr);
  std::cout << "[ info     ] ipsec-mb arch: " << arch << "\n";
}

// ---------------------------------------------------------------------------------------------
// Known-answer vectors.
// AES-GCM: "The Galois/Counter Mode of Operation (GCM)", McGrew & Viega, test cases 1-4 (AES-128)
// and 13-16 (AES-256). ChaCha20-Poly1305: RFC 8439 §2.8.2.

struct KatVector {
  const char* name;
  AeadAlgo algo;
  const char* key;
  const char* nonce;
  const char* aad;
  const char* plaintext;
  const char* ciphertext;
  const char* tag;
};

constexpr const char* kGcmKey = "feffe9928665731c6d6a8f9467308308";
constexpr const char* kGcmIv = "cafebabefacedbaddecaf888";
constexpr const char* kGcmAad = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
constexpr const char* kGcmPlain64 =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
constexpr const char* kGcmPlain60 =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
constexpr const char* kGcmKey256 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";

// "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future,
// sunscreen would be it."
constexpr const char* kSunscreen =
    "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
    "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
    "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
    "637265656e20776f756c642062652069742e";

const KatVector kKatVectors[] = {
    {"Gcm128Case1", AeadAlgo::kAes128Gcm, "00000000000000000000000000000000", "000000000000000000000000", "", "", "",
     "58e2fccefa7e3061367f1d57a4e7455a"},
    {"Gcm128Case2", AeadAlgo::kAes128Gcm, "00000000000000000000000000000000", "000000000000000000000000", "",
     "00000000000000000000000000000000", "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
    {"Gcm128Case3", AeadAlgo::kAes128Gcm, kGcmKey, kGcmIv, "", kGcmPlain64,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {"Gcm128Case4", AeadAlgo::kAes128Gcm, kGcmKey, kGcmIv, kGcmAad, kGcmPlain60,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"Gcm256Case13", AeadAlgo::kAes256Gcm, "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"Gcm256Case14", AeadAlgo::kAes256Gcm, "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18",
     "d0d1c8a799996bf0265b98b5d48ab919"},
    {"Gcm256Case15", AeadAlgo::kAes256Gcm, kGcmKey256, kGcmIv, "", kGcmPlain64,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"Gcm256Case16", AeadAlgo::kAes256Gcm, kGcmKey256, kGcmIv, kGcmAad, kGcmPlain60,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    {"ChaChaRfc8439", AeadAlgo::kChaCha20Poly1305, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
     "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7", kSunscreen,
     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
     "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
     "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
     "3ff4def08e4b7a9de576d26586cec64b6116",
     "1ae10b594f09e26a7e902ecbd0600691"},
};

class AeadKatTest : public ::testing::TestWithParam<KatVector> {
 protected:
  void SetUp() override {
    const KatVector& v = GetParam();
    engine_ = make_engine();
    ASSERT_NE(engine_, nullptr);
    key_ = from_hex(v.key);
    nonce_ = from_hex(v.nonce);
    aad_ = from_hex(v.aad);
    plain_ = from_hex(v.plaintext);
    cipher_ = from_hex(v.ciphertext);
    tag_ = from_hex(v.tag);
    ASSERT_EQ(nonce_.size(), 12u);
    ASSERT_EQ(tag_.size(), kTagSize);
    ASSERT_EQ(plain_.size(), cipher_.size());
    auto key = AeadKey::create(*engine_, v.algo, key_, write_iv_for(v.algo, nonce_));
    ASSERT_TRUE(key) << key.error().message;
    aead_ = *key;
  }

  std::unique_ptr<CryptoEngine> engine_;
  AeadKey aead_;
  Bytes key_, nonce_, aad_, plain_, cipher_, tag_;
};

TEST_P(AeadKatTest, SealMatchesVector) {
  Bytes out(plain_.size());
  uint8_t tag[kTagSize];
  aead_.seal(*engine_, nonce_.data(), aad_, plain_.data(), plain_.size(), out.data(), tag);
  EXPECT_EQ(hex_encode(out), hex_encode(cipher_));
  EXPECT_EQ(hex_encode({tag, kTagSize}), hex_encode(tag_));
}

TEST_P(AeadKatTest, SealInPlaceMatchesVector) {
  Bytes buf = plain_;
  uint8_t tag[kTagSize];
  aead_.seal(*engine_, nonce_.data(), aad_, buf.data(), buf.size(), buf.data(), tag);
  EXPECT_EQ(hex_encode(buf), hex_encode(cipher_));
  EXPECT_EQ(hex_encode({tag, kTagSize}), hex_encode(tag_));
}

TEST_P(AeadKatTest, OpenRecoversPlaintext) {
  Bytes out(cipher_.size(), 0xee);
  ASSERT_TRUE(aead_.open(*engine_, nonce_.data(), aad_, cipher_.data(), cipher_.size(), out.data(), tag_.data()));
  EXPECT_EQ(hex_encode(out), hex_encode(plain_));

  Bytes buf = cipher_;
  ASSERT_TRUE(aead_.open(*engine_, nonce_.data(), aad_, buf.data(), buf.size(), buf.data(), tag_.data()));
  EXPECT_EQ(hex_encode(buf), hex_encode(plain_));
}

// Each tamper must make open fail and leave a zeroed output (the caller may ignore the result).
TEST_P(AeadKatTest, FlippedCiphertextBitFails) {
  if (cipher_.empty()) {
    // Nothing to flip: appending a ciphertext byte to an empty message must fail instead.
    const Bytes longer = {0x00};
    uint8_t out = 0xee;
    EXPECT_FALSE(aead_.open(*engine_, nonce_.data(), aad_, longer.data(), 1, &out, tag_.data()));
    EXPECT_EQ(out, 0);
    return;
  }
  for (size_t byte : {size_t{0}, cipher_.size() / 2, cipher_.size() - 1}) {
    Bytes bad = cipher_;
    bad[byte] ^= 0x01;
    Bytes out(bad.size(), 0xee);
    EXPECT_FALSE(aead_.open(*engine_, nonce_.data(), aad_, bad.data(), bad.size(), out.data(), tag_.data()))
        << "byte " << byte;
    EXPECT_EQ(out, Bytes(out.size(), 0)) << "byte " << byte;
  }
}

TEST_P(AeadKatTest, FlippedTagBitFails) {
  for (size_t byte = 0; byte < kTagSize; ++byte) {
    Bytes bad_tag = tag_;
    bad_tag[byte] ^= 0x80;
    Bytes out(cipher_.size(), 0xee);
    EXPECT_FALSE(aead_.open(*engine_, nonce_.data(), aad_, cipher_.data(), cipher_.size(), out.data(), bad_tag.data()))
        << "byte " << byte;
    EXPECT_EQ(out, Bytes(out.size(), 0));
  }
}

TEST_P(AeadKatTest, FlippedAadBitFails) {
  Bytes bad_aad = aad_;
  if (bad_aad.empty()) {
    bad_aad.push_back(0);  // adding AAD where there was none must fail as well
  } else {
    bad_aad.back() ^= 0x04;
  }
  Bytes out(cipher_.size(), 0xee);
  EXPECT_FALSE(aead_.open(*engine_, nonce_.data(), bad_aad, cipher_.data(), cipher_.size(), out.data(), tag_.data()));
  EXPECT_EQ(out, Bytes(out.size(), 0));
}

TEST_P(AeadKatTest, WrongNonceFails) {
  Bytes bad_nonce = nonce_;
  bad_nonce[11] ^= 0x01;
  Bytes out(cipher_.size());
  EXPECT_FALSE(aead_.open(*engine_, bad_nonce.data(), aad_, cipher_.data(), cipher_.size(), out.data(), tag_.data()));
}

TEST_P(AeadKatTest, CopiesKeepWorkingAfterOriginalDies) {
  AeadKey copy_constructed;
  AeadKey assigned;
  {
    AeadKey original = aead_;  // copy ctor
    copy_constructed = AeadKey(original);
    assigned = original;  // copy assignment
    // `original` (and the temporary) are destroyed and zeroed here.
  }
  for (const AeadKey* k : {&copy_constructed, &assigned}) {
    EXPECT_TRUE(k->valid());
    EXPECT_EQ(k->algo(), GetParam().algo);
    Bytes out(plain_.size());
    uint8_t tag[kTagSize];
    k->seal(*engine_, nonce_.data(), aad_, plain_.data(), plain_.size(), out.data(), tag);
    EXPECT_EQ(hex_encode(out), hex_encode(cipher_));
    EXPECT_EQ(hex_encode({tag, kTagSize}), hex_encode(tag_));
  }
}

INSTANTIATE_TEST_SUITE_P(Vectors, AeadKatTest, ::testing::ValuesIn(kKatVectors),
                         [](const ::testing::TestParamInfo<KatVector>& p) { return std::string(p.param.name); });

// ---------------------------------------------------------------------------------------------
// Key creation checks.

struct CreateCase {
  const char* name;
  AeadAlgo algo;
  size_t key_len;
  size_t iv_len;
  bool ok;
};

const CreateCase kCreateCases[] = {
    {"Aes128Ok", AeadAlgo::kAes128Gcm, 16, 4, true},
    {"Aes128KeyTooLong", AeadAlgo::kAes128Gcm, 32, 4, false},
    {"Aes128IvTooLong", AeadAlgo::kAes128Gcm, 16, 12, false},
    {"Aes256Ok", AeadAlgo::kAes256Gcm, 32, 4, true},
    {"Aes256KeyTooShort", AeadAlgo::kAes256Gcm, 16, 4, false},
    {"Aes256NoIv", AeadAlgo::kAes256Gcm, 32, 0, false},
    {"ChaChaOk", AeadAlgo::kChaCha20Poly1305, 32, 12, true},
    {"ChaChaShortKey", AeadAlgo::kChaCha20Poly1305, 16, 12, false},
    {"ChaChaSaltOnly", AeadAlgo::kChaCha20Poly1305, 32, 4, false},
};

class AeadCreateTest : public ::testing::TestWithParam<CreateCase> {};

TEST_P(AeadCreateTest, ValidatesSizes) {
  const CreateCase& c = GetParam();
  auto engine = make_engine();
  ASSERT_NE(engine, nullptr);
  const Bytes key(c.key_len, 0x11);
  const Bytes iv(c.iv_len, 0x22);
  auto result = AeadKey::create(*engine, c.algo, key, iv);
  ASSERT_EQ(result.has_value(), c.ok) << (result ? "" : result.error().message);
  if (c.ok) {
    EXPECT_TRUE(result->valid());
    EXPECT_EQ(result->algo(), c.algo);
    EXPECT_EQ(hex_encode(result->write_iv()), hex_encode(iv));
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, AeadCreateTest, ::testing::ValuesIn(kCreateCases),
                         [](const ::testing::TestParamInfo<CreateCase>& p) { return std::string(p.param.name); });

TEST(AeadKeyTest, DefaultKeyIsInvalidAndRefusesToWork) {
  auto engine = make_engine();
  ASSERT_NE(engine, nullptr);
  const AeadKey key;
  EXPECT_FALSE(key.valid());
  uint8_t nonce[12] = {};
  Bytes buf(32, 0x5a);
  uint8_t tag[kTagSize];
  std::memset(tag, 0x77, sizeof tag);
  key.seal(*engine, nonce, {}, buf.data(), buf.size(), buf.data(), tag);
  // In-place sealing with no key must not leave the plaintext in the buffer.
  EXPECT_EQ(buf, Bytes(32, 0));
  EXPECT_FALSE(key.open(*engine, nonce, {}, buf.data(), buf.size(), buf.data(), tag));
}

// ---------------------------------------------------------------------------------------------
// Differential check against wolfCrypt (an independent software implementation) over lengths that
// exercise partial blocks, the 64-byte ChaCha block and multi-block bulk paths.

struct DiffCase {
  const char* name;
  AeadAlgo algo;
  size_t key_len;
};

class AeadWolfCryptDiffTest : public ::testing::TestWithParam<DiffCase> {};

bool wolfcrypt_seal(AeadAlgo algo, const Bytes& key, const Bytes& nonce, const Bytes& aad, const Bytes& plain,
                    Bytes& cipher, Bytes& tag) {
  cipher.assign(plain.size(), 0);
  tag.assign(kTagSize, 0);
  // wolfCrypt rejects null pointers even for empty inputs.
  uint8_t empty = 0;
  const uint8_t* in = plain.empty() ? &empty : plain.data();
  uint8_t* out = cipher.empty() ? &empty : cipher.data();
  if (algo == AeadAlgo::kChaCha20Poly1305) {
    return wc_ChaCha20Poly1305_Encrypt(key.data(), nonce.data(), aad.empty() ? nullptr : aad.data(),
                                       static_cast<word32>(aad.size()), in, static_cast<word32>(plain.size()), out,
                                       tag.data()) == 0;
  }
  Aes aes;
  if (wc_AesInit(&aes, nullptr, INVALID_DEVID) != 0) {
    return false;
  }
  bool ok = wc_AesGcmSetKey(&aes, key.data(), static_cast<word32>(key.size())) == 0 &&
            wc_AesGcmEncrypt(&aes, out, in, static_cast<word32>(plain.size()), nonce.data(),
                             static_cast<word32>(nonce.size()), tag.data(), static_cast<word32>(tag.size()),
                             aad.empty() ? nullptr : aad.data(), static_cast<word32>(aad.size())) == 0;
  wc_AesFree(&aes);
  return ok;
}

TEST_P(AeadWolfCryptDiffTest, SealAndOpenMatchWolfCrypt) {
  const DiffCase& c = GetParam();
  auto engine = make_engine();
  ASSERT_NE(engine, nullptr);
  std::mt19937 rng(1234);  // fixed seed: deterministic test
  auto random_bytes = [&](size_t n) {
    Bytes b(n);
    for (auto& x : b) {
      x = static_cast<uint8_t>(rng());
    }
    return b;
  };
  const Bytes key = random_bytes(c.key_len);
  for (size_t len :
       {0, 1, 15, 16, 17, 31, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 1024, 1400, 1500, 4096, 8191, 16384}) {
    for (size_t aad_len : {0, 13}) {
      const Bytes nonce = random_bytes(12);
      const Bytes aad = random_bytes(aad_len);
      const Bytes plain = random_bytes(len);
      Bytes want_cipher;
      Bytes want_tag;
      ASSERT_TRUE(wolfcrypt_seal(c.algo, key, nonce, aad, plain, want_cipher, want_tag)) << len;

      auto aead = AeadKey::create(*engine, c.algo, key, write_iv_for(c.algo, nonce));
      ASSERT_TRUE(aead) << aead.error().message;
      Bytes buf = plain;
      uint8_t tag[kTagSize];
      aead->seal(*engine, nonce.data(), aad, buf.data(), buf.size(), buf.data(), tag);
      ASSERT_EQ(buf, want_cipher) << "len " << len << " aad " << aad_len;
      ASSERT_EQ(Bytes(tag, tag + kTagSize), want_tag) << "len " << len << " aad " << aad_len;
      ASSERT_TRUE(aead->open(*engine, nonce.data(), aad, buf.data(), buf.size(), buf.data(), want_tag.data()))
          << "len " << len;
      ASSERT_EQ(buf, plain) << "len " << len;
    }
  }
}

const DiffCase kDiffCases[] = {
    {"Aes128Gcm", AeadAlgo::kAes128Gcm, 16},
    {"Aes256Gcm", AeadAlgo::kAes256Gcm, 32},
    {"ChaCha20Poly1305", AeadAlgo::kChaCha20Poly1305, 32},
};

INSTANTIATE_TEST_SUITE_P(Algos, AeadWolfCryptDiffTest, ::testing::ValuesIn(kDiffCases),
                         [](const ::testing::TestParamInfo<DiffCase>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace ocm::crypto
