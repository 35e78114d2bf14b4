#pragma once
// The first DTLS datagram of a data channel (protocol.md §5.5): which session does it belong to?
//
// A ClientHello datagram is
//   record header (13): type 22 | version(2) | epoch(2) | seq(6) | length(2)
//   handshake header (12): type 1 | length(3) | message_seq(2) | fragment_offset(3) | fragment_length(3)
//   client_version(2) | random(32) | session_id<0..32> | cookie<0..255> | cipher_suites<2..2^16-2>
//   | compression_methods<1..255> | [extensions<0..2^16-1>]
// openconnect puts the X-DTLS-App-ID (PSK mode) or X-DTLS-Session-ID (legacy mode) value in
// session_id; older openconnect versions sent the App-ID in a private extension 48018 instead.
//
// The parser never reads outside the datagram and allocates nothing: every span points into the
// datagram passed in, so the result is only valid while that buffer lives.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "ocm/base/result.hpp"

namespace ocm::proto {

inline constexpr size_t kDtlsRecordHeaderSize = 13;
inline constexpr size_t kDtlsHandshakeHeaderSize = 12;
inline constexpr size_t kDtlsRandomSize = 32;
inline constexpr size_t kDtlsMaxSessionIdSize = 32;
inline constexpr uint8_t kDtlsContentHandshake = 22;
inline constexpr uint8_t kDtlsHandshakeClientHello = 1;
// openconnect's (pre-9.0) application-ID extension; data = length(1) || app-id.
inline constexpr uint16_t kDtlsAppIdExtension = 48018;  // 0xBB92

struct DtlsClientHello {
  uint16_t record_version = 0;  // 0xfeff (DTLS 1.0 record, normal for a first ClientHello), 0xfefd, 0x0100
  uint16_t epoch = 0;
  uint64_t record_seq = 0;  // 48 bits
  uint16_t message_seq = 0;
  uint16_t client_version = 0;          // 0xfefd (DTLS 1.2), 0xfeff (DTLS 1.0), 0x0100 (Cisco DTLS 0.9)
  std::span<const uint8_t> random;      // 32 bytes
  bool random_all_zero = false;         // broken GnuTLS 3.6.3-3.6.12 clients: must be dropped
  std::span<const uint8_t> session_id;  // 0..32 bytes
  // The following are only set when `complete` is true: a ClientHello split over several
  // handshake fragments carries just its beginning in the first record.
  bool complete = false;
  std::span<const uint8_t> cookie;                 // 0..255 bytes
  std::span<const uint8_t> cipher_suites;          // raw big-endian 16-bit values, even length
  std::span<const uint8_t> compression_methods;    // 1..255 bytes
  std::span<const uint8_t> extensions;             // the raw extension list, without its length
  std::optional<std::span<const uint8_t>> app_id;  // extension 48018, 1..32 bytes
  // The whole handshake message, header included (what the DTLS 1.2 Finished hash covers when
  // the message is not fragmented).
  std::span<const uint8_t> message;
  // Bytes of the datagram taken by this record (header + fragment); more records may follow.
  size_t record_size = 0;

  [[nodiscard]] bool offers_suite(uint16_t suite) const noexcept;
  [[nodiscard]] bool offers_compression(uint8_t method) const noexcept;
  // The data of the first extension of that type, if present and the hello is complete.
  [[nodiscard]] std::optional<std::span<const uint8_t>> extension(uint16_t type) const noexcept;
};

// Parses the first record of `datagram` as a DTLS ClientHello. Accepts record/hello versions
// with major byte 0xfe or the DTLS 0.9 value 0x0100 (the loose check ocserv does). Errors name
// the field that did not fit; they are meant for debug logs, not for the peer.
Result<DtlsClientHello> parse_dtls_client_hello(std::span<const uint8_t> datagram);

// The 32-byte-or-shorter id a ClientHello claims, to look the session up with
// (protocol.md §5.5): the 48018 extension when `use_app_id_extension` (PSK mode allowed) and
// present, else session_id. nullopt if that id is empty, or if the random is all zero.
std::optional<std::span<const uint8_t>> dtls_lookup_id(const DtlsClientHello& hello,
                                                       bool use_app_id_extension) noexcept;

}  // namespace ocm::proto
