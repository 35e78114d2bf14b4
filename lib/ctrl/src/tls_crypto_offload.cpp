// wolfSSL headers first, options.h before all of them: it decides the layout of Aes and
// wc_CryptoInfo, which this file reads.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/cryptocb.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include "tls_crypto_offload.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <iterator>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>

#include "ocm/base/bytes.hpp"
#include "ocm/crypto/aead.hpp"

#if !defined(WOLF_CRYPTO_CB) || !defined(HAVE_AESGCM)
#error "tls_crypto_offload needs a wolfSSL built with WOLF_CRYPTO_CB and HAVE_AESGCM"
#endif

namespace ocm::ctrl {
namespace {

using Clock = std::chrono::steady_clock;

// TLS 1.2 (RFC 5288) and 1.3 (RFC 8446) both use a 12-byte GCM nonce and a 16-byte tag; other
// shapes (GMAC with a long IV, truncated tags) are not record traffic and stay in software.
constexpr word32 kGcmNonceSize = 12;
constexpr size_t kMaxRawKeySize = 32;

// Counters are process-wide although engines and caches are per thread: an operator wants
// one number. Relaxed order is enough, they are only ever summed.
struct Counters {
  std::atomic<uint64_t> gcm_encrypt{0};
  std::atomic<uint64_t> gcm_decrypt{0};
  std::atomic<uint64_t> auth_failures{0};
  std::atomic<uint64_t> fallback{0};
  std::atomic<uint64_t> key_expansions{0};
  std::atomic<uint64_t> cache_evictions{0};
};
Counters g_counters;

void bump(std::atomic<uint64_t>& counter) noexcept {
  counter.fetch_add(1, std::memory_order_relaxed);
}

int fall_back() noexcept {
  bump(g_counters.fallback);
  return CRYPTOCB_UNAVAILABLE;
}

struct CachedKey {
  CachedKey() = default;
  ~CachedKey() { secure_zero(raw.data(), raw.size()); }
  CachedKey(const CachedKey&) = delete;
  CachedKey& operator=(const CachedKey&) = delete;

  const Aes* aes = nullptr;
  // The whole raw key rather than a hash of it: the comparison is exact (no collision can
  // hand a session someone else's key schedule), and it exposes nothing new because AES
  // round key 0 in `key` is the raw key anyway. Zeroed with the entry.
  std::array<uint8_t, kMaxRawKeySize> raw{};
  size_t raw_len = 0;
  Clock::time_point last_use{};
  crypto::AeadKey key;
};

// LRU of expanded keys, most recently used at the front. One per thread, never shared.
class KeyCache {
 public:
  // The expanded key for `aes` holding `raw`, expanding it on a miss; nullptr when
  // lib/crypto refuses the key (the caller falls back to software).
  const crypto::AeadKey* get(crypto::CryptoEngine& engine, const Aes* aes, std::span<const uint8_t> raw,
                             Clock::time_point now) {
    drop_idle(now);
    auto found = index_.find(aes);
    if (found != index_.end()) {
      auto it = found->second;
      lru_.splice(lru_.begin(), lru_, it);
      it->last_use = now;
      if (it->raw_len == raw.size() && constant_time_equal({it->raw.data(), it->raw_len}, raw)) {
        return &it->key;
      }
      // Same Aes, new key: a TLS 1.3 KeyUpdate, or wolfSSL freed the Aes and a new session
      // reused its address. The old schedule is stale; expand over it in place.
      if (!fill(engine, *it, raw)) {
        erase(it);
        return nullptr;
      }
      return &it->key;
    }
    if (lru_.size() >= kTlsOffloadMaxCachedKeys) {
      // Reuse the least recently used node instead of allocating a new one.
      auto victim = std::prev(lru_.end());
      index_.erase(victim->aes);
      bump(g_counters.cache_evictions);
      lru_.splice(lru_.begin(), lru_, victim);
    } else {
      lru_.emplace_front();
    }
    auto it = lru_.begin();
    it->aes = aes;
    it->last_use = now;
    // Until it is indexed the node is not committed: on any failure it goes, so the list
    // never holds an unindexed entry (evicting one would unindex a live entry for that Aes*).
    try {
      if (!fill(engine, *it, raw)) {
        lru_.erase(it);
        return nullptr;
      }
      index_.emplace(aes, it);
    } catch (...) {
      lru_.erase(it);
      throw;
    }
    return &it->key;
  }

