#pragma once
// Moves wolfSSL's TLS record AEAD (AES-128/256-GCM, TLS 1.2 and 1.3) to ipsec-mb through
// wolfSSL's crypto callback (WOLF_CRYPTO_CB). Debian's wolfSSL has no AES-NI, and its
// software AES-GCM is about 85x slower than ipsec-mb here (feasibility.md §5).
//
// What goes where:
//   - AES-GCM with a 16- or 32-byte key, a 12-byte nonce and a 16-byte tag: ipsec-mb.
//   - Everything else the callback sees (hashes, HMAC, ECC, RNG/seed, AES-ECB, AES-192-GCM,
//     odd nonce or tag sizes): CRYPTOCB_UNAVAILABLE, so wolfSSL uses its software code.
//   - ChaCha20-Poly1305 stays in wolfSSL software: wolfSSL 5.5.4's wc_CryptoInfo has no
//     ChaCha/Poly1305 member (cryptocb.h), so the callback never sees it.
//
// Threads: wolfSSL runs the callback on whichever thread uses the WOLFSSL object. Each thread
// lazily creates its own CryptoEngine (an IMB_MGR, not thread-safe) and its own expanded-key
// cache on first use; nothing is shared except the relaxed atomic counters. In the server
// only the libuv loop thread uses wolfSSL, so there is one engine and one cache. A lazy
// thread_local engine is acceptable here because this is the slow path's TLS; the packet
// fast path creates its engines up front.
//
// Key cache: wolfSSL hands the callback the raw key (Aes::devKey, filled only when the Aes
// has a devId) on every record. Expanding it each time would waste most of the gain on small
// records, so each thread keeps the expanded key per Aes* and checks a copy of the raw key on
// every use: a re-keyed Aes (TLS 1.3 KeyUpdate) or an address reused by a new session is
// detected and re-expanded. The cache is an LRU bounded to kTlsOffloadMaxCachedKeys entries;
// entries unused for kTlsOffloadKeyIdleLimit are dropped (on the next callback in that
// thread), so keys of closed sessions do not stay in memory for long while TLS is in use.

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "ocm/base/result.hpp"

struct WOLFSSL_CTX;

namespace ocm::ctrl {

// Any value other than INVALID_DEVID (-2) works; this one spells "OCM1" to stand out in
// wolfSSL debug output. At most 8 devices can be registered in one process (wolfSSL limit).
inline constexpr int kTlsOffloadDevId = 0x4f434d31;
// 2 entries per TLS connection (one per direction), about 1.1 KiB each: 1024 entries cover
// 512 busy connections in 1.2 MiB. A miss only costs one key expansion (well under 1 µs).
inline constexpr size_t kTlsOffloadMaxCachedKeys = 1024;
inline constexpr std::chrono::seconds kTlsOffloadKeyIdleLimit{60};

struct TlsOffloadStats {
  uint64_t gcm_encrypt = 0;      // AES-GCM seals done by ipsec-mb
  uint64_t gcm_decrypt = 0;      // AES-GCM opens done by ipsec-mb (including failed ones)
  uint64_t auth_failures = 0;    // opens that failed the tag check (AES_GCM_AUTH_E returned)
  uint64_t fallback = 0;         // callbacks left to wolfSSL software (CRYPTOCB_UNAVAILABLE)
  uint64_t key_expansions = 0;   // cache misses: new Aes, re-keyed Aes, or evicted entry
  uint64_t cache_evictions = 0;  // entries dropped for the size bound or idleness

  [[nodiscard]] uint64_t offloaded() const noexcept { return gcm_encrypt + gcm_decrypt; }
};

// Registers the crypto callback (once per process) and sets its devId on `ctx`. Call it right
// after wolfSSL_CTX_new and before any wolfSSL_new on that ctx: a WOLFSSL copies the devId
// when it is created. Fails (and leaves `ctx` untouched) when ipsec-mb cannot run on this CPU
// or wolfSSL refuses the device; the ctx then keeps working in software.
Status enable_tls_crypto_offload(WOLFSSL_CTX* ctx);

// Process-wide counters since start (relaxed atomics, read one by one).
[[nodiscard]] TlsOffloadStats tls_crypto_offload_stats() noexcept;

// Number of expanded keys cached by the calling thread (for tests and diagnostics).
[[nodiscard]] size_t tls_crypto_offload_cached_keys() noexcept;

}  // namespace ocm::ctrl
