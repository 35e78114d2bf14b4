// DTLS 1.2 application_data records with AES-GCM (RFC 5288 framing) and ChaCha20-Poly1305
// (RFC 7905 framing). Layouts verified against wolfSSL 5.5.4 in feasibility.md §5 and in
// tests/unit/crypto/dtls_record_test.cpp.

#include "ocm/crypto/dtls_record.hpp"

#include <cstring>

namespace ocm::crypto {
namespace {

constexpr size_t kEpochSeqSize = 8;  // epoch(2) | seq(6): the record's 64-bit sequence number
constexpr size_t kGcmExplicitNonceSize = 8;
constexpr size_t kNonceSize = 12;
constexpr size_t kAadSize = 13;  // epoch|seq(8) | type(1) | version(2) | plaintext length(2)
// RFC 6347 §4.1 / RFC 5246 §6.2.3: a protected fragment may not exceed 2^14 + 2048 bytes; anything
// longer is malformed, so do not spend AEAD work on it.
constexpr size_t kMaxFragment = kDtlsMaxPlaintext + 2048;

// Offsets inside the 13-byte header.
constexpr size_t kOffType = 0;
constexpr size_t kOffVersion = 1;
constexpr size_t kOffEpochSeq = 3;
constexpr size_t kOffLength = 11;

bool is_gcm(AeadAlgo algo) noexcept {
  return algo != AeadAlgo::kChaCha20Poly1305;
}

size_t explicit_nonce_size(AeadAlgo algo) noexcept {
  return is_gcm(algo) ? kGcmExplicitNonceSize : 0;
}

void store_be16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

uint16_t load_be16(const uint8_t* p) noexcept {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

void store_epoch_seq(uint8_t* p, uint16_t epoch, uint64_t seq) noexcept {
  store_be16(p, epoch);
  for (size_t i = 0; i < 6; ++i) {
    p[2 + i] = static_cast<uint8_t>(seq >> (8 * (5 - i)));
  }
}

uint64_t load_be48(const uint8_t* p) noexcept {
  uint64_t v = 0;
  for (size_t i = 0; i < 6; ++i) {
    v = (v << 8) | p[i];
  }
  return v;
}

void build_aad(uint8_t aad[kAadSize], const uint8_t epoch_seq[kEpochSeqSize], size_t plain_len) noexcept {
  std::memcpy(aad, epoch_seq, kEpochSeqSize);
  aad[8] = kContentApplicationData;
  store_be16(aad + 9, kDtls12Version);
  store_be16(aad + 11, static_cast<uint16_t>(plain_len));
}

// GCM (RFC 5288): salt(4) || explicit nonce(8). We send explicit = epoch|seq; a peer may send any
// value, so opening uses what the record carries.
void build_gcm_nonce(const AeadKey& key, uint8_t nonce[kNonceSize], const uint8_t explicit_nonce[8]) noexcept {
  std::memcpy(nonce, key.write_iv().data(), 4);
  std::memcpy(nonce + 4, explicit_nonce, kGcmExplicitNonceSize);
}

// ChaCha20-Poly1305 (RFC 7905): write IV(12) XOR (0^4 || epoch|seq).
void build_chacha_nonce(const AeadKey& key, uint8_t nonce[kNonceSize],
                        const uint8_t epoch_seq[kEpochSeqSize]) noexcept {
  std::memcpy(nonce, key.write_iv().data(), kNonceSize);
  for (size_t i = 0; i < kEpochSeqSize; ++i) {
    nonce[4 + i] ^= epoch_seq[i];
  }
}

}  // namespace

size_t dtls_overhead(AeadAlgo algo) noexcept {
  return kDtlsHeaderSize + explicit_nonce_size(algo) + kTagSize;
}

size_t dtls_plaintext_offset(AeadAlgo algo) noexcept {
  return kDtlsHeaderSize + explicit_nonce_size(algo);
}

bool parse_dtls_header(std::span<const uint8_t> datagram, DtlsHeader& out) noexcept {
  if (datagram.size() < kDtlsHeaderSize) {
    return false;
  }
  const uint8_t* p = datagram.data();
  const uint16_t length = load_be16(p + kOffLength);
  if (length > datagram.size() - kDtlsHeaderSize) {
    return false;
  }
  out.content_type = p[kOffType];
  out.version = load_be16(p + kOffVersion);
  out.epoch = load_be16(p + kOffEpochSeq);
  out.seq = load_be48(p + kOffEpochSeq + 2);
  out.length = length;
  return true;
}

size_t dtls_seal_in_place(CryptoEngine& engine, const AeadKey& key, uint16_t epoch, uint64_t seq, uint8_t* out,
                          size_t plain_len) noexcept {
  if (!key.valid() || seq > kDtlsMaxSeq || plain_len > kDtlsMaxPlaintext) {
    return 0;
  }
  const AeadAlgo algo = key.algo();
  const size_t explicit_len = explicit_nonce_size(algo);
  const size_t fragment_len = explicit_len + plain_len + kTagSize;

  out[kOffType] = kContentApplicationData;
  store_be16(out + kOffVersion, kDtls12Version);
  store_epoch_seq(out + kOffEpochSeq, epoch, seq);
  store_be16(out + kOffLength, static_cast<uint16_t>(fragment_len));
  const uint8_t* epoch_seq = out + kOffEpochSeq;
  if (explicit_len != 0) {
    std::memcpy(out + kDtlsHeaderSize, epoch_seq, kGcmExplicitNonceSize);
  }

  uint8_t aad[kAadSize];
  build_aad(aad, epoch_seq, plain_len);
  uint8_t nonce[kNonceSize];
  if (explicit_len != 0) {
    build_gcm_nonce(key, nonce, epoch_seq);  // explicit nonce = epoch|seq: unique per key for free
  } else {
    build_chacha_nonce(key, nonce, epoch_seq);
  }

  uint8_t* plain = out + kDtlsHeaderSize + explicit_len;
  key.seal(engine, nonce, {aad, kAadSize}, plain, plain_len, plain, plain + plain_len);
  return kDtlsHeaderSize + fragment_len;
}

bool dtls_open_in_place(CryptoEngine& engine, const AeadKey& key, uint16_t expected_epoch, std::span<uint8_t> record,
                        uint64_t& seq_out, uint8_t*& plain, size_t& plain_len) noexcept {
  // Every check below runs before any byte past the header is read: records come from the internet.
  if (!key.valid() || record.size() < kDtlsHeaderSize) {
    return false;
  }
  uint8_t* p = record.data();
  if (p[kOffType] != kContentApplicationData || load_be16(p + kOffVersion) != kDtls12Version ||
      load_be16(p + kOffEpochSeq) != expected_epoch) {
    return false;
  }
  const size_t fragment_len = load_be16(p + kOffLength);
  // Exactly one record: a shorter length would leave unauthenticated trailing bytes, a longer one
  // would read past the datagram.
  if (fragment_len != record.size() - kDtlsHeaderSize || fragment_len > kMaxFragment) {
    return false;
  }
  const AeadAlgo algo = key.algo();
  const size_t explicit_len = explicit_nonce_size(algo);
  if (fragment_len < explicit_len + kTagSize) {
    return false;
  }
  const uint8_t* epoch_seq = p + kOffEpochSeq;
  const size_t cipher_len = fragment_len - explicit_len - kTagSize;
  uint8_t* cipher = p + kDtlsHeaderSize + explicit_len;
  const uint8_t* tag = cipher + cipher_len;

  uint8_t aad[kAadSize];
  build_aad(aad, epoch_seq, cipher_len);
  // The explicit nonce is the sender's choice (RFC 5288 §3): wolfSSL 5.5.4 sends a random start
  // value that it increments per record, not epoch|seq, so it is used as found, not checked.
  // Replay protection does not depend on it: epoch|seq is authenticated through the AAD.
  uint8_t nonce[kNonceSize];
  if (explicit_len != 0) {
    build_gcm_nonce(key, nonce, p + kDtlsHeaderSize);
  } else {
    build_chacha_nonce(key, nonce, epoch_seq);
  }

  if (!key.open(engine, nonce, {aad, kAadSize}, cipher, cipher_len, cipher, tag)) {
    return false;
  }
  seq_out = load_be48(epoch_seq + 2);
  plain = cipher;
  plain_len = cipher_len;
  return true;
}

}  // namespace ocm::crypto
