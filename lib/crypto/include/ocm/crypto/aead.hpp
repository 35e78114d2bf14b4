#pragma once
// AEAD over Intel ipsec-mb for the DTLS 1.2 record layer (and, through wolfSSL's crypto callback,
// for TLS). Keys are expanded once when a session is installed; the data path only seals/opens.
// This header does not include intel-ipsec-mb.h (it clashes with wolfSSL's compat macros,
// feasibility.md §7): ipsec-mb types stay inside lib/crypto/src.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "ocm/base/result.hpp"

namespace ocm::crypto {

enum class AeadAlgo : uint8_t { kAes128Gcm, kAes256Gcm, kChaCha20Poly1305 };

inline constexpr size_t kTagSize = 16;

// One IMB_MGR. Create one per packet thread at thread start (never on the packet path); not
// thread-safe, never shared.
class CryptoEngine {
 public:
  // Picks the best implementation for this CPU (AVX-512/VAES, AVX2, SSE). Fails with a clear
  // message when the CPU lacks AES-NI.
  static Result<std::unique_ptr<CryptoEngine>> create();
  ~CryptoEngine();
  CryptoEngine(const CryptoEngine&) = delete;
  CryptoEngine& operator=(const CryptoEngine&) = delete;

  [[nodiscard]] const char* arch_name() const noexcept;  // "AVX512", "AVX2", ...
  [[nodiscard]] void* native() const noexcept { return mgr_; }  // IMB_MGR*, for lib/crypto only

 private:
  explicit CryptoEngine(void* mgr) : mgr_(mgr) {}
  void* mgr_;
};

// One direction's key material, expanded. Zeroed on destruction. Cache-line aligned because
// the data path reads it for every packet.
class alignas(64) AeadKey {
 public:
  AeadKey() = default;
  ~AeadKey();
  AeadKey(const AeadKey& other);
  AeadKey& operator=(const AeadKey& other);

  // key: 16 (AES-128-GCM) or 32 bytes (AES-256-GCM, ChaCha20-Poly1305).
  // iv: the TLS "write IV": 4 bytes (GCM implicit salt) or 12 bytes (ChaCha20-Poly1305).
  static Result<AeadKey> create(CryptoEngine& engine, AeadAlgo algo, std::span<const uint8_t> key,
                                std::span<const uint8_t> iv);

  [[nodiscard]] AeadAlgo algo() const noexcept { return algo_; }
  [[nodiscard]] bool valid() const noexcept { return valid_; }

  // Raw AEAD with a full 12-byte nonce. `out` may equal `in` (in place). seal writes
  // len bytes of ciphertext to out and the tag to tag; open returns false (and writes nothing
  // trustworthy) when the tag does not match (compared in constant time).
  void seal(CryptoEngine& engine, const uint8_t nonce[12], std::span<const uint8_t> aad, const uint8_t* in,
            size_t len, uint8_t* out, uint8_t tag[kTagSize]) const noexcept;
  [[nodiscard]] bool open(CryptoEngine& engine, const uint8_t nonce[12], std::span<const uint8_t> aad,
                          const uint8_t* in, size_t len, uint8_t* out, const uint8_t tag[kTagSize]) const noexcept;

  // The fixed part of the nonce from the write IV (4 bytes for GCM, 12 for ChaCha20).
  [[nodiscard]] std::span<const uint8_t> write_iv() const noexcept { return {iv_.data(), iv_len_}; }

 private:
  // Large enough for ipsec-mb's struct gcm_key_data (static_assert in aead.cpp) or a raw key.
  alignas(64) std::array<uint8_t, 1024> key_storage_{};
  std::array<uint8_t, 12> iv_{};
  uint8_t iv_len_ = 0;
  AeadAlgo algo_ = AeadAlgo::kAes128Gcm;
  bool valid_ = false;
};

}  // namespace ocm::crypto