  [[nodiscard]] size_t size() const noexcept { return lru_.size(); }

 private:
  using Iter = std::list<CachedKey>::iterator;

  static bool fill(crypto::CryptoEngine& engine, CachedKey& entry, std::span<const uint8_t> raw) {
    auto algo = raw.size() == 16 ? crypto::AeadAlgo::kAes128Gcm : crypto::AeadAlgo::kAes256Gcm;
    // Every call passes the full 12-byte nonce that wolfSSL built, so the implicit salt
    // stored in the AeadKey is never used; any 4 bytes do.
    constexpr std::array<uint8_t, 4> kUnusedSalt{};
    auto created = crypto::AeadKey::create(engine, algo, raw, kUnusedSalt);
    if (!created) {
      return false;
    }
    entry.key = *created;
    std::copy(raw.begin(), raw.end(), entry.raw.begin());
    entry.raw_len = raw.size();
    bump(g_counters.key_expansions);
    return true;
  }

  void erase(Iter it) {
    index_.erase(it->aes);
    lru_.erase(it);
  }

  // Only the tail can be idle if anything is, so this is O(1) unless entries expire.
  void drop_idle(Clock::time_point now) {
    while (!lru_.empty() && now - lru_.back().last_use > kTlsOffloadKeyIdleLimit) {
      erase(std::prev(lru_.end()));
      bump(g_counters.cache_evictions);
    }
  }

