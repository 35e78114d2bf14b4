// AEAD on Intel ipsec-mb 1.3. AES-GCM goes through the direct API (single-buffer is as fast as the
// job API in 1.3, feasibility.md §4) with the key expanded once into gcm_key_data. ChaCha20-Poly1305
// goes through the job API, which measured about 1.7x faster than the direct init/update/finalize API
// for small packets.
//
// intel-ipsec-mb.h is included only here, with -DNO_COMPAT_IMB_API_053 from meson, so its old macro
// names never meet wolfSSL's (feasibility.md §7).

#include "ocm/crypto/aead.hpp"

#include <intel-ipsec-mb.h>

#include <cstring>
#include <new>
#include <string>

#include "ocm/base/bytes.hpp"

namespace ocm::crypto {
namespace {

constexpr size_t kNonceSize = 12;
constexpr size_t kGcmSaltSize = 4;
constexpr size_t kAes128KeySize = 16;
constexpr size_t kAes256KeySize = 32;
constexpr size_t kChaChaKeySize = 32;

IMB_MGR* mgr_of(CryptoEngine& engine) noexcept {
  return static_cast<IMB_MGR*>(engine.native());
}

const char* arch_to_name(uint32_t arch) noexcept {
  switch (arch) {
    case IMB_ARCH_NOAESNI:
      return "NOAESNI";
    case IMB_ARCH_SSE:
      return "SSE";
    case IMB_ARCH_AVX:
      return "AVX";
    case IMB_ARCH_AVX2:
      return "AVX2";
    case IMB_ARCH_AVX512:
      return "AVX512";
    default:
      return "NONE";
  }
}

std::string imb_error_text(int err) {
  const char* text = imb_get_strerror(err);
  return text != nullptr ? std::string(text) : "error " + std::to_string(err);
}

// ipsec-mb's job API rejects a null src/dst even for zero-length messages; an empty DTLS record is
// legal, so point at something harmless instead.
uint8_t g_empty_message = 0;

// memset with a null pointer is undefined even for length 0, and empty messages may come with one.
void zero_message(uint8_t* p, size_t len) noexcept {
  if (len != 0) {
    std::memset(p, 0, len);
  }
}

// Runs one ChaCha20-Poly1305 job to completion. The engine's job queue is empty between calls
// (every caller drains it), so the job that comes back is ours. Returns false when ipsec-mb did not
// complete it (invalid arguments), in which case nothing it wrote can be trusted.
bool run_chacha_job(IMB_MGR* mgr, const uint8_t* key, IMB_CIPHER_DIRECTION dir, const uint8_t nonce[kNonceSize],
                    std::span<const uint8_t> aad, const uint8_t* in, size_t len, uint8_t* out,
                    uint8_t tag[kTagSize]) noexcept {
  IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
  job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
  job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
  job->cipher_direction = dir;
  // Encrypt-then-MAC: sealing ciphers first; opening authenticates the ciphertext first.
  job->chain_order = dir == IMB_DIR_ENCRYPT ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
  job->enc_keys = key;
  job->dec_keys = key;
  job->key_len_in_bytes = kChaChaKeySize;
  job->src = len != 0 ? in : &g_empty_message;
  job->dst = len != 0 ? out : &g_empty_message;
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = len;
  job->hash_start_src_offset_in_bytes = 0;
  job->msg_len_to_hash_in_bytes = len;
  job->iv = nonce;
  job->iv_len_in_bytes = kNonceSize;
  job->u.CHACHA20_POLY1305.aad = aad.empty() ? &g_empty_message : aad.data();
  job->u.CHACHA20_POLY1305.aad_len_in_bytes = aad.size();
  job->auth_tag_output = tag;
  job->auth_tag_output_len_in_bytes = kTagSize;

  IMB_JOB* done = IMB_SUBMIT_JOB(mgr);
  if (done == nullptr) {
    done = IMB_FLUSH_JOB(mgr);
  }
  return done == job && done->status == IMB_STATUS_COMPLETED;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// CryptoEngine

Result<std::unique_ptr<CryptoEngine>> CryptoEngine::create() {
  IMB_MGR* mgr = alloc_mb_mgr(0);
  if (mgr == nullptr) {
    return make_error("ipsec-mb: alloc_mb_mgr failed: " + imb_error_text(imb_get_errno(nullptr)));
  }
  // `features` is filled by alloc_mb_mgr. Without AES-NI ipsec-mb would fall back to its
  // emulation, which is far too slow for a data path, so refuse to start instead.
  if ((mgr->features & IMB_FEATURE_AESNI) == 0) {
    free_mb_mgr(mgr);
    return make_error("ipsec-mb: this CPU lacks AES-NI (or it is disabled); the DTLS data path needs it");
  }
  IMB_ARCH arch = IMB_ARCH_NONE;
  init_mb_mgr_auto(mgr, &arch);
  const int err = imb_get_errno(mgr);
  if (err != 0) {
    free_mb_mgr(mgr);
    return make_error("ipsec-mb: init_mb_mgr_auto failed: " + imb_error_text(err));
  }
  if (arch == IMB_ARCH_NONE || arch == IMB_ARCH_NOAESNI) {
    free_mb_mgr(mgr);
    return make_error(std::string("ipsec-mb picked architecture ") + arch_to_name(arch) +
                      ", which does not use AES-NI; the DTLS data path needs it");
  }
  return std::unique_ptr<CryptoEngine>(new CryptoEngine(mgr));
}

CryptoEngine::~CryptoEngine() {
  free_mb_mgr(static_cast<IMB_MGR*>(mgr_));
}

const char* CryptoEngine::arch_name() const noexcept {
  return arch_to_name(static_cast<const IMB_MGR*>(mgr_)->used_arch);
}

// ---------------------------------------------------------------------------------------------
// AeadKey

namespace {

// key_storage_ holds a gcm_key_data for AES-GCM (created by placement new in create(), then copied
// bytewise, which is fine for this trivially copyable C struct) or the raw 32-byte ChaCha key.
const gcm_key_data* gcm_key(const uint8_t* storage) noexcept {
  return std::launder(reinterpret_cast<const gcm_key_data*>(storage));
}

}  // namespace

AeadKey::~AeadKey() {
  secure_zero(key_storage_.data(), key_storage_.size());
  secure_zero(iv_.data(), iv_.size());
}

AeadKey::AeadKey(const AeadKey& other)
    : key_storage_(other.key_storage_),
      iv_(other.iv_),
      iv_len_(other.iv_len_),
      algo_(other.algo_),
      valid_(other.valid_) {}

AeadKey& AeadKey::operator=(const AeadKey& other) {
  if (this != &other) {
    key_storage_ = other.key_storage_;
    iv_ = other.iv_;
    iv_len_ = other.iv_len_;
    algo_ = other.algo_;
    valid_ = other.valid_;
  }
  return *this;
}

Result<AeadKey> AeadKey::create(CryptoEngine& engine, AeadAlgo algo, std::span<const uint8_t> key,
                                std::span<const uint8_t> iv) {
  // The expanded GCM key lives inside key_storage_; both its size and its 64-byte alignment
  // (the VAES code uses aligned loads) must fit.
  static_assert(sizeof(gcm_key_data) <= sizeof(key_storage_), "gcm_key_data does not fit key_storage_");
  static_assert(alignof(gcm_key_data) <= 64, "key_storage_ is only 64-byte aligned");
  static_assert(kChaChaKeySize <= sizeof(key_storage_));

  size_t want_key = 0;
  size_t want_iv = 0;
  switch (algo) {
    case AeadAlgo::kAes128Gcm:
      want_key = kAes128KeySize;
      want_iv = kGcmSaltSize;
      break;
    case AeadAlgo::kAes256Gcm:
      want_key = kAes256KeySize;
      want_iv = kGcmSaltSize;
      break;
    case AeadAlgo::kChaCha20Poly1305:
      want_key = kChaChaKeySize;
      want_iv = kNonceSize;
      break;
    default:
      return make_error("unknown AEAD algorithm");
  }
  if (key.size() != want_key) {
    return make_error("AEAD key must be " + std::to_string(want_key) + " bytes, got " + std::to_string(key.size()));
  }
  if (iv.size() != want_iv) {
    return make_error("AEAD write IV must be " + std::to_string(want_iv) + " bytes, got " + std::to_string(iv.size()));
  }

  AeadKey out;
  IMB_MGR* mgr = mgr_of(engine);
  if (algo == AeadAlgo::kChaCha20Poly1305) {
    std::memcpy(out.key_storage_.data(), key.data(), key.size());
  } else {
    auto* expanded = new (out.key_storage_.data()) gcm_key_data{};
    if (algo == AeadAlgo::kAes128Gcm) {
      IMB_AES128_GCM_PRE(mgr, key.data(), expanded);
    } else {
      IMB_AES256_GCM_PRE(mgr, key.data(), expanded);
    }
    const int err = imb_get_errno(mgr);
    if (err != 0) {
      return make_error("ipsec-mb: GCM key expansion failed: " + imb_error_text(err));
    }
  }
  std::memcpy(out.iv_.data(), iv.data(), iv.size());
  out.iv_len_ = static_cast<uint8_t>(iv.size());
  out.algo_ = algo;
  out.valid_ = true;
  return out;
}

void AeadKey::seal(CryptoEngine& engine, const uint8_t nonce[12], std::span<const uint8_t> aad, const uint8_t* in,
                   size_t len, uint8_t* out, uint8_t tag[kTagSize]) const noexcept {
  IMB_MGR* mgr = mgr_of(engine);
  bool ok = valid_;
  if (ok) {
    // The context is scratch for one call; ipsec-mb initialises it. Not zeroed afterwards: it holds
    // no key material, only GHASH state for this message, and the next packet overwrites it.
    gcm_context_data ctx;
    switch (algo_) {
      case AeadAlgo::kAes128Gcm:
        IMB_AES128_GCM_ENC(mgr, gcm_key(key_storage_.data()), &ctx, out, in, len, nonce, aad.data(), aad.size(), tag,
                           kTagSize);
        break;
      case AeadAlgo::kAes256Gcm:
        IMB_AES256_GCM_ENC(mgr, gcm_key(key_storage_.data()), &ctx, out, in, len, nonce, aad.data(), aad.size(), tag,
                           kTagSize);
        break;
      case AeadAlgo::kChaCha20Poly1305:
        ok = run_chacha_job(mgr, key_storage_.data(), IMB_DIR_ENCRYPT, nonce, aad, in, len, out, tag);
        break;
    }
  }
  if (!ok) {
    // Never let the caller transmit what may still be plaintext (in-place sealing) under a tag.
    zero_message(out, len);
    std::memset(tag, 0, kTagSize);
  }
}

bool AeadKey::open(CryptoEngine& engine, const uint8_t nonce[12], std::span<const uint8_t> aad, const uint8_t* in,
                   size_t len, uint8_t* out, const uint8_t tag[kTagSize]) const noexcept {
  if (!valid_) {
    zero_message(out, len);
    return false;
  }
  IMB_MGR* mgr = mgr_of(engine);
  // Start from the complement of the received tag: if ipsec-mb rejected its arguments and wrote
  // nothing, the comparison below still fails.
  alignas(16) uint8_t computed[kTagSize];
  for (size_t i = 0; i < kTagSize; ++i) {
    computed[i] = static_cast<uint8_t>(~tag[i]);
  }
  bool ran = true;
  gcm_context_data ctx;
  switch (algo_) {
    case AeadAlgo::kAes128Gcm:
      IMB_AES128_GCM_DEC(mgr, gcm_key(key_storage_.data()), &ctx, out, in, len, nonce, aad.data(), aad.size(), computed,
                         kTagSize);
      break;
    case AeadAlgo::kAes256Gcm:
      IMB_AES256_GCM_DEC(mgr, gcm_key(key_storage_.data()), &ctx, out, in, len, nonce, aad.data(), aad.size(), computed,
                         kTagSize);
      break;
    case AeadAlgo::kChaCha20Poly1305:
      ran = run_chacha_job(mgr, key_storage_.data(), IMB_DIR_DECRYPT, nonce, aad, in, len, out, computed);
      break;
  }
  const bool ok = ran && constant_time_equal({computed, kTagSize}, {tag, kTagSize});
  if (!ok) {
    // The plaintext of a forged record must not leak to a caller that ignores the result.
    zero_message(out, len);
  }
  return ok;
}

}  // namespace ocm::crypto
