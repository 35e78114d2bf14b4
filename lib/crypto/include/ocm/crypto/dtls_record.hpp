#pragma once
// DTLS 1.2 application_data records sealed/opened by us after wolfSSL finished the handshake
// (feasibility.md §5 has the verified layouts):
//   header: 0x17 | fe fd | epoch(2) | seq(6) | length(2)                         (13 bytes)
//   AES-GCM: explicit nonce(8) | ciphertext | tag(16); nonce = salt(4) || explicit(8). We send
//            explicit = epoch|seq; wolfSSL 5.5.4 sends a random, per-record incremented value.
//   ChaCha20-Poly1305 (RFC 7905): ciphertext | tag(16); nonce = iv(12) XOR (0^4 || epoch|seq)
//   AAD = epoch|seq(8) || 0x17 || fe fd || plaintext_length(2)
// All functions are noexcept and allocation-free: they run on the fast path.

#include <cstddef>
#include <cstdint>
#include <span>

#include "ocm/crypto/aead.hpp"

namespace ocm::crypto {

inline constexpr size_t kDtlsHeaderSize = 13;
inline constexpr uint8_t kContentApplicationData = 23;
inline constexpr uint8_t kContentHandshake = 22;
inline constexpr uint8_t kContentChangeCipherSpec = 20;
inline constexpr uint8_t kContentAlert = 21;
inline constexpr uint16_t kDtls12Version = 0xfefd;
// Largest sequence number: the field is 48 bits and must never wrap (nonce reuse).
inline constexpr uint64_t kDtlsMaxSeq = (uint64_t{1} << 48) - 1;
// RFC 6347 §4.3.1 / RFC 5246 §6.2.1: a record carries at most 2^14 bytes of plaintext.
inline constexpr size_t kDtlsMaxPlaintext = size_t{1} << 14;

// Bytes a record adds around the plaintext: 37 for AES-GCM, 29 for ChaCha20-Poly1305.
size_t dtls_overhead(AeadAlgo algo) noexcept;

struct DtlsHeader {
  uint8_t content_type = 0;
  uint16_t version = 0;  // 0xfefd for DTLS 1.2
  uint16_t epoch = 0;
  uint64_t seq = 0;      // 48 bits
  uint16_t length = 0;   // fragment length after the header
};

// Parses the 13-byte header; false if fewer than 13 bytes or length exceeds the datagram.
bool parse_dtls_header(std::span<const uint8_t> datagram, DtlsHeader& out) noexcept;

// Seals `plain_len` bytes found at out + kDtlsHeaderSize + explicit_nonce_size (callers build the
// plaintext in place there) into one record starting at `out`. Returns the record length.
// `out` must have room for plain_len + dtls_overhead(algo). Returns 0 (and writes nothing) when
// the key is not valid, seq > kDtlsMaxSeq or plain_len > kDtlsMaxPlaintext.
size_t dtls_seal_in_place(CryptoEngine& engine, const AeadKey& key, uint16_t epoch, uint64_t seq, uint8_t* out,
                          size_t plain_len) noexcept;
// Offset of the plaintext inside a sealed record (13 + 8 for GCM, 13 for ChaCha).
size_t dtls_plaintext_offset(AeadAlgo algo) noexcept;

// Opens one application_data record in place. On success returns true and sets plain/len to
// the plaintext inside `record` (which is overwritten). Checks type 23, version fefd, expected
// epoch, that the header length matches the record exactly, that the fragment holds at least the
// explicit nonce and tag (and at most 2^14 + 2048 bytes), and the tag. The GCM explicit nonce is
// taken as sent (RFC 5288): wolfSSL does not send epoch|seq there (measured).
bool dtls_open_in_place(CryptoEngine& engine, const AeadKey& key, uint16_t expected_epoch, std::span<uint8_t> record,
                        uint64_t& seq_out, uint8_t*& plain, size_t& plain_len) noexcept;

}  // namespace ocm::crypto