  std::list<CachedKey> lru_;
  std::unordered_map<const Aes*, Iter> index_;
};

// Lazily created on the first callback (or enable call) in each thread; see the header for
// why per-thread and lazy is acceptable for this path.
struct ThreadState {
  std::unique_ptr<crypto::CryptoEngine> engine;
  std::string engine_error;  // set once creation failed; then never retried in this thread
  KeyCache cache;            // destroyed before `engine` (reverse declaration order)
};

ThreadState& thread_state() {
  thread_local ThreadState state;
  return state;
}

crypto::CryptoEngine* thread_engine(ThreadState& state) {
  if (state.engine == nullptr && state.engine_error.empty()) {
    auto created = crypto::CryptoEngine::create();
    if (created) {
      state.engine = std::move(*created);
    } else {
      state.engine_error = created.error().message.empty() ? "unknown error" : created.error().message;
    }
  }
  return state.engine.get();
}

// aesgcm_enc and aesgcm_dec have the same fields but are distinct anonymous types (the tag
// is const in one), hence the template.
template <bool kEncrypt, typename GcmArgs>
int run_gcm(const GcmArgs& args) {
  const Aes* aes = args.aes;
  if (aes == nullptr || args.ivSz != kGcmNonceSize || args.authTagSz != crypto::kTagSize ||
      (args.sz != 0 && (args.in == nullptr || args.out == nullptr)) || (args.authInSz != 0 && args.authIn == nullptr)) {
    return fall_back();
  }
  // devKey holds the raw key only because the Aes was initialised with our devId (wolfSSL
  // copies it in wc_AesSetKey for crypto-callback devices). AES-192 has no ipsec-mb path in
  // lib/crypto and no TLS suite uses it.
  if (aes->keylen != 16 && aes->keylen != 32) {
    return fall_back();
  }
  ThreadState& state = thread_state();
  crypto::CryptoEngine* engine = thread_engine(state);
  if (engine == nullptr) {
    return fall_back();
  }
  std::span<const uint8_t> raw(reinterpret_cast<const uint8_t*>(aes->devKey), static_cast<size_t>(aes->keylen));
  const crypto::AeadKey* key = state.cache.get(*engine, aes, raw, Clock::now());
  if (key == nullptr) {
    return fall_back();
  }
  // A zero-length record (TLS 1.2 allows empty application data) may come with null
  // buffers; lib/crypto gets valid pointers regardless.
  uint8_t empty = 0;
  const uint8_t* in = args.sz != 0 ? args.in : &empty;
  uint8_t* out = args.sz != 0 ? args.out : &empty;
  std::span<const uint8_t> aad(args.authIn != nullptr ? args.authIn : &empty, args.authInSz);
  if constexpr (kEncrypt) {
    key->seal(*engine, args.iv, aad, in, args.sz, out, args.authTag);
    bump(g_counters.gcm_encrypt);
    return 0;
  } else {
    bump(g_counters.gcm_decrypt);
    if (!key->open(*engine, args.iv, aad, in, args.sz, out, args.authTag)) {
      // Never leave unauthenticated plaintext behind, even though wolfSSL discards it.
      secure_zero(out, args.sz);
      bump(g_counters.auth_failures);
      return AES_GCM_AUTH_E;
    }
    return 0;
  }
}

int offload_callback(int dev_id, wc_CryptoInfo* info, void* /*ctx*/) {
  if (dev_id != kTlsOffloadDevId || info == nullptr || info->algo_type != WC_ALGO_TYPE_CIPHER ||
      info->cipher.type != WC_CIPHER_AES_GCM) {
    return fall_back();
  }
  // Called from C: nothing may escape. Only allocation (a new cache entry) can throw, and it
  // happens before any output is written, so software can still do the whole operation.
  try {
    return info->cipher.enc != 0 ? run_gcm<true>(info->cipher.aesgcm_enc) : run_gcm<false>(info->cipher.aesgcm_dec);
  } catch (...) {
    return fall_back();
  }
}

std::mutex g_register_mutex;
bool g_registered = false;

Status register_device_once() {
  std::lock_guard<std::mutex> lock(g_register_mutex);
  if (g_registered) {
    return {};
  }
  // The device table is process-global and cleared by the first wolfCrypt_Init; a
  // WOLFSSL_CTX exists by now, so that init has already happened.
  int rc = wc_CryptoCb_RegisterDevice(kTlsOffloadDevId, offload_callback, nullptr);
  if (rc != 0) {
    return make_error("wc_CryptoCb_RegisterDevice failed (" + std::to_string(rc) + ")");
  }
  g_registered = true;
  return {};
}

}  // namespace

Status enable_tls_crypto_offload(WOLFSSL_CTX* ctx) {
  if (ctx == nullptr) {
    return make_error("TLS crypto offload: no WOLFSSL_CTX");
  }
  // Creating the engine here (not only on the first record) turns "this CPU cannot run
  // ipsec-mb" into a start-up error instead of a silent fallback on every record.
  ThreadState& state = thread_state();
  if (thread_engine(state) == nullptr) {
    return make_error("TLS crypto offload: ipsec-mb unavailable: " + state.engine_error);
  }
  if (auto st = register_device_once(); !st) {
    return make_error("TLS crypto offload: " + st.error().message);
  }
  if (wolfSSL_CTX_SetDevId(ctx, kTlsOffloadDevId) != WOLFSSL_SUCCESS) {
    return make_error("TLS crypto offload: wolfSSL_CTX_SetDevId failed");
  }
  return {};
}

TlsOffloadStats tls_crypto_offload_stats() noexcept {
  TlsOffloadStats s;
  s.gcm_encrypt = g_counters.gcm_encrypt.load(std::memory_order_relaxed);
  s.gcm_decrypt = g_counters.gcm_decrypt.load(std::memory_order_relaxed);
  s.auth_failures = g_counters.auth_failures.load(std::memory_order_relaxed);
  s.fallback = g_counters.fallback.load(std::memory_order_relaxed);
  s.key_expansions = g_counters.key_expansions.load(std::memory_order_relaxed);
  s.cache_evictions = g_counters.cache_evictions.load(std::memory_order_relaxed);
  return s;
}

size_t tls_crypto_offload_cached_keys() noexcept {
  return thread_state().cache.size();
}

}  // namespace ocm::ctrl
